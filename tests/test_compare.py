"""``dotify compare`` and the cold-song split."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from dotify.cli import app, main
from dotify.config import Settings
from dotify.errors import ConfigError
from dotify.learn.coldstart import cold_epr, cold_song_split, cold_songs
from dotify.learn.compare import COLUMNS, compare
from dotify.learn.ratings import Ratings, Songs
from dotify.models import make_model
from tests._planted import planted_ratings

pytestmark = pytest.mark.slow


def test_cold_split_moves_whole_songs() -> None:
    ratings, _ = planted_ratings()
    train, test = cold_song_split(ratings, fraction=0.25, random_state=1)
    assert (train.matrix + test.matrix != ratings.matrix).nnz == 0
    in_train = train.matrix.getnnz(axis=0) > 0
    in_test = test.matrix.getnnz(axis=0) > 0
    assert not (in_train & in_test).any()
    assert in_test.sum() == round(0.25 * (ratings.matrix.getnnz(axis=0) > 0).sum())
    np.testing.assert_array_equal(cold_songs(train, test), np.flatnonzero(in_test))
    again, _ = cold_song_split(ratings, fraction=0.25, random_state=1)
    assert (again.matrix != train.matrix).nnz == 0


@pytest.mark.parametrize("fraction", [0.0, 1.0, 1e-6])
def test_cold_split_refuses_a_fraction_that_holds_out_nothing_or_all(fraction: float) -> None:
    ratings, _ = planted_ratings()
    with pytest.raises(ValueError, match="fraction"):
        cold_song_split(ratings, fraction=fraction)


def stars_and_newcomers(n_countries: int = 6, n_star: int = 24, n_new: int = 36) -> Ratings:
    """Songs of five star artists chart in every country; each newcomer's song in one."""
    rng = np.random.default_rng(0)
    n_songs = n_star + n_new
    artists = [f"star{i % 5}, feat{i}" for i in range(n_star)]
    artists += [f"newcomer{i}" for i in range(n_new)]
    songs = Songs(np.array([f"s{i}" for i in range(n_songs)]),
                  np.array([f"song number {i}" for i in range(n_songs)]), np.array(artists),
                  np.full(n_songs, ""), np.ones(n_songs, np.int64))
    rows = [*np.repeat(np.arange(n_countries), n_star), *rng.integers(n_countries, size=n_new)]
    cols = [*np.tile(np.arange(n_star), n_countries), *range(n_star, n_songs)]
    return Ratings.from_triples(np.array([f"c{i}" for i in range(n_countries)]), songs,
                                np.array(rows), np.array(cols), rng.uniform(1, 3, len(rows)))


def test_net5_ranks_cold_songs_by_their_artist() -> None:
    # the seed's title and artist parts are one scalar per song, the same in every country:
    # they can learn that a star's new song charts widely, not where it charts
    train, test = cold_song_split(stars_and_newcomers(), fraction=0.25, random_state=0)
    net5 = make_model("net5", factors=4, epochs=30, batch_size=32, lr=0.01, id_dropout=0.5)
    net5.fit(train)
    popular = make_model("popularity").fit(train)
    assert cold_epr(net5.score(), train, test) < 0.35
    assert cold_epr(popular.score(), train, test) == pytest.approx(0.5, abs=0.05)


def test_compare_measures_every_model_on_one_split() -> None:
    ratings, _ = planted_ratings()
    train, test = cold_song_split(ratings, fraction=0.2, random_state=0)
    table = compare(train, test, ["net1", "popularity", "random"], epochs=1, seed=0, cold=True)
    assert list(table) == ["net1", "popularity", "random"]
    for row in table.values():
        assert set(row) == {*COLUMNS, "cold_epr", "params"} and row["fit_seconds"] >= 0
    assert table["random"]["val_epr"] == pytest.approx(0.5, abs=0.1)
    assert table["popularity"]["cold_epr"] == pytest.approx(0.5, abs=0.05)


def test_compare_refuses_unknown_models() -> None:
    ratings, _ = planted_ratings()
    with pytest.raises(ConfigError, match="'net9'"):
        compare(ratings, ratings, ["net1", "net9"])


def test_cli_compare_json_has_one_entry_per_model(planted_home: Settings) -> None:
    result = CliRunner().invoke(app, ["compare", "--models", "net2,popularity", "--epochs", "1",
                                      "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    table = json.loads(result.stdout)
    assert list(table) == ["net2", "popularity"]
    assert set(table["net2"]) == {*COLUMNS, "params"}
    assert table["net2"]["params"]["epochs"] == 1 and table["popularity"]["params"] == {}
    assert table["net2"]["val_epr"] < 0.5


def test_cli_compare_prints_a_table(planted_home: Settings) -> None:
    result = CliRunner().invoke(app, ["compare", "--models", "random,popularity"])
    assert result.exit_code == 0, (result.output, result.exception)
    rows = [line.split()[1] for line in result.output.splitlines() if line.startswith("│")]
    assert rows == ["random", "popularity"]


def test_cli_compare_cold_split_adds_cold_epr(planted_home: Settings) -> None:
    result = CliRunner().invoke(app, ["compare", "--models", "popularity", "--split", "cold",
                                      "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    row = json.loads(result.stdout)["popularity"]
    assert set(row) == {*COLUMNS, "cold_epr", "params"}
    assert row["cold_epr"] == pytest.approx(0.5, abs=0.05)


def test_cli_compare_unknown_model_exits_2(planted_home: Settings,
                                           capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["dotify", "compare", "--models", "imf,nope"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    assert "unknown model(s) 'nope'" in capsys.readouterr().err


def test_every_model_gets_the_same_tuning_budget(planted_home: Settings) -> None:
    result = CliRunner().invoke(app, ["compare", "--models", "imf,net1,popularity", "--tune",
                                      "2", "--epochs", "1", "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    table = json.loads(result.stdout)
    assert {k: row["tune_trials"] for k, row in table.items()} == {
        "imf": 2, "net1": 2, "popularity": 0}  # popularity has nothing to tune
    assert table["imf"]["val_epr"] < min(0.5, table["popularity"]["val_epr"])
    assert {"factors", "alpha", "regularization", "iterations"} <= set(table["imf"]["params"])
    plain = json.loads(CliRunner().invoke(app, ["compare", "--models", "imf", "--json"]).stdout)
    assert plain["imf"]["tune_trials"] == 0

