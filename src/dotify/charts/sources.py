"""Where new charts come from: an HTTP puller, a drop folder, or the simulator's next days.

Every source fills the archive (``settings.charts_dir/<market>/...``) with one chart file per
(market, date) in a format :mod:`dotify.charts.formats` reads, and answers one
:class:`Pull` per chart it tried, so the nightly job can record and retry what failed.
:func:`make_source` picks the source named by ``settings.source``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import os
import re
import string
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx

from dotify.config import Settings
from dotify.errors import ConfigError, SourceError

log = logging.getLogger("dotify")

LEGACY_HEADER = ["Position", "Track Name", "Artist", "Streams", "URL"]
_TRACK_URL = "https://open.spotify.com/track/"
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
MAX_ANSWER_BYTES = 8 << 20  # after decompression; a chart is some 40 KB of CSV, 300 KB of JSON
PLACEHOLDERS = ("market", "date", "kind")
_NAME_DAILY = re.compile(r"regional-([a-z]{2}|global)-(daily|weekly)-(\d{4}-\d{2}-\d{2})")
_NAME_WEEKLY = re.compile(r"(\d{4}-\d{2}-\d{2})--\d{4}-\d{2}-\d{2}([a-z]{2})")


@dataclass(frozen=True)
class Pull:
    """The outcome of fetching one chart: ``ok`` with the archived path, or ``failed``."""

    market: str | None
    day: date | None
    status: str  # ok | failed
    path: Path | None = None
    error: str | None = None
    attempts: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {"market": self.market, "date": None if self.day is None else self.day.isoformat(),
                "status": self.status, "path": None if self.path is None else str(self.path),
                "error": self.error, "attempts": self.attempts}


Wanted = dict[str, list[date]]  # market -> the dates to fetch, oldest first


class Source(Protocol):
    """A chart source. ``markets`` are those to pull when the settings name none (given the
    markets already stored); ``newest`` is the latest date it can deliver."""

    name: str

    def markets(self, stored: list[str]) -> list[str]: ...

    def newest(self, last: dict[str, date]) -> date: ...

    def pull(self, wanted: Wanted, archive: Path, kind: str) -> list[Pull]: ...


def chart_name(market: str, day: date, kind: str) -> str:
    """The archive file name of a chart, the form the readers take market and date from."""
    return f"regional-{market}-{kind}-{day.isoformat()}.csv"


def archive_path(archive: Path, market: str, day: date, kind: str) -> Path:
    return archive / market / chart_name(market, day, kind)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so a reader never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def looks_like_html(data: bytes, content_type: str = "") -> bool:
    """True for an HTML page (an error or login page served instead of a chart)."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return "html" in content_type.lower() or head.startswith((b"<!doctype", b"<html", b"<"))


def json_to_csv(payload: bytes, where: str) -> bytes:
    """Convert a charts API JSON answer (``entries`` of ``chartEntryData`` and
    ``trackMetadata``) to the legacy CSV download; errors name ``where`` and the entry."""
    try:
        entries = json.loads(payload)["entries"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SourceError(
            f"{where}: not a charts JSON answer with an 'entries' list ({exc})") from exc
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LEGACY_HEADER)
    for number, entry in enumerate(entries, start=1):
        try:
            data, track = entry["chartEntryData"], entry["trackMetadata"]
            uri = str(track["trackUri"])
            artists = ", ".join(str(a["name"]) for a in track["artists"])
            row = [int(data["currentRank"]), track["trackName"], artists,
                   int(str(data["rankingMetric"]["value"]).replace(",", "")),
                   _TRACK_URL + uri.rsplit(":", 1)[-1]]
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceError(f"{where}: entry {number} is malformed ({exc!r})") from exc
        writer.writerow(row)
    return out.getvalue().encode()


class RateLimiter:
    """At most ``per_s`` request starts per second across threads and tasks (a polite
    crawler)."""

    def __init__(self, per_s: float) -> None:
        if per_s <= 0:
            raise ValueError(f"http_requests_per_s must be > 0, not {per_s!r}")
        self.interval = 1.0 / per_s
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def delay(self) -> float:
        """Book the next start; the seconds to wait for it."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        return start - now

    def wait(self) -> None:
        time.sleep(self.delay())


def check_url_template(template: str) -> None:
    """ConfigError, in one sentence, unless ``template`` is a URL with ``{market}`` and
    ``{date}`` (and maybe ``{kind}``) and no other placeholder."""
    where = f"DOTIFY_HTTP_URL_TEMPLATE {template!r}"
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template)
                 if name is not None}
        unknown = sorted(names - set(PLACEHOLDERS))
        if unknown:
            raise ConfigError(f"{where} has the unknown placeholder "
                              f"{', '.join('{' + n + '}' for n in unknown)}; use "
                              "{market}, {date} and {kind}")
        for key in ("market", "date"):
            if key not in names:
                raise ConfigError(f"{where} lacks {{{key}}}")
        template.format(market="se", date="2021-03-01", kind="daily")
    except (ValueError, IndexError, KeyError, AttributeError) as exc:
        raise ConfigError(f"{where} is not a valid template ({exc})") from None


class HttpSource:
    """Fetch charts over HTTP from ``settings.http_url_template`` (``{market}``, ``{date}``,
    ``{kind}``), as legacy CSV or charts API JSON (archived raw as ``.json`` beside the CSV
    made from it); with retries, backoff, a concurrency limit and a request rate.
    ``http_timeout_s`` bounds each try whole (connect, headers and body), and an answer
    is read to at most ``MAX_ANSWER_BYTES`` after decompression.
    ``newest`` is yesterday (UTC): today's chart is not out yet."""

    name = "http"

    def __init__(self, settings: Settings, backoff_s: float = 1.0) -> None:
        self.settings = settings
        self.backoff_s = backoff_s
        check_url_template(settings.http_url_template)

    def markets(self, stored: list[str]) -> list[str]:
        """The settings' markets, else those already stored, else every registry country."""
        from dotify.countries import countries

        return self.settings.markets or stored or sorted(m.code for m in countries())

    def newest(self, last: dict[str, date]) -> date:
        return datetime.now(UTC).date() - timedelta(days=1)

    def pull(self, wanted: Wanted, archive: Path, kind: str) -> list[Pull]:
        jobs = [(m, d) for m, days in wanted.items() for d in days]
        return asyncio.run(self._pull_all(jobs, archive, kind)) if jobs else []

    async def _pull_all(self, jobs: list[tuple[str, date]], archive: Path, kind: str
                        ) -> list[Pull]:
        limiter = RateLimiter(self.settings.http_requests_per_s)
        slots = asyncio.Semaphore(max(1, self.settings.http_concurrency))
        headers = {"User-Agent": "dotify-nightly"}
        if self.settings.http_token:
            headers["Authorization"] = f"Bearer {self.settings.http_token}"
        timeout = httpx.Timeout(self.settings.http_timeout_s)
        async with httpx.AsyncClient(headers=headers, timeout=timeout,
                                     follow_redirects=True) as client:

            async def one(market: str, day: date) -> Pull:
                async with slots:
                    return await self._pull_one(client, limiter, archive, kind, market, day)

            return list(await asyncio.gather(*(one(m, d) for m, d in jobs)))

    async def _pull_one(self, client: httpx.AsyncClient, limiter: RateLimiter, archive: Path,
                        kind: str, market: str, day: date) -> Pull:
        url = self.settings.http_url_template.format(market=market, date=day.isoformat(),
                                                     kind=kind)
        attempts, error = 0, ""
        while attempts <= self.settings.http_retries:
            if attempts:
                await asyncio.sleep(self.backoff_s * 2 ** (attempts - 1))
            attempts += 1
            await asyncio.sleep(limiter.delay())
            try:
                answer = await self._fetch(client, url)
            except (TimeoutError, httpx.TimeoutException):
                error = f"timed out after {self.settings.http_timeout_s:g} s"
                continue
            except httpx.TransportError as exc:
                error = f"cannot connect: {exc}"
                continue
            except SourceError as exc:
                return Pull(market, day, "failed", error=str(exc), attempts=attempts)
            if answer.status in _RETRY_STATUS:
                error = f"HTTP {answer.status}"
                continue
            try:
                data = self._chart_bytes(answer, f"{market} {day}")
            except SourceError as exc:
                return Pull(market, day, "failed", error=str(exc), attempts=attempts)
            path = archive_path(archive, market, day, kind)
            if self.settings.http_format == "json":  # keep the raw answer beside its CSV
                write_atomic(path.with_suffix(".json"), answer.body)
            write_atomic(path, data)
            return Pull(market, day, "ok", path=path, attempts=attempts)
        return Pull(market, day, "failed", error=f"{url}: {error}", attempts=attempts)

    async def _fetch(self, client: httpx.AsyncClient, url: str) -> _Answer:
        """One try, connect to last byte within ``http_timeout_s``; the body (decoded) only
        for a 200 answer, and never more than MAX_ANSWER_BYTES of it."""
        async with asyncio.timeout(self.settings.http_timeout_s), \
                client.stream("GET", url) as response:
            answer = _Answer(str(response.url), response.status_code,
                             response.headers.get("content-type", ""))
            if response.status_code != 200:
                return answer
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
                raise SourceError(f"{url}: the answer is larger than {MAX_ANSWER_BYTES:,} bytes")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise SourceError(f"{url}: the answer is larger than {MAX_ANSWER_BYTES:,} "
                                      "bytes (after decompression)")
            answer.body = bytes(body)
            return answer

    def _chart_bytes(self, answer: _Answer, where: str) -> bytes:
        url = answer.url
        if answer.status != 200:
            raise SourceError(f"{url}: HTTP {answer.status}")
        if looks_like_html(answer.body, answer.content_type):
            raise SourceError(f"{url}: an HTML page instead of a chart")
        if not answer.body.strip():
            raise SourceError(f"{url}: empty answer")
        if self.settings.http_format == "json":
            return json_to_csv(answer.body, f"{url} ({where})")
        return answer.body


@dataclass
class _Answer:
    url: str
    status: int
    content_type: str
    body: bytes = b""


def name_market_date(name: str) -> tuple[str | None, date | None, str | None]:
    """Market, date and kind from a chart file name, when the name tells them."""
    if match := _NAME_DAILY.search(name):
        return match[1], date.fromisoformat(match[3]), match[2]
    if match := _NAME_WEEKLY.search(name):
        return match[2], date.fromisoformat(match[1]), "weekly"
    return None, None, None


class FolderSource:
    """Charts that people or other jobs drop into ``settings.drop_folder``.

    Every ``.csv`` file, and every charts API ``.json`` file named like a chart
    (``regional-<cc>-daily-<date>.json``), is copied into the archive (JSON converted to CSV)
    unless the archive already holds the same bytes; other files and the drop folder itself
    are left as they are. ``wanted`` is ignored: whatever was dropped is taken."""

    name = "folder"

    def __init__(self, settings: Settings) -> None:
        if settings.drop_folder is None:
            raise ConfigError("source 'folder' needs DOTIFY_DROP_FOLDER (settings.drop_folder)")
        self.folder = settings.drop_folder
        self.settings = settings

    def markets(self, stored: list[str]) -> list[str]:
        return self.settings.markets or []

    def newest(self, last: dict[str, date]) -> date:
        return datetime.now(UTC).date()

    def pull(self, wanted: Wanted, archive: Path, kind: str) -> list[Pull]:
        if not self.folder.is_dir():
            raise SourceError(f"drop folder {self.folder} does not exist")
        files = sorted(p for p in self.folder.rglob("*")
                       if p.is_file() and p.suffix.lower() in (".csv", ".json"))
        return [pull for path in files if (pull := self._take(path, archive)) is not None]

    def _take(self, path: Path, archive: Path) -> Pull | None:
        market, day, _ = name_market_date(path.name)
        if path.suffix.lower() == ".json" and market is None:
            log.debug("drop folder: %s is not named like a chart; left alone", path)
            return None  # a charts API answer does not say its market: the name must
        try:
            data = path.read_bytes()
            if path.suffix.lower() == ".json":
                data = json_to_csv(data, str(path))
        except (OSError, SourceError) as exc:
            return Pull(market, day, "failed", error=str(exc))
        target_name = path.with_suffix(".csv").name
        target = (archive / market / target_name if market
                  else archive / "_drop" / path.relative_to(self.folder).with_suffix(".csv"))
        if target.exists() and target.read_bytes() == data:
            return None
        write_atomic(target, data)
        return Pull(market, day, "ok", path=target)


class SimulatorSource:
    """The embedded simulator's next days: offline, deterministic per (seed, market, date).

    The seed and markets come from ``simulator_dir/ground_truth.json`` when ``dotify simulate``
    wrote one there, else seed 0 and the simulator's default markets. Its clock runs one
    simulated day per run: ``newest`` is the day after the newest stored chart (or the
    simulator's start plus ``backfill_days`` on an empty store)."""

    name = "simulator"

    def __init__(self, settings: Settings, days_per_run: int = 1) -> None:
        from dotify.charts.sim.simulate import Simulator

        self.settings = settings
        self.days_per_run = days_per_run
        seed, markets, start, real_starts = _simulated(settings.simulator_dir)
        markets = settings.markets or markets
        kwargs: dict[str, Any] = {"seed": seed, "markets": markets, "real_starts": real_starts}
        if start is not None:
            kwargs["start"] = start
        self.simulator = Simulator(**kwargs)

    def markets(self, stored: list[str]) -> list[str]:
        return list(self.simulator.markets)

    def newest(self, last: dict[str, date]) -> date:
        if not last:
            return self.simulator.start + timedelta(days=self.settings.backfill_days - 1)
        return max(last.values()) + timedelta(days=self.days_per_run)

    def pull(self, wanted: Wanted, archive: Path, kind: str) -> list[Pull]:
        pulls = []
        for market, days in wanted.items():
            first = self.simulator.first_day(market)  # no chart before a market's start
            for day in days:
                if first is None or day >= first:
                    pulls.append(self._pull_one(market, day, archive, kind))
        return pulls

    def _pull_one(self, market: str, day: date, archive: Path, kind: str) -> Pull:
        if kind != "daily":
            return Pull(market, day, "failed", error="the simulator writes daily charts only")
        try:
            data = self.simulator.chart_csv(market, day)
        except (ValueError, KeyError) as exc:
            return Pull(market, day, "failed", error=f"simulator: {exc}")
        path = archive_path(archive, market, day, kind)
        write_atomic(path, data)
        return Pull(market, day, "ok", path=path)


def _simulated(folder: Path) -> tuple[int, list[str] | None, date | None, bool]:
    """Seed, markets, start and whether markets chart from their real start, as recorded by
    ``dotify simulate`` in ``folder``, if any."""
    truth = folder / "ground_truth.json"
    if not truth.exists():
        return 0, None, None, False
    try:
        data = _truth_header(truth)
    except (OSError, ValueError) as exc:
        raise SourceError(f"{truth}: cannot be read ({exc})") from exc
    start = data.get("start")
    return (int(data.get("seed", 0)), sorted(data.get("markets", {})) or None,
            date.fromisoformat(start) if start else None, bool(data.get("real_starts")))


def _truth_header(truth: Path) -> dict[str, Any]:
    """The ground truth's fields before its song table, which the simulator writes last and
    which is large (a hundred MB for ten years of charts); the whole file when the head
    does not parse alone."""
    with truth.open("rb") as file:
        head = file.read(1 << 20)
    cut = head.find(b', "songs": ')
    if cut > 0:
        try:
            return dict(json.loads(head[:cut] + b"}"))
        except ValueError:
            pass
    return dict(json.loads(truth.read_bytes()))


def make_source(settings: Settings) -> Source:
    """The source named by ``settings.source``: simulator, http or folder."""
    sources: dict[str, type] = {"simulator": SimulatorSource, "http": HttpSource,
                                "folder": FolderSource}
    if settings.source not in sources:
        raise ConfigError(f"unknown source {settings.source!r}; choose one of "
                          f"{', '.join(sources)}")
    source: Source = sources[settings.source](settings)
    return source


def ok_paths(pulls: Iterable[Pull]) -> list[Path]:
    return [p.path for p in pulls if p.status == "ok" and p.path is not None]
