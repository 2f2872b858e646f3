"""Simulated charts packed per market and month, ``<cc>/regional-<cc>-daily-YYYY-MM.tar.gz``.

Each archive holds the month's daily files under their usual names
(``regional-<cc>-daily-YYYY-MM-DD.csv``), which ``dotify ingest`` reads as it reads the loose
files. Consecutive days repeat most of their songs, so a month packs far smaller than its
days gzipped one by one, and one archive replaces some thirty files and their disk blocks
(``bench/bench_scale.py`` prints the megabytes per simulated year). The bytes are
reproducible: members sorted by name, no times, owners or file name in the headers.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from datetime import date
from pathlib import Path

LEVEL = 6  # gzip's default


def month_path(out: Path, market: str, day: date) -> Path:
    """The archive of ``market``'s charts of the month of ``day``."""
    return out / market / f"regional-{market}-daily-{day:%Y-%m}.tar.gz"


def write_month(path: Path, charts: dict[str, bytes]) -> None:
    """Write ``charts`` (member name -> file bytes) into the archive at ``path``; the members
    of an archive already there that ``charts`` does not replace are kept."""
    members = {**_members(path), **charts} if path.exists() else dict(charts)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=LEVEL,
                       mtime=0) as packed, tarfile.open(fileobj=packed, mode="w",
                                                        format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(members[name]), 0o644
            tar.addfile(info, io.BytesIO(members[name]))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)


def _members(path: Path) -> dict[str, bytes]:
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            return {m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
                    for m in tar if m.isfile()}
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise ValueError(f"{path}: cannot add to this archive ({exc}); remove it first") from exc
