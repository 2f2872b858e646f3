"""The chart simulator: deterministic, legacy format, realistic shape, planted clusters."""

from __future__ import annotations

import csv
import io
import json
import re
import tarfile
from collections import Counter, defaultdict
from datetime import date, timedelta
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dotify.charts.sim import names
from dotify.charts.sim import season as simseason
from dotify.charts.sim.markets import CLUSTERS, DEFAULT_MARKETS, PROFILES
from dotify.charts.sim.simulate import (
    DEFAULT_START,
    HEADER,
    NOTE,
    Simulator,
    chart_path,
    simulate,
)
from dotify.charts.sim.songs import quote
from dotify.cli import app
from dotify.countries import MARKETS
from dotify.errors import UnknownCountryError
from tests.conftest import require_shared_data

pytestmark = pytest.mark.slow  # two weeks of 19 markets simulated, written and read back

SAMPLE = ("mx", "co", "ar", "cl", "es", "se", "no", "dk", "de", "at", "ch", "us", "gb", "ca",
          "is", "ad", "jp", "tw", "hk")
DAYS = 14
START = date(2020, 3, 2)
URL = re.compile(r"^https://open\.spotify\.com/track/[0-9A-Za-z]{22}$")


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Two weeks of 19 markets, and every chart as {market: {day: rows}}."""
    out = tmp_path_factory.mktemp("sim")
    Simulator(seed=7, markets=SAMPLE).write(out, START, START + timedelta(days=DAYS - 1))
    charts: dict[str, dict[date, list[list[str]]]] = defaultdict(dict)
    for market in SAMPLE:
        for i in range(DAYS):
            day = START + timedelta(days=i)
            charts[market][day] = _read(chart_path(out, market, day))[2:]
    return out, charts


def _tracks(rows: list[list[str]]) -> set[str]:
    return {row[4].rsplit("/", 1)[1] for row in rows}


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    def run(folder: str, seed: int) -> dict[str, bytes]:
        simulate(tmp_path / folder, days=2, markets=["se", "mx"], seed=seed, start=START)
        return {str(p.relative_to(tmp_path / folder)): p.read_bytes()
                for p in sorted((tmp_path / folder).rglob("*")) if p.is_file()}

    first, again, other = run("a", 3), run("b", 3), run("c", 4)
    assert len(first) == 5 and first == again  # 2 markets x 2 days + ground_truth.json
    assert first["se/regional-se-daily-2020-03-02.csv"] != other[
        "se/regional-se-daily-2020-03-02.csv"]


def test_a_days_chart_does_not_depend_on_the_range_asked_for(tmp_path: Path, sample) -> None:
    out, _ = sample
    day = START + timedelta(days=9)
    for market in ("se", "us", "ad"):
        alone = Simulator(seed=7, markets=[market]).chart_csv(market, day)
        assert alone == chart_path(out, market, day).read_bytes()
    # a long range crosses the scoring blocks; its days equal single-day writes
    long_end = START + timedelta(days=80)
    Simulator(seed=7, markets=["no"]).write(tmp_path / "long", START, long_end)
    for offset in (0, 63, 64, 80):
        day = START + timedelta(days=offset)
        single = Simulator(seed=7, markets=["no"], start=day).chart_csv("no", day)
        assert chart_path(tmp_path / "long", "no", day).read_bytes() == single


def test_files_are_the_legacy_download(sample) -> None:
    out, charts = sample
    lines = chart_path(out, "us", START).read_text(encoding="utf-8").split("\n")
    assert lines[0] == NOTE and lines[1] == HEADER and lines[-1] == ""
    assert _read(chart_path(out, "us", START))[1] == ["Position", "Track Name", "Artist",
                                                      "Streams", "URL"]
    for market, days in charts.items():
        for rows in days.values():
            assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1))
            assert all(len(r) == 5 and r[1] and r[2] and URL.match(r[4]) for r in rows)
            streams = [int(r[3]) for r in rows]
            assert streams == sorted(streams, reverse=True) and streams[-1] > 0
            assert len(_tracks(rows)) == len(rows), f"{market}: a song charts twice"


def test_chart_rows_are_the_files_rows(sample) -> None:
    _, charts = sample
    rows = Simulator(seed=7, markets=["gb"]).chart("United Kingdom", START)
    assert [(str(r.position), r.title, r.artist, str(r.streams),
             f"https://open.spotify.com/track/{r.track_id}") for r in rows] == [
        tuple(row) for row in charts["gb"][START]]


def test_files_round_trip_through_the_chart_reader(sample) -> None:
    from dotify.charts import formats
    out, charts = sample
    path = chart_path(out, "es", START)
    with path.open("rb") as stream:
        reader = formats.ChartReader(stream, f"es/{path.name}")
        (chart,) = list(reader)
    assert reader.format == "legacy"
    assert (chart.market, chart.chart_date, chart.kind) == ("es", START, "daily")
    expected = charts["es"][START]
    assert [(r.position, r.title, r.artists, r.streams) for r in chart.rows] == [
        (int(p), t, a, int(s)) for p, t, a, s, _ in expected]
    assert [r.track_id for r in chart.rows] == [u.rsplit("/", 1)[1] for *_, u in expected]


def test_titles_with_commas_and_quotes_survive_csv(sample) -> None:
    out, charts = sample
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))["songs"]
    tricky = {t: s["title"] for t, s in truth.items() if "," in s["title"] or '"' in s["title"]}
    assert tricky, "the sample has no title with a comma or a quote"
    seen = {r[4].rsplit("/", 1)[1]: r[1] for days in charts.values() for rows in days.values()
            for r in rows}
    for track, title in tricky.items():
        assert seen[track] == title
    assert quote('Hey, "you"') == '"Hey, ""you"""' and quote("Shallow") == "Shallow"
    assert quote("Alla Mina") == '"Alla Mina"'


def test_streams_fall_off_as_a_power_law_scaled_by_market_size(sample) -> None:
    _, charts = sample
    us = np.array([[int(r[3]) for r in rows] for rows in charts["us"].values()])
    assert us.shape[1] == 200
    position = np.arange(1, 201)
    slope = np.polyfit(np.log(position), np.log(np.median(us, axis=0)), 1)[0]
    assert -0.8 < slope < -0.3  # real charts: about -0.45 to -0.75
    assert np.median(us[:, 0]) > 5 * np.median(us[:, 199])
    top = {m: np.median([int(rows[0][3]) for rows in charts[m].values()]) for m in charts}
    assert top["us"] > 100 * top["is"] and top["us"] > 1000 * top["ad"]
    assert top["de"] > top["at"] > top["is"]


def test_small_markets_list_fewer_rows(sample) -> None:
    _, charts = sample
    assert all(len(rows) == 200 for rows in charts["us"].values())
    assert all(len(rows) == 200 for rows in charts["is"].values())
    assert all(20 < len(rows) < 200 for rows in charts["ad"].values())


def test_cluster_structure_is_visible_in_who_charts_what(sample) -> None:
    _, charts = sample
    charted = {m: set().union(*(_tracks(rows) for rows in days.values()))
               for m, days in charts.items() if m != "ad"}
    within, across = [], []
    for a, b in combinations(sorted(charted), 2):
        jaccard = len(charted[a] & charted[b]) / len(charted[a] | charted[b])
        (within if PROFILES[a].cluster == PROFILES[b].cluster else across).append(jaccard)
    assert np.mean(within) > 3 * np.mean(across)
    for market, songs in charted.items():  # nearest market by overlap is in its cluster
        near = max((m for m in charted if m != market),
                   key=lambda m: len(songs & charted[m]) / len(songs | charted[m]))
        assert PROFILES[near].cluster == PROFILES[market].cluster, (market, near)


def test_scopes_chart_where_they_should(sample) -> None:
    out, charts = sample
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    where: dict[str, set[str]] = defaultdict(set)
    for market, days in charts.items():
        for rows in days.values():
            for track in _tracks(rows):
                where[track].add(market)
    assert set(where) == set(truth["songs"])
    by_scope: dict[str, list[str]] = defaultdict(list)
    for track, song in truth["songs"].items():
        by_scope[song["scope"]].append(track)
    assert all(where[t] == {truth["songs"][t]["origin"]} for t in by_scope["local"])
    inside = [m for t in by_scope["regional"] for m in where[t]
              if PROFILES[m].cluster == truth["songs"][t]["cluster"]]
    assert len(inside) > 0.9 * sum(len(where[t]) for t in by_scope["regional"])
    spread = np.mean([len(where[t]) for t in by_scope["global"]])
    assert spread > 0.5 * (len(SAMPLE) - 1) and spread > 2 * np.mean(
        [len(where[t]) for t in by_scope["regional"]])
    assert truth["markets"] == {m: PROFILES[m].cluster for m in SAMPLE}


def test_new_songs_appear_every_day_and_old_ones_leave(sample) -> None:
    out, charts = sample
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))["songs"]
    days = sorted(charts["us"])
    for before, day in zip(days, days[1:], strict=False):
        today = set().union(*(_tracks(charts[m][day]) for m in charts))
        earlier = set().union(*(_tracks(charts[m][d]) for m in charts for d in days
                                if d <= before))
        fresh = today - earlier
        assert fresh, f"no new song on {day}"
        assert any(date.fromisoformat(truth[t]["released"]) >= before for t in fresh)
    first, last = _tracks(charts["us"][days[0]]), _tracks(charts["us"][days[-1]])
    assert 0.2 < len(first & last) / 200 < 0.9  # some stay two weeks, many leave


def test_latin_charts_keep_their_hits_longer_than_german_ones(sample) -> None:
    _, charts = sample

    def turnover(market: str) -> int:
        days = sorted(charts[market])
        first, last = _tracks(charts[market][days[0]]), _tracks(charts[market][days[-1]])
        return len(last - first)

    assert turnover("mx") < 0.8 * turnover("de")  # real weekly charts: 8 vs 26 entries a week
    assert turnover("ar") < turnover("se")


def test_christmas_classics_return_every_december_where_they_did(tmp_path: Path) -> None:
    markets = ["us", "de", "se", "mx", "br"]
    simulator = Simulator(seed=7, markets=markets)
    counts: dict[date, dict[str, int]] = {}
    for day in (date(2020, 6, 20), date(2020, 12, 20), date(2021, 12, 20)):
        simulator.write(tmp_path, day, day)
        songs = json.loads((tmp_path / "ground_truth.json").read_text(encoding="utf-8"))["songs"]
        counts[day] = {m: sum(songs[r[4].rsplit("/", 1)[1]]["seasonal"]
                              for r in _read(chart_path(tmp_path, m, day))[2:]) for m in markets}
    assert all(n == 0 for n in counts[date(2020, 6, 20)].values())
    for year in (2020, 2021):  # real weekly charts: about 60-90 of 200 in the US, DE, SE
        december = counts[date(year, 12, 20)]
        assert all(december[m] > 40 for m in ("us", "de", "se")), december
        assert all(december[m] < 10 for m in ("mx", "br")), december
    classics = {t for t, song in songs.items() if song["seasonal"]}
    assert all(songs[t]["scope"] == "global" and songs[t]["released"] < "2016" for t in classics)
    assert any("Christmas" in songs[t]["title"] or "Jingle" in songs[t]["title"]
               for t in classics)


def test_artists_have_several_songs(sample) -> None:
    out, _ = sample
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))["songs"]
    per_artist = Counter(song["artists"] for song in truth.values())
    assert max(per_artist.values()) >= 5
    songs_by_prolific = sum(n for n in per_artist.values() if n >= 2)
    assert songs_by_prolific > 0.5 * len(truth)


def test_names_follow_the_language_of_the_origin(sample) -> None:
    out, _ = sample
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))["songs"]
    for song in truth.values():
        language = names.LANGUAGES[PROFILES[song["origin"]].language]
        vocabulary = {w.lower() for phrase in language.words for w in phrase.split()}
        base = song["title"].split(" (feat. ")[0].replace(" - Remix", "").strip('"')
        words = [w.strip(",").lower() for w in base.split()]
        assert set(words) <= vocabulary, (song["title"], song["origin"])


def test_every_market_has_a_profile_and_default_clusters_have_partners() -> None:
    assert set(PROFILES) == {code for code, m in MARKETS.items() if m.is_country}
    assert all(p.language in names.LANGUAGES for p in PROFILES.values())
    assert set(simseason._HOLIDAY) == set(CLUSTERS) and set(names.HOLIDAY) <= set(names.LANGUAGES)
    assert len(DEFAULT_MARKETS) == 55 and set(CLUSTERS) >= {PROFILES[m].cluster
                                                           for m in DEFAULT_MARKETS}
    sizes = Counter(PROFILES[m].cluster for m in DEFAULT_MARKETS)
    assert min(sizes.values()) >= 2  # every default market has a cluster neighbour


def test_next_days_append_to_the_same_folder(tmp_path: Path) -> None:
    simulator = Simulator(seed=1, markets=["fi", "se"])
    simulator.write(tmp_path, DEFAULT_START, DEFAULT_START + timedelta(days=1))
    before = json.loads((tmp_path / "ground_truth.json").read_text(encoding="utf-8"))
    nxt = DEFAULT_START + timedelta(days=2)
    summary = Simulator(seed=1, markets=["fi", "se"]).write(tmp_path, nxt, nxt)
    after = json.loads((tmp_path / "ground_truth.json").read_text(encoding="utf-8"))
    assert summary.files == 2 and chart_path(tmp_path, "fi", nxt).exists()
    assert set(before["songs"]) < set(after["songs"])
    assert (after["first"], after["last"]) == ("2020-01-01", "2020-01-03")
    assert after["start"] == "2020-01-01" and after["seed"] == 1
    with pytest.raises(ValueError, match="seed 1, not 2"):
        Simulator(seed=2, markets=["fi"]).write(tmp_path, nxt, nxt)


def test_bad_arguments_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        Simulator(seed=-1)
    with pytest.raises(ValueError, match="below 2"):
        Simulator(seed=2**64)
    with pytest.raises(UnknownCountryError, match="Did you mean Colombia"):
        Simulator(markets=["Colombai"])
    with pytest.raises(ValueError, match="'global'"):
        Simulator(markets=["global"])
    with pytest.raises(ValueError, match="days must be at least 1"):
        simulate(tmp_path, days=0)
    with pytest.raises(ValueError, match="before start"):
        Simulator(markets=["se"]).write(tmp_path, START, START - timedelta(days=1))


def test_cli_writes_and_summarises(tmp_path: Path, home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["simulate", "--days", "2", "--markets", "se, Norway",
                                 "--seed", "5", "--start", "2021-06-01", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["out"] == str(home.resolve() / "simulator")
    assert (summary["files"], summary["markets"], summary["start"], summary["end"]) == (
        4, ["se", "no"], "2021-06-01", "2021-06-02")
    assert summary["rows"] == 800
    assert json.loads(Path(summary["ground_truth"]).read_text(encoding="utf-8"))["seed"] == 5
    result = runner.invoke(app, ["simulate", "--days", "1", "--markets", "is", "--out",
                                 str(tmp_path / "x")])
    assert result.exit_code == 0, result.output
    assert "Wrote 1 charts" in result.output and "ground_truth.json" in result.output
    bad = runner.invoke(app, ["simulate", "--markets", "global", "--out", str(tmp_path / "y")])
    assert bad.exit_code == 2 and "global" in bad.output


def _day_to_day(charts: list[list[str]]) -> tuple[float, float]:
    """Mean share of the top 10 kept the next day, and mean move of a top-50 song (places)."""
    kept, moves = [], []
    for today, tomorrow in zip(charts, charts[1:], strict=False):
        kept.append(len(set(today[:10]) & set(tomorrow[:10])) / 10)
        where = {track: i for i, track in enumerate(today)}
        moves += [abs(where[t] - i) for i, t in enumerate(tomorrow[:50]) if t in where]
    return float(np.mean(kept)), float(np.mean(moves))


@pytest.fixture(scope="module")
def real_us_2020() -> list[list[tuple[str, int]]]:
    """The real US daily charts of January to June 2020: (track id, streams) best first."""
    archive = require_shared_data("charts-us-daily-2017-2022", "us_daily_data.tar.gz")
    charts = {}
    with tarfile.open(archive) as tar:
        for member in tar:
            if member.isfile() and re.search(r"regional-us-daily-2020-0[1-6]-", member.name):
                text = tar.extractfile(member).read().decode("utf-8-sig")  # type: ignore[union-attr]
                rows = list(csv.DictReader(io.StringIO(text)))
                charts[member.name] = [(r["uri"][-22:], int(r["streams"])) for r in rows][:200]
    assert len(charts) >= 150
    return [charts[name] for name in sorted(charts)]


@pytest.mark.realdata
def test_us_streams_match_the_real_daily_charts(sample, real_us_2020) -> None:
    full = [[s for _, s in chart] for chart in real_us_2020 if len(chart) == 200]
    real_median = np.median(np.array(full), axis=0)
    _, charts = sample
    simulated = np.median([[int(r[3]) for r in rows] for rows in charts["us"].values()], axis=0)
    for position in (1, 10, 50, 100, 200):
        ratio = simulated[position - 1] / real_median[position - 1]
        assert 0.6 < ratio < 1.6, (position, simulated[position - 1], real_median[position - 1])


@pytest.mark.realdata
def test_day_to_day_moves_match_the_real_daily_charts(sample, real_us_2020) -> None:
    real_kept, real_moves = _day_to_day([[t for t, _ in c] for c in real_us_2020])
    _, charts = sample
    kept, moves = _day_to_day([[r[4] for r in charts["us"][d]] for d in sorted(charts["us"])])
    assert abs(kept - real_kept) < 0.1, (kept, real_kept)
    assert 0.5 * real_moves < moves < 2 * real_moves, (moves, real_moves)
