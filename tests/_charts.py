"""Chart files written on the spot for the hostile-input tests (no real data)."""

from __future__ import annotations

from collections.abc import Iterable

HEADER = "Position,Track Name,Artist,Streams,URL\n"
URL = "https://open.spotify.com/track/"


def track(position: int, salt: str = "") -> str:
    """A 22-character Spotify-like id for a position (the same song on every day)."""
    return (salt + f"t{position:03d}").rjust(22, "x")


def legacy_rows(rows: int = 200, top: int = 2_000_000,
                streams: Iterable[int | str] | None = None, salt: str = "") -> list[str]:
    counts = list(streams) if streams is not None else [top - 5_000 * p for p in range(rows)]
    return [f'{p},"Song {salt}{p}","Artist {p % 17}",{counts[p - 1]},{URL}{track(p, salt)}\n'
            for p in range(1, len(counts) + 1)]


def legacy_csv(rows: int = 200, top: int = 2_000_000,
               streams: Iterable[int | str] | None = None, salt: str = "") -> bytes:
    """A legacy chart download of ``rows`` rows (or one row per count in ``streams``)."""
    return (HEADER + "".join(legacy_rows(rows, top, streams, salt))).encode()


def daily_name(market: str, day: str) -> str:
    return f"regional-{market}-daily-{day}.csv"
