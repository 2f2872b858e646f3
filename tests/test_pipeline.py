"""The nightly job end to end: a real HTTP server, the real store, training, gate and publish."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from dotify import artifact
from dotify.charts.sim.simulate import Simulator
from dotify.charts.sources import SimulatorSource
from dotify.config import Settings
from dotify.errors import ConfigError, LockedError, StoreError
from dotify.jobs.nightly import gate, missing_dates, nightly_lock, run_nightly, runs
from dotify.store.engine import engine_for
from tests.chart_server import ChartServer
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

MARKETS = ["co", "mx", "ar", "cl", "se", "no", "dk", "fi", "us", "gb", "au", "ca"]  # 3 clusters
SMALL = {"factors": 8, "iterations": 4, "alpha": 10.0, "regularization": 0.1}
TODAY = date(2020, 3, 10)


def _settings(home: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"home": home, "markets": MARKETS, "backfill_days": 4,
                                 "gate_tolerance": 1.0, "http_timeout_s": 2.0,
                                 "http_retries": 1, "http_requests_per_s": 500.0}
    return Settings(**(values | overrides))


@pytest.fixture
def server():  # an HTTP server with the simulator's charts
    simulator = Simulator(seed=3, markets=MARKETS)
    with ChartServer(simulator.chart_csv) as running:
        yield running


def _stored_days(settings: Settings) -> dict[str, int]:
    engine = engine_for(settings)
    wanted = missing_dates(engine, MARKETS, TODAY, 4)
    engine.dispose()
    return {m: 4 - len(wanted.get(m, [])) for m in MARKETS}


def test_second_run_fetches_only_what_failed(home: Path, server: ChartServer) -> None:
    config = _settings(home, source="http", http_url_template=server.url_template)
    server.faults = {"se": "500", "no": "html", "co": "404"}
    first = run_nightly(config, today=TODAY, kind="imf", params=SMALL)
    assert first.status == "published" and first.exit_code == 1  # published, pulls failed
    assert artifact.current_version(config.models_dir) == first.version
    assert {p.market for p in first.failed_pulls} == {"se", "no", "co"}
    stored = _stored_days(config)
    assert stored == {m: 0 if m in ("se", "no", "co") else 4 for m in MARKETS}
    assert (config.charts_dir / "us" / "regional-us-daily-2020-03-07.csv").exists()
    server.faults, server.requests = {}, []
    second = run_nightly(config, today=TODAY, kind="imf", params=SMALL)
    assert sorted(set(server.fetched())) == sorted(
        (m, TODAY - timedelta(days=k)) for m in ("se", "no", "co") for k in range(4))
    assert second.exit_code == 0 and second.status == "published" and second.rows > 0
    server.requests = []
    third = run_nightly(config, today=TODAY, kind="imf", params=SMALL)
    assert (third.status, third.exit_code, third.rows, server.fetched()) == \
        ("nothing", 0, 0, [])
    recorded = runs(engine_for(config))
    assert [r["status"] for r in recorded] == ["published", "published", "nothing"]
    pulls = recorded[0]["details"]["pulls"]
    assert pulls["se"]["ok"] == 0 and pulls["se"]["failed"]["2020-03-07"].endswith("HTTP 500")
    assert "HTML page" in pulls["no"]["failed"]["2020-03-10"] and pulls["us"]["ok"] == 4
    assert all(r["finished_at"] is not None for r in recorded)
    assert recorded[0]["val_epr"] == pytest.approx(first.val_epr)


def test_gate_keeps_a_worse_model_out(home: Path) -> None:
    config = _settings(home, gate_tolerance=0.01)
    source = SimulatorSource(config)
    good = run_nightly(config, today=TODAY, source=source, kind="imf", params=SMALL)
    assert good.status == "published" and good.live_epr is None  # the first is always published
    worse = run_nightly(config, today=TODAY + timedelta(days=1), source=source, kind="random",
                        params={})
    assert worse.status == "kept" and worse.exit_code == 1
    assert worse.val_epr > good.val_epr + 0.01 and worse.live_epr == pytest.approx(good.val_epr)
    assert artifact.current_version(config.models_dir) == good.version
    assert worse.details["rejected_version"] not in artifact.versions(config.models_dir)
    assert artifact.versions(config.models_dir) == [good.version]
    assert gate(0.20, 0.19, 0.01) and not gate(0.21, 0.19, 0.01) and gate(0.5, None, 0.0)


def test_training_error_fails_the_run_and_keeps_the_live_model(home: Path) -> None:
    config = _settings(home)
    source = SimulatorSource(config)
    live = run_nightly(config, today=TODAY, source=source, kind="imf", params=SMALL)
    broken = run_nightly(config, today=TODAY + timedelta(days=1), source=source,
                         params={"factors": 0})
    assert broken.status == "failed" and broken.exit_code == 2
    assert "factors" in broken.error
    assert artifact.load_current(config.models_dir).version == live.version
    assert runs(engine_for(config))[-1]["details"]["error"] == broken.error


def test_simulator_feed_advances_one_day_per_run(home: Path) -> None:
    config = _settings(home, backfill_days=3, keep_versions=2)
    source = SimulatorSource(config)
    first = run_nightly(config, source=source, kind="imf", params=SMALL)
    start = source.simulator.start
    assert first.details["newest"] == (start + timedelta(days=2)).isoformat()
    second = run_nightly(config, source=source, kind="imf", params=SMALL)
    assert second.details["newest"] == (start + timedelta(days=3)).isoformat()
    assert len(second.pulls) == len(MARKETS) and second.rows > 0
    third = run_nightly(config, source=source, kind="imf", params=SMALL)
    assert third.details["pruned"] == [first.version]  # keep_versions=2
    assert artifact.versions(config.models_dir) == [second.version, third.version]


def _cli(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    environ = {**os.environ, "DOTIFY_HOME": str(home), "DOTIFY_MARKETS": '["us","gb","se"]',
               "DOTIFY_BACKFILL_DAYS": "3", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "dotify", *args], env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_while_publishing_leaves_the_live_model_whole(home: Path) -> None:
    first = _cli(home, "nightly", "--json")
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    printed = json.loads(out)
    assert (printed["status"], printed["exit_code"], printed["pulls"]) == \
        ("published", 0, {"ok": 9, "failed": []})
    config = Settings(home=home, markets=["us", "gb", "se"], backfill_days=3)
    live = artifact.current_version(config.models_dir)
    child = _cli(home, "nightly", env={"DOTIFY_FAULT_AT": "before-publish"})
    child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL
    assert artifact.current_version(config.models_dir) == live
    assert len(artifact.versions(config.models_dir)) == 2  # the new one is saved, not live
    loaded = artifact.load_current(config.models_dir)
    assert loaded.version == live and loaded.model.score().shape[0] == 3
    assert runs(engine_for(config))[-1]["status"] == "running"
    with nightly_lock(config):  # the dead process's lock is gone with it
        pass
    again = run_nightly(config, kind="imf", params=SMALL)
    assert [r["status"] for r in runs(engine_for(config))][1] == "failed"
    assert again.status in ("published", "kept", "nothing")


def test_a_held_lock_and_an_unreachable_database_are_clear_errors(home: Path) -> None:
    config = _settings(home)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import filelock, sys, time; "
         "lock = filelock.FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); "
         "time.sleep(30)", str(home / "nightly.lock")], stdout=subprocess.PIPE, text=True)
    try:
        home.mkdir(parents=True, exist_ok=True)
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockedError, match="another nightly run holds .*nightly.lock"):
            run_nightly(config, today=TODAY)
        cli = _cli(home, "nightly")
        _, err = cli.communicate(timeout=60)
        assert cli.returncode == 2 and "another nightly run holds" in err
    finally:
        holder.kill()
        holder.wait()
    unreachable = _settings(home, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(StoreError, match="cannot open the database"):
        run_nightly(unreachable, today=TODAY)


def test_scheduler_runs_the_job_in_the_background(home: Path) -> None:
    from dotify.jobs.scheduler import JOB_ID, parse_at, start_nightly

    assert parse_at("03:00") == (3, 0) and parse_at("23:59") == (23, 59)
    with pytest.raises(ConfigError, match="HH:MM .* not '25:00'"):
        parse_at("25:00")
    config = _settings(home, backfill_days=3)
    scheduler = start_nightly(config, "03:00")
    try:
        job = scheduler.get_job(JOB_ID)
        assert (job.next_run_time.hour, job.next_run_time.minute) == (3, 0)
        assert job.max_instances == 1 and job.coalesce
        job.modify(next_run_time=job.next_run_time.now(job.next_run_time.tzinfo))  # run it now
        wait_until(lambda: _finished(config), timeout=300, every=0.2, what="the run to finish")
    finally:
        scheduler.shutdown(wait=True)
    assert _finished(config) and artifact.current_version(config.models_dir) is not None


def _finished(config: Settings) -> bool:
    if not (config.home / "dotify.db").exists():
        return False
    return any(r["finished_at"] is not None for r in runs(engine_for(config)))


def test_web_server_switches_to_the_nightly_model_without_a_failed_request(home: Path) -> None:
    import threading

    import httpx

    from dotify.web import create_app
    from tests.web_support import running_server

    config = _settings(home)
    source = SimulatorSource(config)
    first = run_nightly(config, today=TODAY, source=source, kind="imf", params=SMALL)
    failures: list[str] = []
    seen: list[str] = []
    stop = threading.Event()

    def client_loop(base: str) -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            while not stop.is_set():
                try:
                    asked = client.post("/api/recommendations", json={"expression": "Sweden"})
                    model = client.get("/api/model")
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                failures.extend(f"{r.status_code} {r.text[:200]}" for r in (asked, model)
                                if r.status_code != 200)
                if model.status_code == 200:
                    seen.append(model.json()["version"])

    with running_server(create_app(config, check_every=0.05)) as base:
        clients = [threading.Thread(target=client_loop, args=(base,)) for _ in range(2)]
        for thread in clients:
            thread.start()
        wait_until(lambda: seen or failures, what="a first answer")
        second = run_nightly(config, today=TODAY + timedelta(days=1), source=source,
                             kind="imf", params=SMALL)
        wait_until(lambda: second.version in seen, what="an answer of the new model")
        stop.set()
        for thread in clients:
            thread.join(timeout=20)
    assert second.status == "published" and second.version != first.version
    assert failures == []
    assert seen[0] == first.version and seen[-1] == second.version


def test_nightly_on_each_database(db_settings: Settings) -> None:
    config = Settings(**(db_settings.model_dump() | {"markets": MARKETS, "backfill_days": 3}))
    source = SimulatorSource(config)
    result = run_nightly(config, today=TODAY, source=source, kind="imf", params=SMALL)
    assert (result.status, result.exit_code) == ("published", 0)
    engine = engine_for(config)
    assert missing_dates(engine, MARKETS, TODAY + timedelta(days=1), 3) == \
        {m: [TODAY + timedelta(days=1)] for m in MARKETS}
    [record] = runs(engine)
    engine.dispose()
    assert record["status"] == "published" and record["rows"] == result.rows > 0
    assert record["details"]["pulls"]["us"] == {"ok": 3, "failed": {}}


def test_drop_folder_feeds_the_nightly_job(home: Path, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    Simulator(seed=5, markets=MARKETS).write(drop, TODAY - timedelta(days=2), TODAY)
    config = _settings(home, source="folder", drop_folder=drop)
    first = run_nightly(config, kind="imf", params=SMALL)
    assert (first.status, first.exit_code) == ("published", 0)
    assert len(first.pulls) == 3 * len(MARKETS) and first.rows > 0
    assert (config.charts_dir / "se" / "regional-se-daily-2020-03-09.csv").exists()
    again = run_nightly(config, kind="imf", params=SMALL)
    assert (again.status, again.exit_code, again.pulls) == ("nothing", 0, [])


def test_a_nightly_run_reads_the_aggregate_not_the_chart_history(home: Path) -> None:
    import sqlalchemy as sa

    from dotify.learn.ratings import from_store
    from dotify.learn.window import DataWindow

    config = _settings(home, backfill_days=6, active_days=3)
    assert run_nightly(config, today=TODAY, kind="imf", params=SMALL).status == "published"
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
    try:
        run = run_nightly(config, today=TODAY + timedelta(days=1), kind="imf", params=SMALL)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)
    assert run.status in ("published", "kept") and run.rows > 0
    reads = [s for s in statements if s.startswith("SELECT") and "chart_entries" in s]
    # the ratings come from the aggregate; the only entries read are the row counts of each
    # market's last few charts (to tell a chart cut short), by their chart ids
    assert reads and all("WHERE chart_entries.chart_id IN (" in s for s in reads), reads
    assert any("song_totals" in s for s in statements)
    # the model learnt the pairs charted in the last three days, fewer than the history's
    model = artifact.load_current(config.models_dir)
    since = date.fromisoformat(run.details["newest"]) - timedelta(days=2)
    assert model.meta["window"]["since"] == since.isoformat()
    engine = engine_for(config)
    recent, every = from_store(engine, DataWindow(since=since)), from_store(engine)
    engine.dispose()
    assert model.meta["n_songs"] == recent.shape[1] < every.shape[1]


def test_the_nightly_job_searches_a_network_s_epochs_once_a_week(home: Path) -> None:
    config = _settings(home, backfill_days=3, markets=MARKETS[:6])
    small = {"factors": 4}  # as `dotify tune` would have saved them: the search goes on
    config.home.mkdir(parents=True, exist_ok=True)
    (config.home / "best_params.json").write_text(json.dumps({"bpr-net": {"params": small}}))
    first = run_nightly(config, today=TODAY, kind="bpr-net")
    search = first.details["epochs_search"]
    assert first.status == "published" and search["on"] == str(TODAY)
    second = run_nightly(config, today=TODAY + timedelta(days=1), kind="bpr-net")
    assert second.details["epochs_search"] == search  # the live model's epochs, trained again
    live = artifact.load_current(config.models_dir)
    assert live.version == second.version
    assert live.model.params["epochs"] == search["epochs"]
    assert not any("chosen_epochs" in h for h in live.model.history)
    weekly = config.model_copy(update={"epochs_search_days": 1})
    third = run_nightly(weekly, today=TODAY + timedelta(days=2), kind="bpr-net")
    assert third.details["epochs_search"]["on"] == str(TODAY + timedelta(days=2))
    # a live meta that asks for more epochs than a search may take is not followed
    meta_path = config.models_dir / third.version / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["epochs_search"]["epochs"] = 10**9
    meta_path.write_text(json.dumps(meta))
    fourth = run_nightly(config, today=TODAY + timedelta(days=3), kind="bpr-net")
    assert fourth.details["epochs_search"]["on"] == str(TODAY + timedelta(days=3))
