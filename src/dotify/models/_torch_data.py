"""Torch plumbing shared by the networks: device, seeding, threads, and pair batches.

The networks train on every (country, song) pair of the ratings matrix, observed or not
(p = 0 where unobserved). Pairs are never materialised as a table: an epoch is a permutation
of flat indices ``k`` (or of song blocks), and a batch is ``(k // n_songs, k % n_songs)``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

EMBEDDING_INIT = 0.05  # Keras' default uniform embedding init, as the seed used
_TORCH_THREADS = torch.get_num_threads()  # torch's own count (one per physical core)


def pick_device(device: str | None) -> torch.device:
    """``device`` as given, else CUDA when present, else the CPU."""
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextlib.contextmanager
def torch_threads(threads: int | None, default: int = 1) -> Iterator[None]:
    """Run torch on ``threads`` CPU threads (``default`` when None), then restore the
    previous count.

    A batch of 1,024 pairs x 30 factors is too small to split: a second thread gains little
    when the cores are idle and costs many times over when they are busy
    (``bench/bench_nets.py`` measures both), so the mini-batch networks default to one. A
    full-batch step over every country x song pair is big enough to share (see
    :func:`all_threads`).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(threads or default)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def all_threads() -> int:
    """Torch's own thread count (one per physical core), within the cores this process may
    run on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return max(1, min(_TORCH_THREADS, usable))


@contextlib.contextmanager
def seeded(seed: int | None, device: torch.device) -> Iterator[torch.Generator]:
    """A torch Generator seeded with ``seed``; global torch seeding and, on the CPU,
    deterministic algorithms for the duration (restored afterwards)."""
    seed = int(np.random.SeedSequence(seed).generate_state(1)[0]) if seed is None else int(seed)
    torch.manual_seed(seed)
    before = torch.are_deterministic_algorithms_enabled()
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)
    try:
        yield torch.Generator().manual_seed(seed)
    finally:
        torch.use_deterministic_algorithms(before)


def dense_ratings(matrix: sp.spmatrix, device: torch.device) -> torch.Tensor:
    """The scaled ratings as a dense float32 (n_countries, n_songs) tensor on ``device``."""
    return torch.as_tensor(np.asarray(matrix.todense(), dtype=np.float32), device=device)


def pair_batches(
    n_rows: int, songs: torch.Tensor, batch_size: int, gen: torch.Generator, by_song: bool
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of (rows, cols) index batches covering every row x ``songs`` pair once.

    ``by_song``: each batch holds all rows of a few songs (about ``batch_size`` pairs), so a
    batch has few distinct songs and a per-song encoder (the title LSTM) runs once per song.
    """
    n_songs = len(songs)
    if by_song:
        per = max(1, batch_size // n_rows)
        order = songs[torch.randperm(n_songs, generator=gen)]
        rows = torch.arange(n_rows).repeat(per)
        for start in range(0, n_songs, per):
            block = order[start:start + per]
            yield rows[: len(block) * n_rows], block.repeat_interleave(n_rows)
        return
    flat = torch.randperm(n_rows * n_songs, generator=gen)
    for start in range(0, len(flat), batch_size):
        k = flat[start:start + batch_size]
        yield k // n_songs, songs[k % n_songs]


def imf_loss(pred: torch.Tensor, r: torch.Tensor, alpha: float) -> torch.Tensor:
    """The seed's weighted squared error ``mean(c (p - pred)^2)``, c = 1 + alpha r, p = [r > 0].

    ``pred`` and ``r`` are float tensors of the same shape (one entry per pair).
    (Hu, Koren & Volinsky 2008, eq. 3, without the L2 term.)
    """
    c = 1.0 + alpha * r
    p = (r > 0).to(pred.dtype)
    return (c * (p - pred) ** 2).mean()


def keras_init(module: nn.Module) -> None:
    """Dense layers as Keras starts them (Glorot-uniform weights, zero bias): a ReLU output
    of a torch-default negative bias can start, and stay, dead."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.LSTM):  # Keras: orthogonal recurrence, forget-gate bias 1
            weights = dict(layer.named_parameters())
            nn.init.xavier_uniform_(weights["weight_ih_l0"])
            nn.init.orthogonal_(weights["weight_hh_l0"])
            nn.init.zeros_(weights["bias_ih_l0"])
            nn.init.zeros_(weights["bias_hh_l0"])
            size = int(layer.hidden_size)
            with torch.no_grad():  # gate order: input, forget, cell, output
                weights["bias_ih_l0"][size:2 * size] = 1.0


def embedding(n: int, dim: int, padding_idx: int | None = None) -> nn.Embedding:
    emb = nn.Embedding(n, dim, padding_idx=padding_idx)
    nn.init.uniform_(emb.weight, -EMBEDDING_INIT, EMBEDDING_INIT)
    if padding_idx is not None:
        with torch.no_grad():
            emb.weight[padding_idx] = 0
    return emb
