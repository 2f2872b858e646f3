"""Small real model artifacts and chart rows for the web tests (no mocks)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from dotify import artifact as artifacts
from dotify.config import Settings
from dotify.learn.ratings import Songs
from dotify.models import make_model
from tests.waiting import wait_until

CLUSTERS = {
    "latin": ["co", "mx", "ar", "cl", "pe", "br"],
    "europe": ["de", "fr", "gb", "se", "nl"],
    "east": ["tr", "jp", "kr"],
}
XSS_TITLE = "<script>alert(1)</script>"
XSS_ARTISTS = '<img src=x onerror="alert(2)">'


def build_artifact(models_dir: Path, n_songs: int = 40, factors: int = 8, seed: int = 0,
                   publish: bool = True, meta: dict | None = None,
                   with_streams: bool = False) -> artifacts.Artifact:
    """An IMF artifact with three country clusters; song 0 (the XSS title) leads Latin taste.

    ``with_streams`` saves summed streams too (:func:`planted_streams`): song ``s`` is
    streamed most, by far, in country ``s % 14`` (its home market)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(CLUSTERS), factors))
    codes, rows = [], []
    for k, members in enumerate(CLUSTERS.values()):
        for code in members:
            codes.append(code)
            rows.append(centres[k] + 0.35 * rng.normal(size=factors))
    cluster_of_song = np.arange(n_songs) % len(CLUSTERS)
    songs_v = centres[cluster_of_song] * rng.uniform(0.5, 1.5, (n_songs, 1))
    songs_v += 0.3 * rng.normal(size=(n_songs, factors))
    songs_v[0] = 2.0 * centres[0]
    model = make_model("imf", factors=factors)
    model.country_factors = np.asarray(rows, np.float32)
    model.song_factors = songs_v.astype(np.float32)
    ids = [f"{i:022d}" for i in range(n_songs)]
    titles = [XSS_TITLE if i == 0 else f"Song {i}" for i in range(n_songs)]
    songs = Songs(keys=np.array(ids), titles=np.array(titles),
                  artists=np.array([XSS_ARTISTS if i == 0 else f"Artist {i % 7}"
                                    for i in range(n_songs)]),
                  urls=np.array([f"https://open.spotify.com/track/{t}" for t in ids]),
                  streams=rng.integers(1000, 10**6, n_songs).astype(np.int64))
    charted = sp.csr_matrix(rng.random((len(codes), n_songs)) < 0.25)
    info = {"metrics": {"val_epr": 0.123, "val_ndcg@10": 0.456},
            "window": {"start": "2021-01-01", "end": "2021-03-31", "n_top_songs": None},
            "first_date": "2021-01-01", "last_date": "2021-03-30", **(meta or {})}
    streams = planted_streams(charted, codes) if with_streams else None
    saved = artifacts.save(model, np.array(codes), songs, models_dir, info, charted=charted,
                           streams=streams)
    if publish:
        artifacts.publish(models_dir, saved.version)
    return saved


def planted_streams(charted: sp.csr_matrix, codes: list[str]) -> sp.csr_matrix:
    """2,000 streams where a song charted, and 1,000,000 in its home market
    ``codes[s % len(codes)]``: there its chart profile is 1, elsewhere about 0.16."""
    streams = charted.astype(np.float64).toarray() * 2000.0
    for s in range(streams.shape[1]):
        streams[s % len(codes), s] = 1e6
    return sp.csr_matrix(streams)


def home_of_song(codes: list[str], song: int) -> str:
    """The home market :func:`planted_streams` gives song ``song``."""
    return codes[song % len(codes)]


def add_charts(settings: Settings, market: str, days: int, entries: int = 3) -> None:
    """Write ``days`` daily charts of ``entries`` rows each for ``market`` into the store."""
    import sqlalchemy as sa

    from dotify import countries
    from dotify.store import aggregate
    from dotify.store.engine import engine_for
    from dotify.store.schema import chart_entries, charts, markets, songs

    engine = engine_for(settings)
    m = countries.MARKETS[market]
    with engine.begin() as conn:
        conn.execute(sa.insert(markets), [{"code": m.code, "name": m.name, "region": m.region}])
        conn.execute(sa.insert(songs), [{"key": f"k{i}", "title": f"T{i}", "artists": "A"}
                                        for i in range(entries)])
        song_ids = [r[0] for r in conn.execute(sa.select(songs.c.id).order_by(songs.c.id))]
        for d in range(days):
            chart_id = conn.execute(sa.insert(charts).values(
                market=market, chart_date=date(2021, 1, 1) + timedelta(days=d), kind="daily",
                sha256="0" * 64)).inserted_primary_key[0]
            conn.execute(sa.insert(chart_entries), [
                {"chart_id": chart_id, "position": p + 1, "song_id": song_ids[p],
                 "streams": 1000 - p} for p in range(entries)])
        aggregate.rebuild(conn)  # as the store keeps it
    engine.dispose()


def write_charts(settings: Settings, rows: list[tuple[str, str, str, int, str, int]]) -> None:
    """Write chart rows ``(market, ISO day, kind, position, song key, streams)`` into the
    store: markets, songs and charts are made as needed (songs titled after their keys)."""
    import sqlalchemy as sa

    from dotify import countries
    from dotify.store.engine import engine_for
    from dotify.store.schema import chart_entries, charts, markets, songs

    engine = engine_for(settings)
    with engine.begin() as conn:
        have = set(conn.execute(sa.select(markets.c.code)).scalars())
        new = sorted({r[0] for r in rows} - have)
        if new:
            conn.execute(sa.insert(markets), [
                {"code": c, "name": countries.MARKETS[c].name,
                 "region": countries.MARKETS[c].region} for c in new])
        song_ids = dict(conn.execute(sa.select(songs.c.key, songs.c.id)).all())
        for key in sorted({r[4] for r in rows} - set(song_ids)):
            song_ids[key] = conn.execute(sa.insert(songs).values(
                key=key, title=f"title of {key}", artists="A")).inserted_primary_key[0]
        chart_ids = {(m, d, k): i for i, m, d, k in conn.execute(
            sa.select(charts.c.id, charts.c.market, charts.c.chart_date, charts.c.kind))}
        for market, day, kind, position, key, streams in rows:
            at = (market, date.fromisoformat(day), kind)
            if at not in chart_ids:
                chart_ids[at] = conn.execute(sa.insert(charts).values(
                    market=market, chart_date=at[1], kind=kind,
                    sha256="0" * 64)).inserted_primary_key[0]
            conn.execute(sa.insert(chart_entries).values(
                chart_id=chart_ids[at], position=position, song_id=song_ids[key],
                streams=streams))
    engine.dispose()


def position(song: int, market: str) -> int | None:
    """The planted peak of song ``song`` (of 40) in ``market``: co and tr always, de for odd
    songs (one song per position and chart)."""
    if market == "co":
        return song + 1
    if market == "tr":
        return (7 * song) % 40 + 1
    return song + 1 if song % 2 else None


def planted_rows(art: artifacts.Artifact) -> list[tuple[str, str, str, int, str, int]]:
    """Two days of charts in co, tr and de: the peak on the second day, 100 places lower and
    10 streams less on the first."""
    rows = []
    for song, key in enumerate(art.songs.keys.tolist()):
        for market in ("co", "tr", "de"):
            peak = position(song, market)
            if peak is not None:
                rows.append((market, "2021-01-01", "daily", 100 + peak, key, 990))
                rows.append((market, "2021-01-02", "daily", peak, key, 1000))
    return rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(app: object) -> Iterator[str]:
    """Serve ``app`` with a real uvicorn server on 127.0.0.1 in a thread; yield its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), what="uvicorn's start")
    if not server.started:
        raise RuntimeError("uvicorn stopped before it started")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
