"""The data half of the public API: a home, its charts, the ratings of a window, a split
(by song, by whole song or by date)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from dotify.config import Settings

if TYPE_CHECKING:
    from dotify.charts.ingest import IngestReport
    from dotify.charts.sim.simulate import SimulationSummary
    from dotify.learn.ratings import Ratings

class Split(NamedTuple):
    """The two parts of a split: ``train, validation = split``."""

    train: Ratings
    validation: Ratings


def open_home(home: str | Path | None = None, database: str | None = None) -> Settings:
    """Open a dotify home (the folder of all state) and its database, creating both.

    Parameters
    ----------
    home : str or Path, optional
        The folder; default ``DOTIFY_HOME`` or ``~/.dotify``.
    database : str, optional
        A SQLAlchemy URL such as ``postgresql+psycopg://user@host/db``; default
        ``DOTIFY_DATABASE_URL`` or SQLite ``dotify.db`` in the home.

    Returns
    -------
    Settings
        The home's settings (every other ``DOTIFY_*`` variable applies), to pass to the
        functions that read or write it.

    Raises
    ------
    StoreError
        When the database cannot be reached.

    Examples
    --------
    >>> home = dotify.open_home("~/dotify-notebook")
    >>> home.db_url.startswith("sqlite:///")
    True
    """
    from dotify.store.engine import opened

    overrides: dict[str, Any] = {}
    if home is not None:
        overrides["home"] = Path(home)
    if database is not None:
        overrides["database_url"] = database
    settings = Settings(**overrides)
    settings.ensure_dirs()
    with opened(settings):  # creates the schema, or says why the database is out of reach
        pass
    return settings


def simulate(out: str | Path, days: int = 365, markets: Iterable[str] | None = None,
             seed: int = 0, start: date | None = None) -> SimulationSummary:
    """Write simulated daily charts (the legacy CSV format) and their planted ground truth.

    Parameters
    ----------
    out : str or Path
        The folder to write into (``~`` is expanded); more days can be added later.
    days : int, default 365
        How many days, from ``start``.
    markets : iterable of str, optional
        Market codes or names; default the 55 markets of the real 2019-2021 weekly charts.
    seed : int, default 0
        Same seed, same charts.
    start : date, optional
        The first day; default 2020-01-01.

    Returns
    -------
    SimulationSummary
        ``files``, ``rows``, ``songs``, ``markets``, ``start``, ``end`` and ``ground_truth``
        (the path of ``ground_truth.json``).

    Examples
    --------
    >>> summary = dotify.simulate("~/charts", days=7, markets=["co", "tr", "de", "jp"])
    >>> summary.files
    28
    """
    from dotify.charts.sim.simulate import simulate as write_charts

    return write_charts(Path(out).expanduser(), days, markets, seed, start)


def ingest(home: Settings, *paths: str | Path, market: str | None = None,
           chart_date: date | None = None, kind: str | None = None,
           progress: Callable[[int, int, str], None] | None = None) -> IngestReport:
    """Read chart files, folders, globs or ``.tar.gz`` archives into the home's database.

    Parameters
    ----------
    home : Settings
        From :func:`open_home`.
    *paths : str or Path
        What to read (``~`` is expanded); the format of each file is told by its header.
    market, chart_date, kind : optional
        For files whose name does not say them (``kind``: "daily" or "weekly").
    progress : callable, optional
        Called with (bytes done, bytes in all, the file being read) as files are read.

    Returns
    -------
    IngestReport
        Counts of files and rows, the markets and dates, and ``errors`` (one per bad file,
        with its line and reason: a bad file adds nothing and does not stop the run).

    Examples
    --------
    >>> report = dotify.ingest(home, "~/charts")
    >>> report.files_failed
    0
    """
    from dotify.charts.ingest import ingest_paths
    from dotify.store.engine import opened

    with opened(home) as engine:
        return ingest_paths(engine, [Path(p).expanduser() for p in paths], market=market,
                            date=chart_date, kind=kind, progress=progress)


def read_ratings(home: Settings, start: date | None = None, end: date | None = None, *,
                 n_top_songs: int | None = None, chart_kind: str | None = None,
                 eps: float = 1000.0, scaling: str = "log", engine: str = "local",
                 since: date | None = None) -> Ratings:
    """The countries x songs ratings of the stored charts of a window.

    Streams are summed per (country, song) and scaled by ``log(1 + streams / eps)``;
    versions of one recording are one song.

    Parameters
    ----------
    home : Settings
        From :func:`open_home`.
    start, end : date, optional
        The first and last chart day (inclusive); default all.
    n_top_songs : int, optional
        Only the N most recent chart rows.
    chart_kind : {"daily", "weekly"}, optional
        Only these charts; default both.
    eps : float, default 1000
        The streams scale of the log.
    scaling : {"log", "written", "raw"}, default "log"
        ``written`` is the seed write-up's ``log((1 + r) / eps)`` clipped at 0.
    engine : {"local", "spark"}, default "local"
        ``local`` sums the streams in SQL (from the store's ratings aggregate when the
        window holds whole charts); ``spark`` in Spark on ``home.spark_master`` (needs
        ``dotify[spark]``), with the same result.
    since : date, optional
        Only the (country, song) pairs charted on or after this day, each with its streams
        since then (estimated from the ratings aggregate: its total spread evenly over its
        first to last chart day): what models learn by default (see :func:`active_since`).

    Returns
    -------
    Ratings
        ``matrix`` (CSR float32, countries x songs), ``countries``, ``songs`` (titles,
        artists, streams), ``raw`` (summed streams) and ``info`` (the window, ``eps``,
        ``scaling``, the first and last day, a fingerprint); ``to_pandas()``.

    Examples
    --------
    >>> ratings = dotify.read_ratings(home)
    >>> frame = ratings.to_pandas()
    >>> list(frame.columns)
    ['country', 'song', 'title', 'artists', 'rating', 'streams']
    """
    from dotify.learn.training import ratings_reader
    from dotify.learn.window import DataWindow

    window = DataWindow(start, end, n_top_songs, chart_kind, scaling, eps, since)
    with ratings_reader(home, engine) as read:
        return read(window)


def active_since(home: Settings, active_days: int | str | None = None, *,
                 end: date | None = None, chart_kind: str | None = None) -> date | None:
    """The first day of the charts a model learns from: models learn the (country, song)
    pairs charted in the last ``active_days`` days, so that their size follows the recent
    charts and not the history.

    Parameters
    ----------
    home : Settings
        From :func:`open_home`.
    active_days : int or "all", optional
        Days counted back from the newest stored chart (up to ``end``); default
        ``home.active_days`` (``DOTIFY_ACTIVE_DAYS``, 365); ``"all"``: every pair.
    end : date, optional
        The window's last day.
    chart_kind : {"daily", "weekly"}, optional
        Count from the newest chart of this kind.

    Returns
    -------
    date or None
        The ``since`` of :func:`read_ratings`; None for every pair (or an empty store).

    Examples
    --------
    >>> dotify.active_since(home, 7)  # the session's charts: 2020-01-01 to 2020-01-07
    datetime.date(2020, 1, 1)
    >>> from datetime import date
    >>> dotify.active_since(home, 3, end=date(2020, 1, 5))
    datetime.date(2020, 1, 3)
    >>> dotify.active_since(home, "all") is None
    True
    """
    from dotify.learn.window import DataWindow
    from dotify.store.engine import opened
    from dotify.store.totals import newest_day

    days = resolve_active_days(home, active_days)
    if days is None:
        return None
    with opened(home) as engine:
        newest = newest_day(engine, chart_kind)
    return DataWindow(end=end).active(days, newest).since


def resolve_active_days(home: Settings, active_days: int | str | None) -> int | None:
    """``active_days`` as a number of days, or None for every pair: None is the home's
    setting, ``"all"`` every pair, digits a number (checked where the days are counted,
    :meth:`dotify.learn.window.DataWindow.active`)."""
    if active_days is None:
        return home.active_days
    if not isinstance(active_days, str):
        return active_days
    text = active_days.strip().lower()
    if text == "all":
        return None
    if not text.isdecimal():
        raise ValueError(f"active days must be a number of days or 'all', not {active_days!r}")
    return int(text)


def split(ratings: Ratings, protocol: str = "seed", fraction: float = 0.2,
          min_songs: int = 50, seed: int = 0, *, before: date | None = None,
          home: Settings | None = None) -> Split:
    """Split ratings into a training and a validation part.

    Parameters
    ----------
    ratings : Ratings
        From :func:`read_ratings`.
    protocol : {"seed", "cold", "date"}, default "seed"
        ``seed``: hold out ``fraction`` of the songs of every country rating more than
        ``min_songs`` songs (the seed's protocol); ``cold``: hold out ``fraction`` of whole
        songs, never seen in training (cold start); ``date``: train on the charts of the
        ratings' window dated before ``before``, validate on the (country, song) pairs
        first charted on or after it, among the songs and countries known before it.
    fraction : float, default 0.2
        What is held out (seed and cold protocols).
    min_songs : int, default 50
        Countries with this many songs or fewer keep them all (seed protocol).
    seed : int, default 0
        Same seed, same split.
    before : date, optional
        The first day of the validation part (date protocol only, which needs it).
    home : Settings, optional
        Where ``ratings`` were read (date protocol only, which needs it): the split reads
        the charts of their window before and after ``before`` again, with their ``eps``
        and ``scaling``.

    Returns
    -------
    Split
        ``(train, validation)``. Seed and cold: disjoint, adding up to ``ratings``, with
        its id maps. Date: both with the id maps of the charts before ``before``, and the
        validation ratings scaled from the streams on or after it.

    Raises
    ------
    ModelError
        When the ratings are empty or nothing is held out.
    ValueError
        For a bad protocol, fraction or ``min_songs``, or a date protocol without
        ``before`` and ``home``.

    Examples
    --------
    >>> train, validation = dotify.split(ratings, seed=0)
    >>> train.nnz + validation.nnz == ratings.nnz
    True
    >>> from datetime import date
    >>> past, new = dotify.split(ratings, "date", before=date(2020, 1, 5), home=home)
    >>> past.info["last_date"]
    '2020-01-04'
    """
    from dotify.learn.splits import SplitSpec, load_split
    from dotify.learn.window import DataWindow
    from dotify.store.engine import opened

    spec = SplitSpec(protocol, fraction, min_songs, seed, before)
    if spec.protocol != "date":
        _, train, validation = load_split(lambda _window: ratings, DataWindow(), spec)
        return Split(train, validation)
    if home is None:
        raise ValueError("the date protocol reads the charts before and after the date again: "
                         "pass the home the ratings were read from (home=)")
    window = DataWindow.from_info(ratings.info.get("window")).replace(
        **{k: ratings.info[k] for k in ("eps", "scaling") if k in ratings.info})
    with opened(home) as engine:
        _, train, validation = load_split(engine, window, spec)
    return Split(train, validation)
