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
import torch
from torch import nn

from dotify.models._torch_data import embedding, keras_init

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


class TitleEncoder(nn.Module):
    """Per song: its title's words -> LSTM(f) -> Dense(1, ReLU), and, with ``artists``, its
    first artist -> embedding -> Dense(1, ReLU). Output (len(songs), 1 or 2)."""

    tokens: torch.Tensor  # buffers: (n_songs, max_len) word ids, (n_songs,) artist ids
    artists: torch.Tensor

    def __init__(self, factors: int, tokens: np.ndarray, n_words: int,
                 artists: np.ndarray | None, n_artists: int) -> None:
        super().__init__()
        self.register_buffer("tokens", torch.as_tensor(tokens, dtype=torch.int64))
        self.words = embedding(n_words, factors, padding_idx=0)
        self.lstm = nn.LSTM(factors, factors, batch_first=True)
        self.title_out = nn.Linear(factors, 1)
        self.artist: nn.Embedding | None = None
        if artists is not None:
            self.register_buffer("artists", torch.as_tensor(artists, dtype=torch.int64))
            self.artist = embedding(n_artists, factors, padding_idx=0)
            self.artist_out = nn.Linear(factors, 1)

    def init_like_keras(self) -> None:
        """Keras' initialisers, then every song's part starts above 0: titles and artists
        look alike at first, so a ReLU part could start (and stay) dead for all songs."""
        keras_init(self)
        with torch.no_grad():
            for out in (self.title_out, getattr(self, "artist_out", None)):
                if out is not None:
                    out.bias.fill_(0.1)

    def forward(self, songs: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(self.words(self.tokens[songs]))
        parts = [torch.relu(self.title_out(hidden[-1]))]
        if self.artist is not None:
            parts.append(torch.relu(self.artist_out(self.artist(self.artists[songs]))))
        return torch.cat(parts, 1)
