"""The simulator's calendar of the real daily charts (each market from its start) and its
monthly archives: no chart before a market's start, archives that hold the same charts.
The tests that simulate are ``slow``, as the simulator's are (``make test`` runs them)."""

from __future__ import annotations

import json
import tarfile
from datetime import date, timedelta
from pathlib import Path

import pytest

from dotify.charts.ingest import ingest_paths
from dotify.charts.sim.archive import month_path
from dotify.charts.sim.markets import DAILY_MARKETS, DAILY_START, DEFAULT_MARKETS, PROFILES
from dotify.charts.sim.simulate import Simulator, chart_path
from dotify.countries import MARKETS
from dotify.store.engine import create_engine

LATER = {"th": date(2017, 8, 22), "il": date(2018, 3, 13), "za": date(2018, 3, 13),
         "sa": date(2018, 11, 13), "in": date(2019, 2, 26), "ru": date(2020, 7, 15),
         "kr": date(2021, 2, 1), "ng": date(2021, 2, 23)}


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.csv"))}


def _members(folder: Path) -> dict[str, bytes]:
    members = {}
    for path in sorted(folder.rglob("*.tar.gz")):
        with tarfile.open(path) as tar:
            for member in tar:
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                members[f"{path.parent.name}/{member.name}"] = data
    return members


def test_the_daily_charts_hold_73_markets_each_from_its_start() -> None:
    countries = {code for code, market in MARKETS.items() if market.is_country}
    assert len(DAILY_MARKETS) == 73 and set(DAILY_MARKETS) <= countries
    assert countries - set(DAILY_MARKETS) == {"cy", "mc", "mt"}  # never on the daily charts
    assert set(DEFAULT_MARKETS) < set(DAILY_MARKETS)
    starts = [PROFILES[m].start for m in DAILY_MARKETS]
    assert starts == sorted(starts)  # type: ignore[type-var]
    assert sum(s == DAILY_START for s in starts) == 53
    assert all(DAILY_START <= s <= date(2021, 12, 31) for s in starts)  # type: ignore[operator]
    assert {m: PROFILES[m].start for m in LATER} == LATER
    assert all(PROFILES[m].start is None for m in ("cy", "mc", "mt"))


@pytest.mark.slow
def test_no_market_charts_before_its_start(tmp_path: Path) -> None:
    simulator = Simulator(seed=2, markets=DAILY_MARKETS, start=DAILY_START, real_starts=True)
    for market in DAILY_MARKETS:
        start = PROFILES[market].start
        assert start is not None
        assert market not in simulator.charting(start - timedelta(days=1))
        assert market in simulator.charting(start)
    assert len(simulator.charting(DAILY_START)) == 53
    assert len(simulator.charting(date(2021, 12, 31))) == 73

    simulator = Simulator(seed=2, markets=["se", "th", "kr"], real_starts=True)
    summary = simulator.write(tmp_path, date(2017, 8, 20), date(2017, 8, 24))
    written = {p.name for p in tmp_path.rglob("*.csv")}
    assert summary.files == len(written) == 5 + 3
    assert {d for d in written if "-th-" in d} == {
        f"regional-th-daily-2017-08-{day}.csv" for day in (22, 23, 24)}
    assert not (tmp_path / "kr").exists()
    truth = json.loads((tmp_path / "ground_truth.json").read_text(encoding="utf-8"))
    assert set(truth["markets"]) == {"se", "th"} and truth["real_starts"] is True
    with pytest.raises(ValueError, match="Thailand has no daily chart before 2017-08-22"):
        simulator.chart_csv("th", date(2017, 8, 21))
    assert simulator.chart_csv("th", date(2017, 8, 22)) == chart_path(
        tmp_path, "th", date(2017, 8, 22)).read_bytes()
    # without real_starts a market charts on any day, as before
    assert Simulator(seed=2, markets=["th"]).chart("th", date(2017, 8, 21))
    with pytest.raises(ValueError, match="Monaco never had a daily chart"):
        Simulator(markets=["se", "mc"], real_starts=True)


@pytest.mark.slow
def test_monthly_archives_hold_the_daily_files_and_grow(tmp_path: Path) -> None:
    simulator = Simulator(seed=4, markets=["is", "th"], real_starts=True)
    first, last = date(2017, 8, 21), date(2017, 9, 2)  # Thailand's chart began on the 22nd
    loose = simulator.write(tmp_path / "loose", first, last)
    simulator.write(tmp_path / "grown", first, date(2017, 8, 31), monthly=True)
    simulator.write(tmp_path / "grown", date(2017, 9, 1), last, monthly=True)
    simulator.write(tmp_path / "grown", date(2017, 9, 2), last, monthly=True)  # replaces a day
    packed = simulator.write(tmp_path / "once", first, last, monthly=True)
    assert packed.files == loose.files == 13 + 12 and packed.rows == loose.rows
    assert sorted(p.name for p in (tmp_path / "once").rglob("*.tar.gz")) == [
        f"regional-{m}-daily-2017-{month}.tar.gz" for m in ("is", "th") for month in ("08", "09")]
    assert month_path(tmp_path, "is", first).name == "regional-is-daily-2017-08.tar.gz"
    assert _members(tmp_path / "once") == _files(tmp_path / "loose")
    for path in (tmp_path / "once").rglob("*.tar.gz"):  # the same bytes, however written
        assert path.read_bytes() == (tmp_path / "grown" / path.relative_to(
            tmp_path / "once")).read_bytes()
    engine = create_engine(f"sqlite:///{tmp_path / 'dotify.db'}")
    report = ingest_paths(engine, [tmp_path / "once"])
    engine.dispose()
    assert (report.rows, report.files_failed) == (loose.rows, 0)


def test_the_nightly_source_pulls_no_chart_before_a_market_starts(tmp_path: Path) -> None:
    from dotify.charts.sources import SimulatorSource
    from dotify.config import Settings

    settings = Settings(home=tmp_path / "home")
    Simulator(seed=2, markets=["se", "th"], real_starts=True).write(
        settings.simulator_dir, date(2017, 8, 20), date(2017, 8, 22))
    source = SimulatorSource(settings)
    days = [date(2017, 8, 21), date(2017, 8, 22), date(2017, 8, 23)]
    pulls = source.pull({"th": days, "se": days}, tmp_path / "archive", "daily")
    assert [(p.market, p.day, p.status) for p in pulls] == [
        ("th", date(2017, 8, 22), "ok"), ("th", date(2017, 8, 23), "ok"),
        *(("se", day, "ok") for day in days)]
