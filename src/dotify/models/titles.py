"""Song titles and artists as integer ids for the title and artist networks (nets 4 and 5).

A title is lower-cased and split into words; the ``vocab_size`` most frequent words get ids
2.. (0 pads, 1 stands for any other word), and each title becomes a row of ``max_len`` ids,
padded and truncated at the front so the last LSTM step sees the title's last word (the
Keras ``pad_sequences`` default the seed used).
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

PAD, OOV = 0, 1
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def words(title: str) -> list[str]:
    """Lower-cased words: ``"Don't Start Now (feat. X)"`` -> don't, start, now, feat, x."""
    return _WORD.findall(title.lower())


def build_vocab(titles: np.ndarray, vocab_size: int = 5000) -> np.ndarray:
    """The ``vocab_size`` most frequent words (ties by first appearance), as a str array."""
    if vocab_size < 1:
        raise ValueError(f"vocab_size must be >= 1, not {vocab_size}")
    counts = Counter(w for title in titles for w in words(str(title)))
    return np.asarray([w for w, _ in counts.most_common(vocab_size)], dtype=str)


def encode_titles(titles: np.ndarray, vocab: np.ndarray, max_len: int = 16) -> np.ndarray:
    """int64 ids of shape (len(titles), max_len): pre-padded with 0, unknown words as 1."""
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, not {max_len}")
    index = {str(w): i + 2 for i, w in enumerate(vocab)}
    out = np.full((len(titles), max_len), PAD, dtype=np.int64)
    for row, title in enumerate(titles):
        ids = [index.get(w, OOV) for w in words(str(title))][-max_len:]
        if ids:
            out[row, max_len - len(ids):] = ids
    return out


def first_artists(artists: np.ndarray) -> np.ndarray:
    """The first artist of each ", "-joined artist string (``"A, B"`` -> ``"A"``)."""
    return np.asarray([str(a).split(", ")[0].strip() for a in artists], dtype=str)


def artist_ids(
    artists: np.ndarray, names: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(ids, names): each song's first artist as an index into ``names`` (0 = unknown artist).

    ``names`` (a str array, entry 0 reserved) is built from ``artists`` when not given.
    """
    first = first_artists(artists)
    if names is None:
        names = np.asarray(["", *sorted(set(first) - {""})], dtype=str)
    index = {str(n): i for i, n in enumerate(names)}
    return np.asarray([index.get(a, 0) for a in first], dtype=np.int64), names
