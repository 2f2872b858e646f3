"""Hostile chart sources: a dripping server, a gzip bomb, a bad URL template."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from dotify.charts.sources import MAX_ANSWER_BYTES, HttpSource, check_url_template
from dotify.config import Settings
from dotify.errors import ConfigError
from dotify.jobs.nightly import run_nightly
from tests.chart_server import ChartServer, fixture_csv

DAY = date(2021, 3, 1)


def _source(home: Path, url: str, **overrides: object) -> HttpSource:
    values: dict[str, object] = {"home": home, "source": "http", "http_url_template": url,
                                 "http_timeout_s": 1.0, "http_retries": 0,
                                 "http_requests_per_s": 200.0}
    return HttpSource(Settings(**(values | overrides)), backoff_s=0.01)


@pytest.mark.slow
def test_a_dripping_server_is_cut_at_the_total_deadline(settings: Settings) -> None:
    """A byte every 0.1 s never trips a per-read timeout of 1 s; the whole try is bounded."""
    with ChartServer(fixture_csv, slow_s=1.0) as server:
        server.faults = {"se": "drip"}
        pulls = _source(settings.home, server.url_template).pull(
            {"se": [DAY], "us": [DAY]}, settings.charts_dir, "daily")
    by_market = {p.market: p for p in pulls}
    assert by_market["us"].status == "ok"
    assert by_market["se"].status == "failed"
    assert by_market["se"].error.endswith("timed out after 1 s")
    assert not (settings.charts_dir / "se").exists()


def test_a_gzip_encoded_answer_is_bounded_after_decompression(settings: Settings) -> None:
    with ChartServer(fixture_csv) as server:
        server.faults = {"se": "bomb"}
        pulls = _source(settings.home, server.url_template).pull(
            {"se": [DAY]}, settings.charts_dir, "daily")
    (pull,) = pulls
    assert pull.status == "failed"
    assert pull.error.endswith(f"the answer is larger than {MAX_ANSWER_BYTES:,} bytes "
                               "(after decompression)")
    assert list(settings.charts_dir.rglob("*")) == []


@pytest.mark.parametrize(("template", "reason"), [
    ("http://x/{region}/{market}/{date}", "has the unknown placeholder {region}; use "
                                          "{market}, {date} and {kind}"),
    ("http://x/{}/{market}/{date}", "has the unknown placeholder {}"),
    ("http://x/{market}", "lacks {date}"),
    ("http://x/{market}/{date:%Y}", "is not a valid template"),
    ("http://x/{market/{date}", "is not a valid template"),
])
def test_url_templates_are_checked_in_one_sentence(template: str, reason: str) -> None:
    with pytest.raises(ConfigError, match="DOTIFY_HTTP_URL_TEMPLATE .*") as caught:
        check_url_template(template)
    assert reason in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.slow  # subprocesses
def test_nightly_with_a_bad_template_says_one_sentence(home: Path) -> None:
    config = Settings(home=home, source="http", http_url_template="http://x/{region}/{date}")
    with pytest.raises(ConfigError, match=r"unknown placeholder \{region\}"):
        run_nightly(config)
    env = {**os.environ, "DOTIFY_HOME": str(home), "DOTIFY_SOURCE": "http",
           "DOTIFY_HTTP_URL_TEMPLATE": "http://127.0.0.1:1/{region}/{date}"}
    done = subprocess.run([sys.executable, "-m", "dotify", "nightly"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "KeyError" not in done.stderr
    assert "error: DOTIFY_HTTP_URL_TEMPLATE 'http://127.0.0.1:1/{region}/{date}' has the " \
           "unknown placeholder {region}" in " ".join(done.stderr.split())
    bad = subprocess.run([sys.executable, "-m", "dotify", "nightly", "--json"],
                         env={**env, "DOTIFY_HTTP_URL_TEMPLATE": "http://x/{market}/{date}",
                              "DOTIFY_HTTP_REQUESTS_PER_S": "0"},
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "DOTIFY_HTTP_REQUESTS_PER_S" in bad.stderr
    assert json.loads(bad.stdout or "null") is None
