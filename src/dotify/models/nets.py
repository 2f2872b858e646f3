"""The seed's five neural networks on the IMF objective, in PyTorch, and a ranking network.

Every network embeds countries and songs in R^f (those embeddings are the model's
``country_factors`` and ``song_factors``) and is trained on every (country, song) pair with
``mean(c (p - y)^2) + lambda (|U|^2 + |V|^2)``, c = 1 + alpha r, p = [r > 0]:

1. the dot product of the two embeddings;            2. net 1 plus a bias per country and song;
3. the concatenated embeddings through a small MLP (Dense 10, dropout, batch norm) plus biases;
4. net 2 and the song title (words -> LSTM(f) -> Dense(1, ReLU)), joined by a final Dense(1);
5. net 4 plus the first artist's embedding through Dense(1, ReLU) in that final Dense(1).

Songs with no rating in the training matrix are not trained on; afterwards their id
embedding and bias are set to the mean over trained songs, so nets 4 and 5 rank such
(cold) songs by title and artist alone.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Self, TypeGuard

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from dotify.errors import ModelError
from dotify.learn.ratings import Ratings
from dotify.models._torch_data import (
    all_threads,
    dense_ratings,
    embedding,
    imf_loss,
    keras_init,
    pair_batches,
    pick_device,
    seeded,
    torch_threads,
)
from dotify.models.base import Dimension, Recommender
from dotify.models.titles import TitleEncoder, artist_ids, build_vocab, encode_titles

log = logging.getLogger("dotify")

_SCORE_PAIRS = 1 << 17  # pairs per forward pass when scoring


class _IdNet(nn.Module):
    """Country and song embeddings (and optional scalar biases) with their dot product."""

    def __init__(self, n_countries: int, n_songs: int, factors: int, biases: bool) -> None:
        super().__init__()
        self.country = embedding(n_countries, factors)
        self.song = embedding(n_songs, factors)
        self.country_bias = embedding(n_countries, 1) if biases else None
        self.song_bias = embedding(n_songs, 1) if biases else None

    def dot(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        out = (self.country(rows) * self.song(cols)).sum(1)
        return out + self.biases(rows, cols)

    def biases(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        if self.country_bias is None or self.song_bias is None:
            return torch.zeros(len(rows), device=rows.device)
        return self.country_bias(rows)[:, 0] + self.song_bias(cols)[:, 0]

    def forward(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        return self.dot(rows, cols)

    def table(self, rows: torch.Tensor, songs: torch.Tensor) -> torch.Tensor:
        """Outputs for every rows x songs pair, shape (len(rows), len(songs))."""
        out = self.country(rows) @ self.song(songs).T
        if self.country_bias is not None and self.song_bias is not None:
            out = out + self.country_bias(rows) + self.song_bias(songs).T
        return out

    def penalty(self) -> torch.Tensor:
        """Sum of squares of both embedding matrices (Keras' l2 embeddings_regularizer)."""
        return self.country.weight.pow(2).sum() + self.song.weight.pow(2).sum()

    @torch.no_grad()
    def fill_unseen(self, seen: torch.Tensor) -> None:
        """Give songs never trained on the mean embedding and bias of the trained ones."""
        if bool(seen.all()) or not bool(seen.any()):
            return
        for emb in (self.song, self.song_bias):
            if emb is not None:
                emb.weight[~seen] = emb.weight[seen].mean(0)


class _MLPNet(_IdNet):
    """Net 3: [u, v] -> Dense(10, ReLU), Dropout(0.5), BN, 2 x (Dense(10, ReLU), BN), Dense(1)."""

    def __init__(self, n_countries: int, n_songs: int, factors: int) -> None:
        super().__init__(n_countries, n_songs, factors, biases=True)
        self.mlp = nn.Sequential(
            nn.Linear(2 * factors, 10), nn.ReLU(), nn.Dropout(0.5), nn.BatchNorm1d(10),
            nn.Linear(10, 10), nn.ReLU(), nn.BatchNorm1d(10),
            nn.Linear(10, 10), nn.ReLU(), nn.BatchNorm1d(10),
            nn.Linear(10, 1),
        )
        keras_init(self)

    def forward(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        joined = torch.cat([self.country(rows), self.song(cols)], 1)
        return self.mlp(joined)[:, 0] + self.biases(rows, cols)

    def table(self, rows: torch.Tensor, songs: torch.Tensor) -> torch.Tensor:
        pairs = self(rows.repeat(len(songs)), songs.repeat_interleave(len(rows)))
        return pairs.view(len(songs), len(rows)).T


class _TitleNet(_IdNet):
    """Nets 4 and 5: net 2's output, a title scalar (and an artist scalar) -> Dense(1)."""

    def __init__(self, n_countries: int, n_songs: int, factors: int, tokens: np.ndarray,
                 n_words: int, artists: np.ndarray | None, n_artists: int,
                 id_dropout: float = 0.0) -> None:
        super().__init__(n_countries, n_songs, factors, biases=True)
        self.id_dropout = id_dropout
        self.encoder = TitleEncoder(factors, tokens, n_words, artists, n_artists)
        self.combine = nn.Linear(2 if artists is None else 3, 1)
        self.encoder.init_like_keras()
        keras_init(self.combine)
        with torch.no_grad():  # start as net 2 plus the parts; a negative random start
            self.combine.weight.fill_(0.5)  # weight drives its ReLU part dead for good
            self.combine.weight[0, 0] = 1.0

    def forward(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        # a title's encoding depends on the song alone: run the LSTM once per distinct song
        distinct, inverse = torch.unique(cols, return_inverse=True)
        per_song = self.encoder(distinct)[inverse]
        if self.training and self.id_dropout > 0:
            dot = self._dot_dropping_ids(rows, cols, distinct, inverse)
        else:
            dot = self.dot(rows, cols)
        return self.combine(torch.cat([dot[:, None], per_song], 1))[:, 0]

    def _dot_dropping_ids(self, rows: torch.Tensor, cols: torch.Tensor, distinct: torch.Tensor,
                          inverse: torch.Tensor) -> torch.Tensor:
        """Net 2's output with a share ``id_dropout`` of the batch's songs given the mean song
        vector and bias, as untrained (cold) songs get: the title and artist parts must then
        carry those songs (dropout on ids, as in DropoutNet, Volkovs et al. 2017)."""
        assert self.song_bias is not None and self.country_bias is not None
        drop = (torch.rand(len(distinct), device=cols.device) < self.id_dropout)[inverse]
        vectors = torch.where(drop[:, None], self.song.weight.mean(0).detach(), self.song(cols))
        bias = torch.where(drop, self.song_bias.weight.mean().detach(), self.song_bias(cols)[:, 0])
        return (self.country(rows) * vectors).sum(1) + self.country_bias(rows)[:, 0] + bias

    def table(self, rows: torch.Tensor, songs: torch.Tensor) -> torch.Tensor:
        weight = self.combine.weight[0]  # the final Dense(1), applied to a whole table
        per_song = self.encoder(songs) @ weight[1:] + self.combine.bias
        return weight[0] * super().table(rows, songs) + per_song[None, :]


class _TorchNet(Recommender):
    """Training, scoring and saving shared by the networks (see the module docstring)."""

    defaults: ClassVar[dict[str, Any]] = {
        "factors": 30, "alpha": 10.0, "regularization": 1e-6, "lr": 1e-3, "batch_size": 1024,
        "epochs": 5, "random_state": 0, "device": None, "threads": None,
    }
    by_song: ClassVar[bool] = False  # batches of whole songs (for per-song encoders)
    full_batch: ClassVar[bool] = False  # one step over every pair: torch's threads by default
    search_space: ClassVar[dict[str, Dimension]] = {
        "factors": Dimension(8, 64, integer=True), "alpha": Dimension(0.1, 100.0),
        "regularization": Dimension(1e-8, 1e-3), "lr": Dimension(1e-4, 1e-2),
        "epochs": Dimension(2, 20, log=False, integer=True),
    }

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ValueError(f"{self.kind}: unknown parameter(s) {', '.join(unknown)}; "
                             f"allowed: {', '.join(self.defaults)}")
        super().__init__(**{**self.defaults, **params})
        _check_params(self.kind, self.params)
        self.module: _IdNet | None = None
        self.extras: dict[str, np.ndarray] = {}  # arrays the module is built from

    # -- what each network adds -------------------------------------------------------------
    def _prepare(self, train: Ratings, seen: np.ndarray) -> None:
        """Fill ``self.extras`` from the training data (titles, artists)."""

    def _build(self, n_countries: int, n_songs: int) -> _IdNet:
        raise NotImplementedError

    # -- training --------------------------------------------------------------------------
    def fit(self, train: Ratings, validation: Ratings | None = None) -> Self:
        device = pick_device(self.params["device"])
        self.history = []
        seen = np.asarray(train.matrix.getnnz(axis=0) > 0)
        threads = torch_threads(self.params["threads"], self._threads())
        with threads, seeded(self.params["random_state"], device) as gen:
            self._prepare(train, seen)
            module = self._build(*train.shape).to(device)
            self._train(module, train, validation, seen, gen)
            module.fill_unseen(torch.as_tensor(seen, device=device))
        self.module = module.eval()
        self._export()
        self.check_finite()
        return self

    def _train(self, module: _IdNet, train: Ratings, validation: Ratings | None,
               seen: np.ndarray, gen: torch.Generator) -> None:
        p = self.params
        device = module.country.weight.device
        ratings = dense_ratings(train.matrix, device)
        songs = torch.as_tensor(np.flatnonzero(seen))
        opt = torch.optim.Adam(module.parameters(), lr=p["lr"])
        for epoch in range(p["epochs"]):
            module.train()
            total, n = torch.zeros((), device=device), 0
            for rows, cols in pair_batches(train.shape[0], songs, p["batch_size"], gen,
                                           self.by_song):
                if len(rows) < 2:  # batch norm needs two; at most one pair per epoch
                    continue
                rows, cols = rows.to(device), cols.to(device)
                error = imf_loss(module(rows, cols), ratings[rows, cols], p["alpha"])
                loss = error + p["regularization"] * module.penalty()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += error.detach() * len(rows)
                n += len(rows)
            self.history.append({"epoch": epoch + 1, "loss": float(total) / max(n, 1)})
            log.debug("%s epoch %d: loss %.5f", self.kind, epoch + 1, self.history[-1]["loss"])

    def _threads(self) -> int:
        """The threads when ``threads`` is None: one for mini-batches, torch's own count for
        a full batch (the same weights either way; only the time differs)."""
        return all_threads() if self.full_batch else 1

    def _export(self) -> None:
        module = self._require()
        self.country_factors = module.country.weight.detach().cpu().numpy().copy()
        self.song_factors = module.song.weight.detach().cpu().numpy().copy()

    def _require(self) -> _IdNet:
        if self.module is None:
            raise ModelError(f"{self.kind} is not trained: call fit() or load a saved model")
        return self.module

    # -- scoring ---------------------------------------------------------------------------
    def score(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The full network output, float32 (len(rows), n_songs); all countries if None."""
        module = self._require().eval()
        device = module.country.weight.device
        n_rows, n_songs = self.country_factors.shape[0], self.song_factors.shape[0]
        index = np.arange(n_rows) if rows is None else np.atleast_1d(np.asarray(rows))
        rows_t = torch.as_tensor(index, dtype=torch.int64, device=device)
        out = np.empty((len(index), n_songs), np.float32)
        per = max(1, _SCORE_PAIRS // max(1, len(index)))
        with torch.no_grad(), torch_threads(self.params["threads"], self._threads()):
            for start in range(0, n_songs, per):
                block = torch.arange(start, min(start + per, n_songs), device=device)
                out[:, start:start + len(block)] = module.table(rows_t, block).cpu().numpy()
        return out

    # -- saving ----------------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        module = self._require()
        # the factors and the token and artist ids are saved as arrays of their own
        skip = {"country.weight", "song.weight", "encoder.tokens", "encoder.artists"}
        weights = {"w." + k: v.detach().cpu().numpy() for k, v in module.state_dict().items()
                   if k not in skip}
        return {**self.extras, **weights}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.extras = {k: v for k, v in arrays.items() if not k.startswith("w.")}
        module = self._build(self.country_factors.shape[0], self.song_factors.shape[0])
        weights = module.state_dict()
        weights |= {k[2:]: torch.as_tensor(v) for k, v in arrays.items() if k.startswith("w.")}
        weights["country.weight"] = torch.as_tensor(self.country_factors)
        weights["song.weight"] = torch.as_tensor(self.song_factors)
        module.load_state_dict(weights)
        self.module = module.eval()


class Net1(_TorchNet):
    """Network 1: the dot product of a country and a song embedding."""

    kind = "net1"

    def _build(self, n_countries: int, n_songs: int) -> _IdNet:
        return _IdNet(n_countries, n_songs, self.params["factors"], biases=False)


class Net2(_TorchNet):
    """Network 2: network 1 plus a scalar bias per country and per song."""

    kind = "net2"

    def _build(self, n_countries: int, n_songs: int) -> _IdNet:
        return _IdNet(n_countries, n_songs, self.params["factors"], biases=True)


class Net3(_TorchNet):
    """Network 3: the concatenated embeddings through a small MLP, plus the biases."""

    kind = "net3"

    def _build(self, n_countries: int, n_songs: int) -> _IdNet:
        return _MLPNet(n_countries, n_songs, self.params["factors"])


class Net4(_TorchNet):
    """Network 4: network 2 plus an LSTM over the song title."""

    kind = "net4"
    defaults = {**_TorchNet.defaults, "vocab_size": 5000, "max_title_len": 16,
                "id_dropout": 0.0}
    by_song = True
    with_artists: ClassVar[bool] = False

    def _prepare(self, train: Ratings, seen: np.ndarray) -> None:
        titles = train.songs.titles
        vocab = build_vocab(titles[seen], self.params["vocab_size"])
        self.extras = {"vocab": vocab,
                       "title_tokens": encode_titles(titles, vocab, self.params["max_title_len"])}
        if self.with_artists:  # artists of untrained songs only get the "unknown" id 0
            _, names = artist_ids(train.songs.artists[seen])
            ids, _ = artist_ids(train.songs.artists, names)
            self.extras |= {"artist_names": names, "artist_ids": ids}

    def _build(self, n_countries: int, n_songs: int) -> _IdNet:
        x = self.extras
        artists = x["artist_ids"] if self.with_artists else None
        n_artists = len(x["artist_names"]) if self.with_artists else 0
        return _TitleNet(n_countries, n_songs, self.params["factors"], x["title_tokens"],
                         len(x["vocab"]) + 2, artists, n_artists, self.params["id_dropout"])


class Net5(Net4):
    """Network 5: network 4 plus an embedding of the song's first artist."""

    kind = "net5"
    with_artists = True


def _check_params(kind: str, p: dict[str, Any]) -> None:
    positive_ints = ("factors", "batch_size", "epochs", "vocab_size", "max_title_len",
                     "patience", "eval_every")
    for name in positive_ints:
        if name in p and (not isinstance(p[name], int) or p[name] < 1):
            raise ValueError(f"{kind}: {name} must be an integer >= 1, not {p[name]!r}")
    for name in ("alpha", "regularization"):
        if name in p and not (isinstance(p[name], (int, float)) and p[name] >= 0):
            raise ValueError(f"{kind}: {name} must be a number >= 0, not {p[name]!r}")
    if not (isinstance(p["lr"], (int, float)) and p["lr"] > 0):
        raise ValueError(f"{kind}: lr must be a number > 0, not {p['lr']!r}")
    for name in ("id_dropout", "validation_fraction"):
        if name in p and not (isinstance(p[name], (int, float)) and 0 <= p[name] < 1):
            raise ValueError(f"{kind}: {name} must be in [0, 1), not {p[name]!r}")
    if p["device"] is not None and not isinstance(p["device"], str):
        raise ValueError(f"{kind}: device must be a string such as 'cpu' or 'cuda', "
                         f"not {p['device']!r}")
    if p["random_state"] is not None and not isinstance(p["random_state"], int):
        raise ValueError(f"{kind}: random_state must be an int or None (saved as JSON), "
                         f"not {p['random_state']!r}")


class RankingNet(Net2):
    """Network 2 trained to rank: a full softmax over songs per country (a multinomial
    likelihood of each country's ratings), started from a truncated SVD of the ratings, and
    stopped early on validation EPR (Hu et al. 2008, section 6).

    Without ``validation``, ``validation_fraction`` of the training ratings is held out to
    find the number of epochs, and the network is then retrained on all of them; with a
    ``validation_fraction`` of 0 it trains ``epochs`` epochs on all of them, as a refit on
    all the ratings does with the epochs its fit on the split chose. (The kind
    keeps the registry's name "bpr-net"; a softmax over every song is cheap at 55 x 10^4, so
    no pairs or negatives are sampled.) An epoch is one full-batch step; ``epochs`` is the
    most it may take. Such a step is big enough to share between cores: ``threads`` None
    means torch's own count (one per physical core), not one.
    """

    kind = "bpr-net"
    full_batch = True
    # factors, regularization and lr: the best of 20 TPE trials on the real 2019-2021 weekly
    # charts (validation EPR 0.101 against 0.107 for 32, 1e-4, 0.02), better on two other
    # split seeds, on the window from 2020-11-01 (0.103 against 0.125) and on simulated charts
    defaults = {**_TorchNet.defaults, "factors": 56, "regularization": 3e-5, "lr": 0.006,
                "epochs": 400, "patience": 8, "eval_every": 5, "validation_fraction": 0.1}
    search_space = {"factors": Dimension(8, 64, integer=True),  # epochs: stopped early
                    "regularization": Dimension(1e-6, 1e-2), "lr": Dimension(3e-3, 0.1)}

    def _train(self, module: _IdNet, train: Ratings, validation: Ratings | None,
               seen: np.ndarray, gen: torch.Generator) -> None:
        if validation is not None:
            self._run(module, train, validation, seen, self.params["epochs"])
            return
        from dotify.learn.splits import seed_split

        best = self.params["epochs"]
        if not self.params["validation_fraction"] > 0:  # the epochs are given: train them
            self._run(module, train, None, seen, best)
            return
        inner, held = seed_split(train, self.params["validation_fraction"], min_songs=10,
                                 random_state=int(torch.randint(2**31, (1,), generator=gen)))
        if held.nnz:  # else too few ratings per country to hold any out: train them all
            probe = self._build(*train.shape).to(module.country.weight.device)
            best = self._run(probe, inner, held, np.asarray(inner.matrix.getnnz(axis=0) > 0),
                             best)
        self.history.append({"epoch": 0, "chosen_epochs": float(best)})
        self._run(module, train, None, seen, best)

    def chosen(self) -> dict[str, Any]:
        """The epochs this fit stopped at, when it searched them."""
        epochs = [int(h["chosen_epochs"]) for h in self.history if "chosen_epochs" in h]
        return {"epochs": epochs[-1]} if epochs else {}

    @classmethod
    def reusing(cls, given: dict[str, Any], chosen: dict[str, Any]) -> dict[str, Any]:
        """``given`` training the chosen epochs with no held-out part, instead of searching
        them again; ``given`` when there are none, or more than a search may take."""
        epochs, most = chosen.get("epochs"), {**cls.defaults, **given}["epochs"]
        if not (_whole(epochs) and _whole(most) and 1 <= epochs <= most):
            return given
        return {**given, "epochs": epochs, "validation_fraction": 0.0}

    def _run(self, module: _IdNet, train: Ratings, validation: Ratings | None,
             seen: np.ndarray, epochs: int) -> int:
        """Full-batch Adam for up to ``epochs``; with validation, keep the best weights.
        Returns the best epoch (``epochs`` without validation)."""
        from dotify.learn.evaluation import epr_from_scores

        p, device = self.params, module.country.weight.device
        _svd_init(module, train, p["factors"])
        weights = dense_ratings(train.matrix, device)[:, torch.as_tensor(np.flatnonzero(seen))]
        songs = torch.as_tensor(np.flatnonzero(seen), device=device)
        rows = torch.arange(train.shape[0], device=device)
        opt = torch.optim.Adam(module.parameters(), lr=p["lr"])
        best = (np.inf, epochs, {k: v.clone() for k, v in module.state_dict().items()})
        for epoch in range(1, epochs + 1):
            log_p = torch.log_softmax(module.table(rows, songs), dim=1)
            loss = -(weights * log_p).sum() / weights.sum()
            opt.zero_grad(set_to_none=True)
            (loss + p["regularization"] * module.penalty()).backward()
            opt.step()
            if validation is None or epoch % p["eval_every"]:
                continue
            with torch.no_grad():
                module.fill_unseen(torch.as_tensor(seen, device=device))
                scores = module.table(rows, torch.arange(train.shape[1], device=device))
            epr = epr_from_scores(scores.cpu().numpy(), validation.matrix)
            self.history.append({"epoch": epoch, "loss": float(loss.detach()),
                                 "validation_epr": epr})
            if epr < best[0]:
                best = (epr, epoch, {k: v.clone() for k, v in module.state_dict().items()})
            elif epoch - best[1] >= p["patience"] * p["eval_every"]:
                break
        if validation is not None:
            module.load_state_dict(best[2])
        return best[1]


def _whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _svd_init(module: _IdNet, train: Ratings, factors: int) -> None:
    """Start the embeddings at the rank-``factors`` SVD of the ratings: U sqrt(S), V sqrt(S)."""
    u, s, v = thin_svd(train.matrix)
    k = min(factors, len(s))
    with torch.no_grad():
        root = np.sqrt(s[:k])
        module.country.weight[:, :k] = torch.as_tensor(u[:, :k] * root, dtype=torch.float32)
        module.song.weight[:, :k] = torch.as_tensor(v[:, :k] * root, dtype=torch.float32)


def thin_svd(matrix: sp.spmatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``U, s, V`` of a countries x songs matrix (``matrix = U diag(s) V.T``, ``s``
    descending), through the small countries x countries Gram matrix: its eigenvectors are
    U and ``V = matrix.T U / s``. LAPACK's SVD of the dense 55 x 30,000 matrix takes about a
    second, this a few milliseconds. Directions whose singular value is below 1e-6 of the
    largest (lost in the Gram matrix's precision) get zero singular values and vectors."""
    sparse = sp.csr_matrix(matrix, dtype=np.float64)
    if sparse.shape[0] > sparse.shape[1]:  # a wide matrix is the case this is for
        u, s, vt = np.linalg.svd(sparse.toarray(), full_matrices=False)
        return u, s, vt.T
    values, u = np.linalg.eigh((sparse @ sparse.T).toarray())
    order = np.argsort(values)[::-1]
    values, u = values[order], u[:, order]
    s = np.sqrt(np.clip(values, 0.0, None))
    kept = s > 1e-6 * (s[0] if len(s) else 0.0)
    s = np.where(kept, s, 0.0)
    v = np.asarray(sparse.T @ u) / np.where(kept, s, 1.0)
    v[:, ~kept] = 0.0
    return u, s, v
