"""Kept answers and song peaks: the same bytes as a fresh server's, on the same data, and
never an answer of older data once a new model is published or the store is written."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from dotify import artifact as artifacts
from dotify.charts.formats import Chart, ChartRow
from dotify.config import Settings
from dotify.store.charts import Store
from dotify.store.engine import opened
from dotify.store.song_history import Peak, song_peaks
from dotify.web import create_app
from dotify.web.cache import VersionedCache
from dotify.web.chart_history import ABSENT, Catalogue, ChartHistory
from tests.waiting import wait_until
from tests.web_support import build_artifact, planted_rows, write_charts

QUERIES = [{"expression": "Colombia x Turkey - Germany", "n": 20},
           {"tokens": ["Colombia", "x", "Turkey", "-", "Germany", "="], "n": 20},
           {"expression": "Colombia + Japan", "n": 5, "popularity": 0.2, "discover": True}]


def answers(client: TestClient) -> list[bytes]:
    out = []
    for body in QUERIES:
        response = client.post("/api/recommendations", json=body)
        assert response.status_code == 200, response.text
        out.append(response.content)
    return out


def fresh(settings: Settings) -> list[bytes]:
    """What a server started now answers (nothing kept yet)."""
    with TestClient(create_app(settings)) as client:
        return answers(client)


# ---------------------------------------------------------------- the cache itself


def test_a_new_version_empties_the_cache_and_none_keeps_nothing() -> None:
    cache = VersionedCache[str](size=10)
    cache.put("v1", "q", "old answer")
    assert cache.get("v1", "q") == "old answer"
    assert cache.get("v2", "q") is None and len(cache) == 0  # gone, not only hidden
    cache.put("v2", "q", "new answer")
    assert cache.get("v2", "q") == "new answer"
    cache.put(None, "q", "unknown data")
    assert cache.get(None, "q") is None and len(cache) == 0


def test_the_least_recently_used_goes_first() -> None:
    cache = VersionedCache[int](size=2)
    cache.put("v", "a", 1)
    cache.put("v", "b", 2)
    assert cache.get("v", "a") == 1  # "b" is now the least recently used
    cache.put("v", "c", 3)
    assert (cache.get("v", "a"), cache.get("v", "b"), cache.get("v", "c")) == (1, None, 3)
    with pytest.raises(ValueError, match="size"):
        VersionedCache[int](size=0)


# ---------------------------------------------------------------- answers


@pytest.fixture
def published(settings: Settings) -> artifacts.Artifact:
    return build_artifact(settings.models_dir, with_streams=True)


def test_the_same_request_gets_the_same_bytes_as_a_fresh_server(
        settings: Settings, published: artifacts.Artifact) -> None:
    write_charts(settings, planted_rows(published))
    with TestClient(create_app(settings)) as client:
        first = answers(client)
        assert answers(client) == first  # kept
    assert fresh(settings) == first


def test_a_newly_published_model_is_not_answered_from_the_old_ones_answers(
        settings: Settings, published: artifacts.Artifact) -> None:
    with TestClient(create_app(settings, check_every=0)) as client:
        old = answers(client)
        newer = build_artifact(settings.models_dir, seed=1, with_streams=True)
        wait_until(lambda: client.get("/api/model").json()["version"] == newer.version)
        new = answers(client)
    assert all(b'"model_version":"' + newer.version.encode() + b'"' in a for a in new)
    assert new != old and new == fresh(settings)


def test_a_write_to_the_store_is_in_the_next_answer(settings: Settings,
                                                    published: artifacts.Artifact) -> None:
    write_charts(settings, planted_rows(published))
    with TestClient(create_app(settings)) as client:
        before = answers(client)
        keys = published.songs.keys.tolist()
        rows = tuple(ChartRow("de", date(2021, 1, 3), "daily", i, key, f"title of {key}", "A",
                              10**6) for i, key in enumerate(keys[:10], start=1))
        with opened(settings) as engine:  # another connection, as the nightly job's
            Store(engine).ingest_chart(Chart.from_rows(rows, "test", 2))
        after = answers(client)
    assert after != before and after == fresh(settings)
    assert b'"code":"de","name":"Germany","wanted":false,"charted":true,"peak":1,' in after[0]


# ---------------------------------------------------------------- song peaks


def test_peaks_kept_per_store_version_are_the_stores(settings: Settings,
                                                     published: artifacts.Artifact) -> None:
    history = ChartHistory(settings)
    assert history.version() == ABSENT and history.song_peaks([["x"]], ["co"]) is None
    write_charts(settings, planted_rows(published))
    keys = [[k] for k in published.songs.keys.tolist()] + [[], ["nowhere"]]
    markets = ["co", "tr", "de", "se"]
    with opened(settings) as engine:
        expected = song_peaks(engine, [k for k in keys if k], markets)
    expected.insert(len(keys) - 2, {})  # the song without a store key charted nowhere
    version = history.version()
    assert history.song_peaks(keys[::-1], markets) == expected[::-1]  # read
    assert history.song_peaks(keys, markets) == expected  # kept
    assert history.song_peaks(keys[:3], ["de", "co"]) == [
        {m: p for m, p in e.items() if m in ("de", "co")} for e in expected[:3]]
    assert history.version() == version
    write_charts(settings, [("se", "2021-01-05", "daily", 1, keys[0][0], 5)])
    assert history.version() != version
    history.close()


class _Reads:
    """The statements every engine runs while this is entered that read the aggregate."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def _note(self, *args: object) -> None:
        if "song_totals" in str(args[2]):
            self.seen.append(str(args[2]))

    def __enter__(self) -> list[str]:
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", self._note)
        return self.seen

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", self._note)


def _merged_store(settings: Settings, published: artifacts.Artifact
                  ) -> tuple[list[list[str]], list[str]]:
    """The planted charts plus one song under two store keys that shared a chart in co
    (counted once), and the songs' keys with one that never charted and one with none."""
    keys = published.songs.keys.tolist()
    write_charts(settings, [*planted_rows(published),
                            ("co", "2021-01-02", "daily", 150, "twin-a", 7),
                            ("co", "2021-01-03", "daily", 151, "twin-a", 8),
                            ("co", "2021-01-02", "daily", 152, "twin-b", 6)])
    return ([[k] for k in keys] + [["twin-a", "twin-b"], [], ["nowhere"]],
            ["co", "tr", "de", "se"])


@pytest.fixture
def table_store(settings: Settings, published: artifacts.Artifact
                ) -> Iterator[tuple[ChartHistory, list[list[str]], list[str], Catalogue]]:
    """A history on the merged store, its songs' keys, markets and a catalogue of them."""
    history = ChartHistory(settings)
    keys, markets = _merged_store(settings, published)
    yield history, keys, markets, Catalogue("model-1", [tuple(k) for k in keys],
                                            frozenset(markets))
    history.close()


def _chart_of_one(settings: Settings, market: str, day: date, key: str) -> None:
    """Ingest a one-song chart (``key`` at #1) from another connection, as the nightly's."""
    with opened(settings) as engine:
        Store(engine).ingest_chart(Chart.from_rows((ChartRow(
            market, day, "daily", 1, key, "t", "A", 5),), "test", 2))


def _store_peaks(settings: Settings, keys: list[list[str]], markets: list[str]
                 ) -> list[dict[str, Peak]]:
    with opened(settings) as engine:
        return [song_peaks(engine, [k], markets)[0] if k else {} for k in keys]


def test_a_peak_table_answers_as_the_store_does_without_reading_it(
        settings: Settings, table_store: tuple) -> None:
    history, keys, markets, catalogue = table_store
    expected = _store_peaks(settings, keys, markets)
    assert expected[-3]["co"] == Peak(150, 21, 2, "daily")  # one chart shared, counted once
    table = history.preload(catalogue)
    assert table is not None and table.at == (history.version(), "model-1")
    with _Reads() as reads:
        assert history.song_peaks(keys, markets, catalogue) == expected
        assert history.song_peaks(keys[::-1], ["de", "co"], catalogue) == [
            {m: p for m, p in e.items() if m in ("de", "co")} for e in expected[::-1]]
    assert reads == []
    with _Reads() as reads:  # a market the table lacks: read from the store
        assert history.song_peaks(keys[:2], ["co", "fr"], catalogue) == [
            {m: p for m, p in e.items() if m == "co"} for e in expected[:2]]
    assert reads


def test_after_a_write_the_table_is_read_again_and_meanwhile_the_store_answers(
        settings: Settings, table_store: tuple) -> None:
    history, keys, markets, catalogue = table_store
    assert history.preload(catalogue) is not None
    _chart_of_one(settings, "se", date(2021, 1, 5), keys[1][0])
    expected = _store_peaks(settings, keys, markets)
    assert expected[1]["se"].best == 1
    with _Reads() as reads:
        assert history.song_peaks(keys, markets, catalogue) == expected  # the new write
    assert reads  # read from the store: the table was of the version before

    def from_table() -> bool:
        with _Reads() as reads:
            found = history.song_peaks(keys, markets, catalogue)
        return not reads and found == expected

    wait_until(from_table, what="the table of the new version read in the background")


def test_a_table_read_while_the_store_is_written_is_not_kept(
        settings: Settings, table_store: tuple) -> None:
    history, keys, markets, catalogue = table_store
    written: list[bool] = []

    def write_once(*args: object) -> None:
        if "song_totals.best" in str(args[2]) and not written:  # a peaks read, not the
            # schema check of opening the store
            written.append(True)  # another writer commits while the table is read
            _chart_of_one(settings, "se", date(2021, 1, 6), keys[2][0])

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", write_once)
    try:
        assert history.preload(catalogue) is None
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", write_once)
    assert written
    expected = _store_peaks(settings, keys[2:3], markets)  # what a request then gets:
    assert history.song_peaks(keys[2:3], markets, catalogue) == expected  # the store's
    assert expected[0]["se"].best == 1
    # and no new read starts at once: an ingest commits chart by chart
    assert not any(t.name == "dotify-peaks" for t in threading.enumerate())


def test_a_retired_model_stays_collectable_under_a_frozen_collector() -> None:
    import gc
    import weakref

    from dotify.web.model_holder import refreeze

    class Node:
        me: object

    node = Node()
    node.me = node  # a cycle: only the cyclic collector frees it
    alive = weakref.ref(node)
    gc.freeze()  # as dotify serve does once started
    try:
        del node
        gc.collect()
        assert alive() is not None  # frozen: out of the collector's reach
        refreeze()  # what a model swap does
        assert alive() is None and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    refreeze()  # nothing frozen: nothing done
    assert gc.get_freeze_count() == 0
