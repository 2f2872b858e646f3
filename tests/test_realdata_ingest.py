"""The real chart archives in ../shared/data ingest (skipped where the data is absent)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from dotify.charts.ingest import ingest_paths
from dotify.store.charts import Store
from tests.conftest import require_shared_data

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_weekly_archive_ingests_with_only_the_html_pages_failing(store: Store) -> None:
    archive = require_shared_data("charts-weekly-2019-2021", "chart_scrapes.tar.gz")
    report = ingest_paths(store, [archive])
    assert report.files == 6215
    assert (report.files_ok, report.files_failed) == (6115, 100)
    # the data's README says 100 Andorra pages; in the archive it is 99 Andorra weeks and
    # one Argentina week (2019-12-27) that are HTML error pages instead of CSV
    failed_markets = Counter(e.path.rsplit("/", 2)[-2] for e in report.errors)
    assert failed_markets == {"ad": 99, "ar": 1}
    assert {(e.line, e.reason) for e in report.errors} == {
        (1, "an HTML page, not a CSV chart ('<!doctype html>')")}
    assert all(e.path.startswith(f"{archive}:chart_scrapes/") for e in report.errors)
    assert report.rows == 1_220_960 and report.new_songs == 36_478
    assert len(report.markets) == 55
    assert (report.first_date, report.last_date) == (date(2019, 1, 4), date(2021, 2, 26))
    summary = store.summary()
    assert (summary["charts"], summary["entries"], summary["songs"]) == (6115, 1_220_960, 36_478)
    assert summary["files"] == {"ok": 6115, "failed": 100}


def test_us_daily_archive_ingests(store: Store) -> None:
    archive = require_shared_data("charts-us-daily-2017-2022", "us_daily_data.tar.gz")
    report = ingest_paths(store, [archive])
    assert report.ok and report.files_ok == 1945
    assert report.rows == 388_984 and report.new_songs == 9_668
    assert report.markets == {"us"}
    assert (report.first_date, report.last_date) == (date(2017, 1, 1), date(2022, 4, 29))
    assert store.last_chart_dates() == {"us": date(2022, 4, 29)}
