"""Chart sources against a real HTTP server on 127.0.0.1, a real drop folder and the simulator."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from dotify.charts.sources import (
    FolderSource,
    HttpSource,
    RateLimiter,
    json_to_csv,
    looks_like_html,
    make_source,
    name_market_date,
)
from dotify.config import Settings
from dotify.countries import countries
from dotify.errors import ConfigError, SourceError
from tests.chart_server import FIXTURES, ChartServer, fixture_csv, fixture_json

DAY1, DAY2 = date(2021, 3, 1), date(2021, 3, 2)


def _http_settings(home: Path, url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {"home": home, "source": "http", "http_url_template": url,
                                 "http_timeout_s": 1.0, "http_retries": 1,
                                 "http_requests_per_s": 200.0, "http_concurrency": 4}
    return Settings(**(values | overrides))


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text())))


def test_http_pulls_legacy_csv_into_the_archive(settings: Settings) -> None:
    with ChartServer(fixture_csv) as server:
        source = HttpSource(_http_settings(settings.home, server.url_template), backoff_s=0.01)
        pulls = source.pull({"us": [DAY1, DAY2], "co": [DAY1]}, settings.charts_dir, "daily")
    assert [(p.market, p.day, p.status) for p in pulls] == [
        ("us", DAY1, "ok"), ("us", DAY2, "ok"), ("co", DAY1, "ok")]
    assert pulls[0].path == settings.charts_dir / "us" / "regional-us-daily-2021-03-01.csv"
    assert pulls[2].path.read_bytes() == (FIXTURES / "legacy.csv").read_bytes()
    assert sorted(server.fetched()) == [("co", DAY1), ("us", DAY1), ("us", DAY2)]
    assert {kind for kind, *_ in server.requests} == {"daily"}


@pytest.mark.slow  # over a second: left to make test, out of make check
def test_http_faults_fail_their_market_only(settings: Settings) -> None:
    with ChartServer(fixture_csv, slow_s=2.5) as server:
        server.faults = {"se": "timeout", "de": "404", "fr": "500", "it": "html", "no": "flaky"}
        source = HttpSource(_http_settings(settings.home, server.url_template), backoff_s=0.01)
        wanted = {m: [DAY1] for m in ("us", "se", "de", "fr", "it", "no")}
        pulls = {p.market: p for p in source.pull(wanted, settings.charts_dir, "daily")}
    assert pulls["us"].status == "ok" and pulls["us"].attempts == 1
    assert pulls["no"].status == "ok" and pulls["no"].attempts == 2  # retried after a 503
    assert pulls["se"].status == "failed" and "timed out after 1 s" in pulls["se"].error
    assert pulls["se"].attempts == 2
    assert pulls["de"].error.endswith("HTTP 404") and pulls["de"].attempts == 1
    assert pulls["fr"].error.endswith("HTTP 500") and pulls["fr"].attempts == 2
    assert "an HTML page instead of a chart" in pulls["it"].error
    archived = sorted(p.name for p in settings.charts_dir.rglob("*.csv"))
    assert archived == ["regional-no-daily-2021-03-01.csv", "regional-us-daily-2021-03-01.csv"]


def test_http_json_api_with_bearer_token(settings: Settings) -> None:
    with ChartServer(fixture_json, content_type="application/json") as server:
        config = _http_settings(settings.home, server.url_template, http_format="json",
                                http_token="s3cret")
        [pull] = HttpSource(config).pull({"se": [DAY1]}, settings.charts_dir, "daily")
    assert pull.status == "ok"
    assert pull.path.with_suffix(".json").read_bytes() == (FIXTURES / "api.json").read_bytes()
    assert server.requests[0][3]["Authorization"] == "Bearer s3cret"
    rows = _rows(pull.path)
    assert rows[0] == ["Position", "Track Name", "Artist", "Streams", "URL"]
    assert rows[2] == ["2", "Hem, igen", 'Nils Holm, Saga "S" Lind', "1200001",
                       "https://open.spotify.com/track/0bbbbbbbbbbbbbbbbbbbb2"]
    assert [r[3] for r in rows[1:]] == ["1503342", "1200001", "990000"]


@pytest.mark.slow
def test_http_concurrency_limit_and_request_rate(settings: Settings) -> None:
    with ChartServer(fixture_csv, delay_s=0.05) as server:
        config = _http_settings(settings.home, server.url_template, http_concurrency=2,
                                http_requests_per_s=40.0)
        pulls = HttpSource(config).pull({"us": [date(2021, 3, d) for d in range(1, 9)]},
                                        settings.charts_dir, "daily")
    assert all(p.status == "ok" for p in pulls)
    assert server.max_in_flight <= 2
    span = max(server.started) - min(server.started)
    assert span >= 0.8 * 7 / 40.0  # 8 requests at 40/s: never faster than the polite rate


def test_json_errors_name_the_entry() -> None:
    bad = b'{"entries": [{"chartEntryData": {"currentRank": 1}, "trackMetadata": {}}]}'
    with pytest.raises(SourceError, match=r"se 2021-03-01: entry 1 is malformed"):
        json_to_csv(bad, "se 2021-03-01")
    with pytest.raises(SourceError, match="not a charts JSON answer"):
        json_to_csv(b"<html>", "x")


def test_html_detection() -> None:
    assert looks_like_html((FIXTURES / "error_page.html").read_bytes())
    assert looks_like_html(b"Position,Track", "text/html")
    assert not looks_like_html((FIXTURES / "legacy.csv").read_bytes(), "text/csv")


def test_file_names_give_market_and_date() -> None:
    assert name_market_date("regional-us-daily-2021-03-01.csv") == ("us", DAY1, "daily")
    assert name_market_date("2019-01-04--2019-01-11ad.csv") == ("ad", date(2019, 1, 4), "weekly")
    assert name_market_date("charts.csv") == (None, None, None)


def test_drop_folder_takes_new_files_once(settings: Settings, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    (drop / "inbox").mkdir(parents=True)
    (drop / "regional-us-daily-2021-03-01.csv").write_bytes((FIXTURES / "legacy.csv").read_bytes())
    (drop / "inbox" / "regional-se-daily-2021-03-01.json").write_bytes(
        (FIXTURES / "api.json").read_bytes())
    (drop / "inbox" / "broken-regional-dk-daily-2021-03-01.json").write_text("{}")
    (drop / "notes.txt").write_text("not a chart")
    (drop / "ground_truth.json").write_text("{}")  # JSON not named like a chart: left alone
    source = FolderSource(Settings(home=settings.home, drop_folder=drop))
    pulls = {p.market: p for p in source.pull({}, settings.charts_dir, "daily")}
    assert set(pulls) == {"us", "se", "dk"}
    assert pulls["us"].path == settings.charts_dir / "us" / "regional-us-daily-2021-03-01.csv"
    assert _rows(pulls["se"].path)[1][1] == "Sommarnatt"
    assert pulls["dk"].status == "failed" and "broken-regional-dk" in pulls["dk"].error
    again = source.pull({}, settings.charts_dir, "daily")
    assert [p.market for p in again] == ["dk"]  # only the still-broken file is reported again
    assert (drop / "regional-us-daily-2021-03-01.csv").exists()  # the drop folder is left alone


def test_rate_limiter_and_config_errors(home: Path) -> None:
    with pytest.raises(ValueError, match="http_requests_per_s must be > 0, not 0"):
        RateLimiter(0)
    with pytest.raises(ConfigError, match="needs DOTIFY_DROP_FOLDER"):
        make_source(Settings(home=home, source="folder"))
    with pytest.raises(ConfigError, match=r"lacks \{date\}"):
        make_source(Settings(home=home, source="http", http_url_template="http://x/{market}"))
    assert make_source(Settings(home=home, source="http")).name == "http"


def test_http_markets_follow_settings_then_store_then_registry(home: Path) -> None:
    source = HttpSource(Settings(home=home, source="http"))
    assert source.markets(["se", "us"]) == ["se", "us"]
    every = source.markets([])
    assert len(every) == len(countries()) and "global" not in every and every == sorted(every)
    chosen = HttpSource(Settings(home=home, source="http", markets=["co"]))
    assert chosen.markets(["se"]) == ["co"]


def test_the_simulator_source_reads_the_ground_truth_head_only(tmp_path: Path) -> None:
    import json

    from dotify.charts.sim.simulate import simulate
    from dotify.charts.sources import _simulated, _truth_header

    simulate(tmp_path, days=3, markets=["co", "se"], seed=4, start=date(2020, 2, 1))
    truth = tmp_path / "ground_truth.json"
    whole = json.loads(truth.read_text())
    assert _truth_header(truth) == {k: v for k, v in whole.items() if k != "songs"}
    assert _simulated(tmp_path) == (4, ["co", "se"], date(2020, 2, 1), False)
    truth.write_text(json.dumps({"songs": {}, "seed": 7, "markets": {"jp": "x"}}))
    assert _simulated(tmp_path) == (7, ["jp"], None, False)  # another order: the whole file
    truth.write_text('{"seed": 1, "mark')
    with pytest.raises(SourceError, match="ground_truth.json: cannot be read"):
        _simulated(tmp_path)
