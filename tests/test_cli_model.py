"""``dotify train``, ``evaluate`` and ``tune``: JSON on stdout with the keys, exit codes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dotify import artifact
from dotify.cli import app, main
from dotify.cli.model import parse_param
from dotify.config import Settings
from dotify.errors import ConfigError
from dotify.store.engine import opened

pytestmark = pytest.mark.slow

TUNE_FAST = ["--iterations", "3", "--param", "num_threads=1", "--factors", "8"]
FAST = ["--model", "imf", *TUNE_FAST]  # train, evaluate and tune default to bpr-net
METRICS = {"train_epr", "val_epr", "val_epr_filtered", "params", "n_countries", "n_songs", "nnz",
           "precision@10", "recall@10", "ndcg@10", "map@10", "auc"}


def _json(*args: str) -> dict:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def _main(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
          *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.argv", ["dotify", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_train_json_saves_and_publishes(planted_home: Settings) -> None:
    payload = _json("train", *FAST, "--alpha", "2", "--lambda", "5", "--json")
    assert METRICS <= set(payload) and {"version", "published", "kind"} <= set(payload)
    assert payload["params"]["alpha"] == 2.0 and payload["params"]["regularization"] == 5.0
    assert payload["n_countries"] == 24 and payload["published"] is True
    live = artifact.load_current(planted_home.models_dir)
    assert live.version == payload["version"] and live.meta["nnz"] == payload["nnz"]
    assert live.meta["metrics"]["val_epr"] == payload["val_epr"]
    assert live.meta["fingerprint"] and live.meta["window"]["start"] is None


def test_fidelity_of_the_live_model_against_the_stored_charts(planted_home: Settings,
                                                             tmp_path: Path) -> None:
    _json("train", *FAST, "--json")
    payload = _json("fidelity", "--popularity", "0", "--popularity", "1", "--json")
    rows = {(r["group"], r["popularity"]): r for r in payload["rows"]}
    assert set(rows) == {(g, p) for g in ("single", "combination") for p in (0.0, 1.0)}
    assert rows["single", 0.0]["expressions"] == 24
    assert rows["single", 1.0]["charts"] >= 0.9 and rows["single", 0.0]["local"] >= 0.8
    assert all(r["repeated"] == 0 for r in payload["rows"])
    listed = tmp_path / "expressions.txt"
    listed.write_text("# two of them\nco + mx\n\nde - co  # a difference\n")
    mine = _json("fidelity", "--expressions", str(listed), "--popularity", "1", "--json")
    assert [(r["group"], r["expressions"]) for r in mine["rows"]] == [("file", 2)]


def test_trained_artifact_keeps_song_dates_for_windowed_queries(planted_home: Settings) -> None:
    from dotify.query.recommend import recommend

    _json("train", *FAST, "--json")
    live = artifact.load_current(planted_home.models_dir)
    assert live.song_first_date is not None and live.charted is not None
    assert str(live.song_first_date.min()) == "2020-01-03"
    inside = recommend(live, "Argentina", n=5, since=date(2020, 1, 1), until=date(2020, 1, 5))
    assert len(inside.songs) == 5
    assert recommend(live, "Argentina", n=5, since=date(2021, 1, 1)).songs == []


def test_train_uses_tuned_params_and_flags_override(planted_home: Settings) -> None:
    planted_home.home.joinpath("best_params.json").write_text(json.dumps(
        {"kind": "imf", "params": {"alpha": 7.0, "regularization": 3.0, "eps": 50.0,
                                   "factors": 6, "random_state": 0}}))
    payload = _json("train", "--model", "imf", "--iterations", "2", "--lambda", "4",
                    "--no-publish", "--seed", "3", "--json")
    assert payload["params"]["alpha"] == 7.0 and payload["params"]["factors"] == 6
    assert payload["params"]["random_state"] == 3
    assert payload["params"]["regularization"] == 4.0 and payload["published"] is False
    saved = artifact.load(planted_home.models_dir / payload["version"])
    assert saved.meta["ratings"]["eps"] == 50.0
    assert artifact.current_version(planted_home.models_dir) is None


def test_evaluate_json_has_the_metrics_and_baselines(planted_home: Settings) -> None:
    payload = _json("evaluate", *FAST, "--json")
    assert METRICS <= set(payload) and "per_country" not in payload
    assert payload["val_epr"] < payload["popularity_val_epr"]
    other = _json("evaluate", "--model", "popularity", "--per-country", "--json")
    assert other["kind"] == "popularity" and other["per_country"][0]["country"] == "ar"
    assert not list(planted_home.models_dir.glob("2*"))  # evaluate saves nothing


def test_tune_json_has_trials_and_best(planted_home: Settings) -> None:
    payload = _json("tune", *FAST, "--json")  # imf: the seed's grid by default
    assert METRICS <= set(payload) and {"trials", "best"} <= set(payload)
    assert len(payload["trials"]) == 16
    assert payload["val_epr"] == payload["best"]["val_epr"] == min(
        t["val_epr"] for t in payload["trials"])
    assert (planted_home.reports_dir / "tuning_heatmap.png").exists()
    bayes = _json("tune", "--search", "bayes", "--trials", "2", *FAST, "--json")
    assert len(bayes["trials"]) == 2 and bayes["kind"] == "imf"


def test_tune_any_kind_then_train_takes_its_best(planted_home: Settings) -> None:
    _json("tune", *FAST, "--json")
    imf = json.loads((planted_home.home / "best_params.json").read_text())["imf"]
    payload = _json("tune", "--trials", "2", "--param", "epochs=10", "--json")  # bpr-net
    assert payload["kind"] == "bpr-net" and len(payload["trials"]) == 2
    searched = {"factors", "regularization", "lr", "eps"}
    assert all(searched <= set(t["params"]) and t["params"]["epochs"] == 10
               for t in payload["trials"])
    saved = json.loads((planted_home.home / "best_params.json").read_text())
    assert saved["imf"] == imf and saved["bpr-net"]["search"] == "bayes"
    best = saved["bpr-net"]["params"]
    trained = _json("train", "--no-publish", "--json")  # the default kind, its tuned params
    assert trained["kind"] == "bpr-net" and trained["params"]["factors"] == best["factors"]
    assert trained["params"]["lr"] == best["lr"]
    saved_model = artifact.load(planted_home.models_dir / trained["version"])
    assert saved_model.meta["ratings"]["eps"] == best["eps"]


def test_human_output_goes_to_stderr(planted_home: Settings) -> None:
    result = CliRunner().invoke(app, ["evaluate", *FAST])
    assert result.exit_code == 0 and result.stdout == ""
    assert "val_epr" in result.stderr and "reading charts" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["train", "--model", "nope"], "unknown model 'nope'"),
    (["train", "--engine", "hadoop"], "unknown engine 'hadoop'; choose one of local, spark"),
    (["evaluate", "--model", "popularity", "--alpha", "3"],
     "model 'popularity' takes no parameter 'alpha'"),
    (["evaluate", "--param", "oops"], "--param 'oops': write it as key=value"),
    (["tune", "--search", "random"], "unknown search 'random'"),
    (["tune", "--model", "popularity"], "popularity has no parameters to tune"),
    (["tune", "--model", "net1", "--search", "grid"], "tune net1 with --search bayes"),
    (["tune", "--model", "net9"], "unknown model 'net9'"),
    (["tune", "--model", "bpr-net", "--trials", "1", "--param", "factors=0"],
     "bpr-net: factors must be an integer >= 1, not 0"),
    (["evaluate", "--model", "imf", "--param", "solver=lu"],
     "solver must be one of cg, cholesky, not 'lu'"),
])
def test_errors_exit_2_with_a_message(planted_home: Settings, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch, args: list[str],
                                      message: str) -> None:
    code, out, err = _main(capsys, monkeypatch, *args)
    assert code == 2 and out == ""
    assert message in " ".join(err.split())


def test_empty_store_says_what_to_do(home: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = _main(capsys, monkeypatch, "train")
    assert code == 2 and "run `dotify ingest` first" in err


def test_parse_param() -> None:
    assert parse_param("epochs=20") == ("epochs", 20)
    assert parse_param("lr=1e-3") == ("lr", 0.001)
    assert parse_param("solver=cholesky") == ("solver", "cholesky")
    with pytest.raises(ConfigError):
        parse_param("=3")


def test_training_library_call_without_publishing(planted_home: Settings) -> None:
    from dotify.learn import training
    from dotify.learn.window import DataWindow

    said: list[str] = []
    result = training.train(planted_home, "imf", {"factors": 6, "iterations": 3},
                            window=DataWindow(eps=100.0),
                            publish=False, refit=False, progress=said.append)
    assert result.published is False and artifact.current_version(planted_home.models_dir) is None
    meta = result.artifact.meta
    assert meta["ratings"]["eps"] == 100.0 and meta["refit_on_all"] is False
    assert {"n_countries", "n_songs", "nnz", "fingerprint", "window", "metrics"} <= set(meta)
    assert meta["metrics"]["val_epr"] == result.metrics["val_epr"]
    assert result.artifact.model.history[-1]["iteration"] == 3
    assert said[0] == "reading charts" and said[-1].startswith("saved model")
    loaded = artifact.load(result.artifact.path)
    assert loaded.charted is not None and loaded.charted.nnz == meta["nnz"]


def test_evaluate_by_date(home: Path) -> None:
    from datetime import date

    from tests._planted import insert_charts

    with opened(Settings(home=home)) as engine:
        insert_charts(engine, ["co", "de", "mx"], [[(1, 9000), (2, 5000), (3, 100)],
                                                   [(4, 8000), (5, 7000)], [(1, 9500), (3, 50)]],
                      date(2020, 1, 3))
        insert_charts(engine, ["co", "de", "mx"], [[(1, 9000)], [(1, 3000), (5, 900)], [(2, 10)]],
                      date(2020, 1, 10))
    payload = _json("evaluate", "--model", "popularity", "--before", "2020-01-10", "--json")
    assert payload["split"] == {"protocol": "date", "before": "2020-01-10"}
    assert payload["n_songs"] == 5 and payload["nnz"] == 7  # the train part's shape
    # popularity before the date (summed log ratings): songs 1, 4, 5, 2, 3. New after it:
    # de's song 1 (first of 5: 0) and mx's song 2 (fourth: 3/5); co's song 1 is not new
    assert payload["val_epr"] == pytest.approx((0.0 + 3 / 5) / 2)
    result = CliRunner().invoke(app, ["evaluate", "--before", "2020-01-03"])
    assert "no charts before 2020-01-03" in str(result.exception)


def test_models_learn_the_pairs_charted_in_the_last_active_days(
        home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from dotify.learn.ratings import from_store
    from dotify.learn.window import DataWindow
    from tests._planted import insert_charts, insert_planted

    with opened(Settings(home=home)) as engine:
        insert_planted(engine, weeks=1)
        insert_charts(engine, ["co", "mx"], [[(9001, 500), (9002, 400)], [(9001, 300)]],
                      date(2019, 12, 6))  # two songs only an old chart holds
        last = from_store(engine).info["last_date"]
        recent = from_store(engine, DataWindow(since=date.fromisoformat(last)))
        every = from_store(engine)
    assert recent.shape[1] == every.shape[1] - 2
    one_day = _json("train", *FAST, "--active-days", "1", "--json")
    assert one_day["window"]["since"] == last and one_day["n_songs"] == recent.shape[1]
    assert _json("train", *FAST, "--active-days", "all", "--json")["n_songs"] == every.shape[1]
    default = _json("train", *FAST, "--json")  # DOTIFY_ACTIVE_DAYS, 365: both charts
    assert default["n_songs"] == every.shape[1] and default["window"]["since"] is not None
    monkeypatch.setenv("DOTIFY_ACTIVE_DAYS", "all")
    assert _json("train", *FAST, "--json")["window"]["since"] is None
    monkeypatch.setenv("DOTIFY_ACTIVE_DAYS", "1")
    assert _json("evaluate", *FAST, "--json")["n_songs"] < every.shape[1]
    code, out, err = _main(capsys, monkeypatch, "train", *FAST, "--active-days", "soon")
    assert code == 2 and "active days must be a number of days or 'all', not 'soon'" in err
