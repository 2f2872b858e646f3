"""Small planted-cluster chart data for the core tests: ratings arrays and store rows.

Countries fall in blocks; each block charts mostly songs of its own pool, plus a few hits
that chart everywhere. Used by the ratings, splits, IMF, tuning and CLI tests; and
:func:`simulated_home`, simulated charts ingested, for the tests on them.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from dotify.config import Settings
from dotify.countries import MARKETS
from dotify.learn.ratings import Ratings, Songs
from dotify.store import aggregate, schema

CODES = ["ar", "br", "cl", "co", "mx", "pe", "de", "at", "ch", "pl", "cz", "hu",
         "se", "no", "dk", "fi", "jp", "kr", "tw", "hk", "us", "ca", "gb", "ie"]


def planted(n_blocks: int = 4, per_block: int = 6, pool: int = 80, hits: int = 10,
            charted: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                        np.ndarray, np.ndarray]:
    """(codes, rows, cols, streams, block of each row): each country charts ``charted`` songs
    of its block's ``pool`` (popular ones likelier) plus all ``hits`` global songs."""
    rng = np.random.default_rng(seed)
    n_countries = n_blocks * per_block
    codes = np.array(CODES[:n_countries])
    block = np.repeat(np.arange(n_blocks), per_block)
    popularity = 1.0 / np.arange(1, pool + 1) ** 0.7
    rows, cols, streams = [], [], []
    for u in range(n_countries):
        own = hits + block[u] * pool + rng.choice(pool, charted, replace=False,
                                                  p=popularity / popularity.sum())
        chosen = np.concatenate([np.arange(hits), own])
        rows += [u] * len(chosen)
        cols += chosen.tolist()
        streams += (rng.lognormal(10, 1, len(chosen)) + 1000).astype(np.int64).tolist()
    return codes, np.array(rows), np.array(cols), np.array(streams, np.int64), block


def songs_meta(n_songs: int) -> Songs:
    keys = np.array([f"track{j:05d}" for j in range(n_songs)])
    return Songs(keys, np.array([f"Song {j}" for j in range(n_songs)]),
                 np.array([f"Artist {j % 17}" for j in range(n_songs)]),
                 np.array([f"https://open.spotify.com/track/track{j:05d}" for j in range(n_songs)]),
                 np.zeros(n_songs, np.int64))


def planted_ratings(**kwargs: int) -> tuple[Ratings, np.ndarray]:
    """The planted data as log-scaled Ratings (eps 1000), and each row's block."""
    codes, rows, cols, streams, block = planted(**kwargs)
    n_songs = kwargs.get("hits", 10) + kwargs.get("n_blocks", 4) * kwargs.get("pool", 80)
    values = np.log1p(streams / 1000.0)
    return Ratings.from_triples(codes, songs_meta(n_songs), rows, cols, values), block


def insert_charts(engine: sa.Engine, codes: list[str], entries: list[list[tuple[int, int]]],
                  day: date, kind: str = "weekly") -> None:
    """One chart per market on ``day``: ``entries[k]`` = [(song number, streams), ...] for
    ``codes[k]``, in chart order. Songs are created as ``track<number>`` when new. Rows go
    in by plain SQL; the ratings aggregate is then rebuilt, as the store keeps it."""
    with engine.begin() as conn:
        known = {r[0] for r in conn.execute(sa.select(schema.markets.c.code))}
        for code in codes:
            if code not in known:
                m = MARKETS[code]
                conn.execute(schema.markets.insert().values(code=code, name=m.name,
                                                            region=m.region))
        for code, chart in zip(codes, entries, strict=True):
            chart_id = conn.execute(schema.charts.insert().values(
                market=code, chart_date=day, kind=kind, sha256="0" * 64)).inserted_primary_key[0]
            rows = [{"chart_id": chart_id, "position": position, "song_id": _song_id(conn, song),
                     "streams": streams} for position, (song, streams) in enumerate(chart, 1)]
            if rows:
                conn.execute(schema.chart_entries.insert(), rows)
        aggregate.rebuild(conn)


def _song_id(conn: sa.Connection, song: int) -> int:
    key = f"track{song:05d}"
    found = conn.execute(sa.select(schema.songs.c.id).where(schema.songs.c.key == key)).scalar()
    if found is not None:
        return int(found)
    return int(conn.execute(schema.songs.insert().values(
        key=key, spotify_id=key, title=f"Song {song}", artists=f"Artist {song % 17}"
    )).inserted_primary_key[0])


def insert_planted(engine: sa.Engine, weeks: int = 2, start: date = date(2020, 1, 3),
                   **kwargs: int) -> None:
    """The planted data as ``weeks`` weekly charts per market (streams split evenly)."""
    codes, rows, cols, streams, _ = planted(**kwargs)
    for w in range(weeks):
        entries = []
        for u in range(len(codes)):
            mine = rows == u
            order = np.argsort(-streams[mine], kind="stable")
            entries.append([(int(c), int(s) // weeks)
                            for c, s in zip(cols[mine][order], streams[mine][order], strict=True)])
        insert_charts(engine, list(codes), entries, start + timedelta(weeks=w))


def simulated_home(folder: Path, days: int, markets: list[str] | None = None,
                   seed: int = 0) -> tuple[Settings, Ratings, dict]:
    """``days`` days of simulated charts written to ``folder/charts`` and ingested into a home
    in ``folder/home``; (its settings, its ratings, the planted ground truth)."""
    import json

    from dotify.charts.ingest import ingest_paths
    from dotify.charts.sim.simulate import simulate
    from dotify.learn.ratings import from_store
    from dotify.store.engine import opened

    summary = simulate(folder / "charts", days=days, markets=markets, seed=seed)
    settings = Settings(home=folder / "home")
    with opened(settings) as engine:
        ingest_paths(engine, [folder / "charts"])
        ratings = from_store(engine)
    return settings, ratings, json.loads(summary.ground_truth.read_text())
