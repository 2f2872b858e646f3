"""The fidelity measure on a hand-worked matrix, and the knob's meaning on it."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from dotify.artifact import Artifact
from dotify.learn.fidelity import Truth, fidelity, precision
from dotify.learn.ratings import Ratings, Songs
from dotify.models import make_model
from dotify.query.arithmetic import parse

# streams whose log(1 + s/1000) is 2 and 1, so profiles are 1 and 0.5 of a country's top
TWO, ONE = 1000 * (np.e ** 2 - 1), 1000 * (np.e - 1)
COUNTRIES = np.array(["co", "mx", "de"])
STREAMS = np.array([
    #  s0   s1   s2   s3
    [TWO, ONE, 0.0, ONE],  # co: profile 1, .5, 0, .5
    [TWO, 0.0, ONE, 0.0],  # mx: profile 1, 0, .5, 0
    [0.0, 0.0, TWO, ONE],  # de: profile 0, 0, 1, .5
])
# the world: 2/3, 1/6, 1/2, 1/3; Colombia's local taste: 1/3, 1/3, -1/2, 1/6


def _songs() -> Songs:
    keys = np.array([f"{i:022d}" for i in range(4)])
    return Songs(keys=keys, titles=np.array(["S0", "S1", "S2", "S3"]),
                 artists=np.array(["A0", "A1", "A2", "A3"]),
                 urls=np.array([f"https://open.spotify.com/track/{k}" for k in keys]),
                 streams=STREAMS.sum(axis=0).astype(np.int64))


def _ratings() -> Ratings:
    raw = sp.csr_matrix(STREAMS)
    return Ratings(sp.csr_matrix(np.log1p(STREAMS / 1000), dtype=np.float32), COUNTRIES,
                   _songs(), raw)


def _artifact() -> Artifact:
    model = make_model("imf")
    rng = np.random.default_rng(0)
    model.country_factors = rng.normal(size=(3, 2)).astype(np.float32)
    model.song_factors = rng.normal(size=(4, 2)).astype(np.float32)
    return Artifact(model, COUNTRIES, _songs(), {"version": "test"}, None,
                    sp.csr_matrix(STREAMS, dtype=bool), streams=sp.csr_matrix(STREAMS))


def test_profiles_and_truths_by_hand() -> None:
    truth = Truth(_ratings())
    np.testing.assert_allclose(truth.chart, [[1, .5, 0, .5], [1, 0, .5, 0], [0, 0, 1, .5]])
    np.testing.assert_allclose(truth.local[0], [1 / 3, 1 / 3, -1 / 2, 1 / 6])
    chart, local = truth.tops(parse("co"))
    assert chart == {0, 1, 3} and local == {0, 1, 3}
    assert truth.tops(parse("co"), k=1) == ({0}, {0})  # ties keep the lower column
    assert truth.tops(parse("co x mx"))[0] == {0}  # only s0 is played by both
    assert truth.tops(parse("co - de"))[0] == {0, 1}  # 1, .5, -1, 0
    # local: (1/3, 1/3, -1/2, 1/6) - (-2/3, -1/6, 1/2, 1/6) = (1, 1/2, -1, 0)
    assert truth.tops(parse("co - de"))[1] == {0, 1}
    assert truth.tops(parse("mx + de"))[0] == {0, 2, 3}


def test_precision_counts_misses() -> None:
    assert precision([0, 1, -1, 3], {0, 1}) == 0.5
    assert precision([], {0}) == 0.0


def test_answers_follow_the_truths_at_the_ends_of_the_knob() -> None:
    rows = fidelity(_artifact(), _ratings(), {"hand": ["co", "co - de", "co x mx"]},
                    popularities=(0.0, 1.0), n=1)
    by_knob = {r.popularity: r for r in rows}
    assert by_knob[1.0].charts == 1.0 and by_knob[0.0].local == 1.0
    assert all(r.expressions == 3 and r.repeated == 0 for r in rows)


def test_truth_needs_streams() -> None:
    ratings = _ratings()
    with pytest.raises(ValueError, match="summed streams"):
        Truth(Ratings(ratings.matrix, ratings.countries, ratings.songs))
