"""One song per recording: the track ids of one recording merged into one ratings column.

Spotify gives one recording several track ids: explicit and clean versions, re-issues,
regional ids, a "(feat. ...)" written or not. :func:`recording_key` names the recording (its
normalised title and main artist) and :func:`merge_recordings` sums the columns that share
one, so a song is counted once in the ratings and appears once in any answer. Remixes, live
and acoustic versions keep their own key: they are other recordings.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from dotify.learn.ratings import IDS_SEPARATOR, Ratings, Songs, _song_dates, scale

# what only tells the version of one recording: featured artists, explicit/clean, remasters
# and single/album/radio cuts, in brackets or after " - " at the end of the title
_VERSION = (r"(?:feat\.?|ft\.?|featuring|with)\s[^)\]]*|explicit|clean"
            r"|(?:\d{4}\s+)?remaster(?:ed)?(?:\s[^)\]]*)?"
            r"|radio\s+edit|single\s+version|album\s+version")
_BRACKETED = re.compile(rf"[(\[]\s*(?:{_VERSION})\s*[)\]]")
_TRAILING = re.compile(r"\s-\s+(?:(?:\d{4}\s+)?remaster(?:ed)?\b.*|explicit|clean"
                       r"|radio\s+edit|single\s+version|album\s+version)\s*$")
_ARTIST_SPLIT = re.compile(r",\s|\s(?:feat\.?|ft\.?|&|x)\s")
_NON_WORD = re.compile(r"[\W_]+")


def _fold(text: str) -> str:
    """Case-folded, without accents (NFKD, combining marks dropped)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> str:
    return _NON_WORD.sub(" ", text).strip()


def recording_key(title: str, artists: str) -> str:
    """The name of the recording a track id belongs to: ``"<title>|<main artist>"``.

    Parameters
    ----------
    title : the chart's track name, e.g. ``"Dame (feat. X) - 2011 Remaster"``.
    artists : the chart's artists, e.g. ``"100RY, X"``; the first is the main artist.

    Returns
    -------
    str : case-folded, accents dropped, version marks removed (featured artists, explicit and
    clean, remasters, radio edit, single and album version), non-word characters collapsed
    to single spaces. Remix, live and acoustic versions keep their words, so their own key.

    Examples
    --------
    >>> recording_key("Dame (Explicit)", "100ry") == recording_key("Dame", "100RY")
    True
    >>> recording_key("Dame - Remix", "100RY")
    'dame remix|100ry'
    """
    folded = _fold(title)
    stripped = _words(_TRAILING.sub("", _BRACKETED.sub(" ", folded)))
    main = _ARTIST_SPLIT.split(_fold(artists), maxsplit=1)[0]
    return f"{stripped or _words(folded)}|{_words(main)}"


def merge_recordings(ratings: Ratings) -> Ratings:
    """``ratings`` with the columns of one recording (same :func:`recording_key`) merged.

    Raw streams are summed and scaled again with ``ratings.info``'s scaling and eps; a merged
    song keeps the metadata (key, title, artists, url) of its most-streamed id, its summed
    streams, the earliest first and latest last chart day, and all its ids in ``songs.ids``
    (the representative first). Columns stay sorted by key. ``info["recordings"]`` counts the
    track ids and the songs. When nothing merges, ``ratings`` itself is returned.

    Raises ``ValueError`` when ``ratings.raw`` is missing (scaled values do not add up).
    """
    songs = ratings.songs
    names = np.array([recording_key(t, a) for t, a in zip(songs.titles, songs.artists,
                                                            strict=True)], dtype=str)
    _, group = np.unique(names, return_inverse=True)
    group = group.ravel()
    n_groups = int(group.max()) + 1 if len(group) else 0
    if n_groups == len(songs):
        return ratings
    if ratings.raw is None:
        raise ValueError("merging recordings needs the raw streams (Ratings.raw); build the "
                         "ratings with learn.ratings.from_totals or from_store")
    # within a group: most streams first, then the smallest key, so the choice is stable
    by_rank = np.lexsort((songs.keys, -songs.streams, group))
    firsts = by_rank[np.r_[True, group[by_rank][1:] != group[by_rank][:-1]]]
    order = np.argsort(songs.keys[firsts], kind="stable")
    representative = firsts[order]
    new_col = np.empty(n_groups, dtype=np.int64)
    new_col[group[representative]] = np.arange(n_groups)
    col_of = new_col[group]
    fold = sp.csr_matrix((np.ones(len(songs)), (np.arange(len(songs)), col_of)),
                         shape=(len(songs), n_groups))
    raw = sp.csr_matrix(ratings.raw @ fold)
    raw.sort_indices()
    matrix = raw.astype(np.float32)
    matrix.data = scale(raw.data, ratings.info.get("scaling", "log"),
                        ratings.info.get("eps", 1000.0))
    matrix.eliminate_zeros()
    streams = np.zeros(n_groups, dtype=np.int64)
    np.add.at(streams, col_of, songs.streams.astype(np.int64))
    merged = replace(songs.take(representative), streams=streams,
                     ids=_ids(songs, col_of, by_rank, n_groups))
    info = {**ratings.info, "recordings": {"track_ids": len(songs), "songs": n_groups}}
    dates = ratings.song_dates
    return Ratings(matrix, ratings.countries, merged, raw, info,
                   None if dates is None else _song_dates(*dates, col_of, n_groups))


def _ids(songs: Songs, col_of: np.ndarray, by_rank: np.ndarray, n_groups: int) -> np.ndarray:
    """Per merged column, every store key of the song (most streamed id first), joined by
    IDS_SEPARATOR."""
    old = songs.id_lists()
    keys: list[list[str]] = [[] for _ in range(n_groups)]
    for j in by_rank:
        keys[col_of[j]].extend(old[j])
    return np.array([IDS_SEPARATOR.join(k) for k in keys], dtype=str)
