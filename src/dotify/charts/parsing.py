"""Chart files read into charts: in this process, or in worker processes while it writes.

:class:`ChartStream` reads one chart file's binary stream into charts, hashing what it reads;
once iterated it says how the reading ended (``sha256``, ``format``, ``rows_skipped``, the
error that stopped it and the charts it left out). :class:`Parsers` runs it in worker
processes over the bytes of small files: a big ingest then parses on one core while the store
writes on another. A small file on disk (an archive of a month's charts, say) goes to a
worker whole, by its path: the worker opens it as this process would (:func:`open_entry`),
decompresses and parses it, so that the writing process does not. Results come back in the
order the files were given, so an ingest in parallel writes exactly what one in a single
process writes.
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import tarfile
import threading
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from dotify.charts.formats import Chart, ChartReader
from dotify.charts.inputs import open_entry
from dotify.errors import ChartFormatError

READ_ERRORS = (OSError, EOFError, tarfile.TarError, zlib.error)
SMALL_BYTES = 4 << 20  # a file up to this size (uncompressed) may go to a worker, whole
FILE_BYTES = 1 << 20  # a file on disk up to this size goes to a worker by its path
_TASK_BYTES = 1 << 20  # files per task: about this many bytes (a task per file costs more)
_WINDOW_BYTES = 64 << 20  # bytes handed to the workers and not yet taken back


class _HashingReader(io.RawIOBase):
    """A raw stream that hashes what is read through it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.sha256 = raw, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.sha256.update(data)
        return len(data)

    def drain(self) -> str:
        while data := self.raw.read(1 << 20):
            self.sha256.update(data)
        return self.sha256.hexdigest()


@dataclass
class Parsed:
    """How reading one file ended: its charts, and what a :class:`ChartStream` says after
    iteration (iterating a Parsed gives its charts)."""

    name: str
    charts: list[Chart] = field(default_factory=list)
    sha256: str = ""
    format: str | None = None
    rows_skipped: int = 0
    errors: list[ChartFormatError] = field(default_factory=list)  # what stopped the reading
    rejected: list[ChartFormatError] = field(default_factory=list)  # charts left out
    changed: str | None = None  # why the file cannot be trusted, seen when it was read

    def __iter__(self) -> Iterator[Chart]:
        return iter(self.charts)


class ChartStream(Parsed):
    """The charts of one binary stream, read as they are iterated (a many-chart file is
    never held whole); the other fields are filled when the iteration ends."""

    def __init__(self, stream: BinaryIO, name: str, options: tuple) -> None:
        super().__init__(name)
        self.stream, self.options = stream, options

    def __iter__(self) -> Iterator[Chart]:
        hashing = _HashingReader(self.stream)
        reader = ChartReader(io.BufferedReader(hashing, 1 << 16), self.name, *self.options)
        try:
            yield from reader
        except ChartFormatError as exc:
            self.errors.append(exc)
        except READ_ERRORS as exc:  # a corrupt archive member or gzip stream
            self.errors.append(ChartFormatError(self.name, None, f"unreadable: {exc}"))
        self.format, self.rows_skipped, self.rejected = (
            reader.format, reader.rows_skipped, reader.rejected)
        try:
            self.sha256 = hashing.drain()
        except (ChartFormatError, *READ_ERRORS):  # already reported above
            self.sha256 = hashing.sha256.hexdigest()


def parse(name: str, data: bytes, options: tuple) -> Parsed:
    """One whole file's charts (what a worker runs)."""
    stream = ChartStream(io.BytesIO(data), name, options)
    charts = list(stream)
    return Parsed(name, charts, stream.sha256, stream.format, stream.rows_skipped,
                  stream.errors, stream.rejected)


@dataclass
class Unread:
    """A file a worker gave back unread (one of its members is too big to parse whole
    there): the writing process reads it, in its turn."""

    path: Path


# what a worker gives back, in the order the writing process would have met it
Item = Parsed | ChartFormatError | tuple[str, str] | Unread
# a worker's job: (name, bytes, options, why the file cannot be trusted) or (path, options)
Job = tuple[str, bytes, tuple, str | None] | tuple[Path, tuple]


def read_file(path: Path, options: tuple) -> list[Item]:
    """Every chart file of ``path`` (the members of an archive) read and parsed, with what
    was failed or skipped on the way, as :func:`open_entry` meets them; or ``[Unread]``
    when its chart files hold more than ``SMALL_BYTES`` (a worker holds no more)."""
    items: list[Item] = []
    held = 0
    for opened in open_entry(path, items.append, lambda name, why: items.append((name, why))):
        data, _ = read_small(opened.stream, SMALL_BYTES - held)
        if data is None:
            return [Unread(path)]
        held += len(data)
        changed = opened.changed()
        parsed = parse(opened.name, data, options)
        parsed.changed = changed
        items.append(parsed)
    return items


def _parse_task(jobs: list[Job]) -> list[list[Item]]:
    done: list[list[Item]] = []
    for job in jobs:
        if isinstance(job[0], Path):  # (path, options)
            done.append(read_file(job[0], job[1]))
            continue
        name, data, options, changed = job
        parsed = parse(name, data, options)
        parsed.changed = changed
        done.append([parsed])
    return done


def read_small(stream: BinaryIO, limit: int | None = None) -> tuple[bytes | None, BinaryIO]:
    """(its whole content, the stream to read instead): the bytes of ``stream`` when it holds
    at most ``limit`` (default ``SMALL_BYTES``), else None and a stream that gives what was
    read, then the rest. A read that fails gives None and a stream that fails the same way."""
    limit = SMALL_BYTES if limit is None else limit
    parts, got = [], 0
    try:
        while got <= limit and (data := stream.read(limit + 1 - got)):
            parts.append(data)
            got += len(data)
    except (ChartFormatError, *READ_ERRORS) as exc:
        return None, io.BufferedReader(_Replay(b"".join(parts), stream, exc))
    if got <= limit:
        return b"".join(parts), stream
    return None, io.BufferedReader(_Replay(b"".join(parts), stream))


class _Replay(io.RawIOBase):
    """``head``, then the rest of ``rest`` (or the error the first read of it raised)."""

    def __init__(self, head: bytes, rest: BinaryIO, error: BaseException | None = None) -> None:
        self.head, self.rest, self.error = memoryview(head), rest, error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n], self.head = self.head[:n], self.head[n:]
            return n
        if self.error is not None:
            raise self.error
        data = self.rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class Parsers:
    """Worker processes that parse whole small files, in order: ``submit`` a file's bytes
    or ``submit_file`` its path, take back what is parsed with ``ready`` (without waiting,
    but for the window) or ``drain`` (all of it). A context manager; the workers stop when
    it exits."""

    def __init__(self, workers: int) -> None:
        # fork, the cheapest start, when no other thread may hold a lock across it
        method = "fork" if threading.active_count() == 1 else "forkserver"
        context = multiprocessing.get_context(method)
        self.pool = ProcessPoolExecutor(workers, mp_context=context)
        self.task: list[Job] = []
        self.task_bytes = 0
        self.pending: deque[tuple[Future[list[list[Item]]], int]] = deque()
        self.in_flight = 0

    def __enter__(self) -> Parsers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, name: str, data: bytes, options: tuple, changed: str | None) -> None:
        """A file's bytes (``changed``: why the file cannot be trusted, seen as it was read)."""
        self._add((name, data, options, changed), len(data))

    def submit_file(self, path: Path, options: tuple, weight: int) -> None:
        """A file for a worker to open, read and parse (``weight``: its bytes, about)."""
        self._add((path, options), weight)

    def _add(self, job: Job, weight: int) -> None:
        self.task.append(job)
        self.task_bytes += weight
        if self.task_bytes >= _TASK_BYTES:
            self._send()

    def _send(self) -> None:
        if self.task:
            self.pending.append((self.pool.submit(_parse_task, self.task), self.task_bytes))
            self.in_flight += self.task_bytes
            self.task, self.task_bytes = [], 0

    def ready(self) -> Iterator[Item]:
        """What is parsed at the head of the queue; waits only while too much is in flight."""
        while self.pending and (self.pending[0][0].done() or self.in_flight > _WINDOW_BYTES):
            yield from self._take()

    def drain(self) -> Iterator[Item]:
        """Everything submitted, in order."""
        self._send()
        while self.pending:
            yield from self._take()

    def _take(self) -> Iterator[Item]:
        future, size = self.pending.popleft()
        self.in_flight -= size
        for items in future.result():
            yield from items
