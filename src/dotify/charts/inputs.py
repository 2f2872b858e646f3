"""The inputs of an ingest: paths walked into chart files, each opened as one bounded stream.

One rule for every way in (a file, a folder, a glob, a ``.gz``, a tar archive, bytes):

- only regular files are opened (a FIFO, a device or a socket would block or never end), and
  a regular file is opened without blocking, then checked again on its descriptor;
- what a file expands to is bounded: past ``EXPANSION_FLOOR`` bytes, no more than
  ``MAX_EXPANSION`` times what was read of the compressed file;
- a file that changes while it is read (deleted, replaced, grown, cut) is failed;
- every entry left out is named with its reason: ``failed`` when it may have been a chart
  (a link or a special file in an archive, an archive inside an archive), ``skipped`` when it
  is not a chart file (hidden, another suffix).

:func:`expand` gives the :class:`Entry` list and :func:`open_entry` its :class:`Opened` streams.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import stat
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO

from dotify.errors import ChartFormatError

Input = str | Path | tuple[str, bytes]  # a path, a glob, or (name, content)
Entry = Path | tuple[str, bytes]
CHART_SUFFIXES = (".csv", ".csv.gz", ".tar.gz", ".tgz", ".tar")
_ARCHIVES = (".tar.gz", ".tgz", ".tar")
MAX_EXPANSION = 100  # CSV charts compress 4 to 10 times; a bomb thousands of times
EXPANSION_FLOOR = 16 << 20  # below this much output, any ratio is fine


@dataclass
class Found:
    """The chart files of the inputs, and what was left out: (name, reason) pairs."""

    entries: list[Entry] = field(default_factory=list)
    failed: list[ChartFormatError] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Opened:
    """One chart file's stream; ``position()`` is how far the input was read, ``changed()``
    says why the file cannot be trusted any more (None while it is as it was opened)."""

    name: str
    stream: BinaryIO
    position: Callable[[], int]
    changed: Callable[[], str | None]


def is_chart_name(name: str) -> bool:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return not base.startswith(".") and base.lower().endswith(CHART_SUFFIXES)


def _not_chart(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if base.startswith("."):
        return "hidden"
    return f"not a chart file ({', '.join(CHART_SUFFIXES)})"


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISDIR, "a folder"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def expand(paths: Iterable[Input]) -> Found:
    """Every chart file of ``paths``: folders walked, globs matched; the rest named."""
    found = Found()
    for item in paths:
        if isinstance(item, tuple):
            found.entries.append(item)
            continue
        path = Path(item).expanduser()
        mode = _mode(path)
        if mode is not None and stat.S_ISDIR(mode):
            for child in sorted(path.rglob("*")):
                _take(child, found, walked=True)
        elif mode is not None:
            _take(path, found, walked=False)
        elif matches := sorted(glob.glob(str(path), recursive=True)):
            for match in matches:
                _take(Path(match), found, walked=True)
        else:
            found.failed.append(ChartFormatError(item, None, "no such file, folder or glob match"))
    return found


def _mode(path: Path) -> int | None:
    try:
        return path.stat().st_mode
    except OSError:
        return None


def _take(path: Path, found: Found, walked: bool) -> None:
    """Sort one path into the chart files, the failed or the skipped. A path given by name
    is read whatever its suffix; a path found by walking only with a chart suffix."""
    mode = _mode(path)
    if mode is not None and stat.S_ISDIR(mode):
        return  # a folder inside a walk: its files come on their own
    if walked and not is_chart_name(path.name):
        found.skipped.append((str(path), _not_chart(path.name)))
    elif mode is None:
        found.failed.append(ChartFormatError(path, None, "a broken link or a vanished file"))
    elif not stat.S_ISREG(mode):
        found.failed.append(ChartFormatError(path, None, f"{_kind(mode)}, not a regular "
                                                         "file: not read"))
    else:
        found.entries.append(path)


def size(entry: Entry) -> int:
    if isinstance(entry, tuple):
        return len(entry[1])
    try:
        return entry.stat().st_size
    except OSError:
        return 0


Failed = Callable[[ChartFormatError], None]
Skipped = Callable[[str, str], None]


def open_entry(entry: Entry, failed: Failed, skipped: Skipped) -> Iterator[Opened]:
    """The chart streams of one entry (several for an archive). Whatever cannot be opened or
    read goes to ``failed``, what is not a chart to ``skipped``; nothing is raised."""
    if isinstance(entry, tuple):
        name, data = entry
        yield Opened(name, io.BytesIO(data), lambda: len(data), lambda: None)
        return
    try:
        raw = _open_regular(entry)
    except ChartFormatError as exc:
        failed(exc)
        return
    with raw:
        changed = _watch(entry, raw)
        lower = entry.name.lower()
        if lower.endswith(_ARCHIVES):
            yield from _members(entry, raw, changed, failed, skipped)
        elif lower.endswith(".gz"):
            with gzip.open(raw) as unzipped:
                yield Opened(str(entry), bounded(unzipped, raw.tell, str(entry)), raw.tell,
                             changed)
        else:
            yield Opened(str(entry), raw, raw.tell, changed)


def _open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading without blocking (a FIFO would wait for a writer), and
    refused unless its descriptor is a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ChartFormatError(path, None, f"cannot open the file: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ChartFormatError(path, None, f"{_kind(mode)}, not a regular file: not read")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _watch(path: Path, raw: BinaryIO) -> Callable[[], str | None]:
    """A check that the file at ``path`` is still the one opened as ``raw``, as it was."""
    before = os.fstat(raw.fileno())

    def changed() -> str | None:
        try:
            now = os.stat(path)
        except OSError:
            return "the file was deleted or moved while it was read"
        if (now.st_ino, now.st_dev) != (before.st_ino, before.st_dev):
            return "the file was replaced while it was read"
        if (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            return (f"the file changed while it was read ({before.st_size:,} bytes, "
                    f"then {now.st_size:,})")
        return None

    return changed


def _members(archive: Path, raw: BinaryIO, changed: Callable[[], str | None],
             failed: Failed, skipped: Skipped) -> Iterator[Opened]:
    """The chart files of a tar archive, read in one streaming pass; links, special files
    and archives inside it are failed by name; an archive without a chart file fails."""
    charts = 0
    try:
        with tarfile.open(fileobj=raw, mode="r|*") as tar:
            for member in tar:
                name = f"{archive}:{member.name}"
                if member.isdir():
                    continue
                if not is_chart_name(member.name):
                    skipped(name, _not_chart(member.name))
                    continue
                charts += 1
                reason = _member_problem(member)
                stream = tar.extractfile(member) if reason is None else None
                if stream is None:
                    failed(ChartFormatError(name, None, reason or "cannot be read"))
                elif member.name.lower().endswith(".gz"):
                    with gzip.open(stream) as unzipped:
                        yield Opened(name, bounded(unzipped, raw.tell, name), raw.tell, changed)
                else:
                    yield Opened(name, bounded(stream, raw.tell, name), raw.tell, changed)
    except (tarfile.TarError, EOFError, OSError) as exc:
        failed(ChartFormatError(archive, None, f"unreadable archive: {exc}"))
        return
    if charts == 0:
        failed(ChartFormatError(archive, None, "no chart file in the archive"))


def _member_problem(member: tarfile.TarInfo) -> str | None:
    if member.issym():
        return f"a symbolic link in the archive (to {member.linkname[:80]!r}): not followed"
    if member.islnk():
        return f"a hard link in the archive (to {member.linkname[:80]!r}): not followed"
    if not member.isfile():
        return "a device, FIFO or other special entry in the archive: not read"
    if member.name.lower().endswith(_ARCHIVES):
        return "an archive inside the archive: not read (unpack it first)"
    return None


def bounded(inner: IO[bytes] | gzip.GzipFile, source_read: Callable[[], int],
            name: str) -> BinaryIO:
    """``inner`` (a decompressing stream) that fails once it expands too far."""
    return io.BufferedReader(_Bounded(inner, source_read, name), 1 << 16)


class _Bounded(io.RawIOBase):
    """A decompressed stream that stops with an error once it has given more than
    ``MAX_EXPANSION`` times what its compressed source has read (past ``floor`` bytes)."""

    def __init__(self, inner: IO[bytes] | gzip.GzipFile, source_read: Callable[[], int], name: str,
                 floor: int = EXPANSION_FLOOR) -> None:
        self.inner, self.source_read, self.name, self.floor = inner, source_read, name, floor
        self.given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        data = self.inner.read(len(buffer))
        self.given += len(data)
        if self.given > self.floor and self.given > MAX_EXPANSION * max(self.source_read(), 1):
            raise ChartFormatError(
                self.name, None, f"expands to more than {MAX_EXPANSION} times its compressed "
                f"size ({self.given:,} bytes so far): not read (a compression bomb?)")
        buffer[: len(data)] = data
        return len(data)
