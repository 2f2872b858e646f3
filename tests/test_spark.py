"""The Spark engine: same ratings as the local SQL path, ALS on Spark near implicit's EPR,
artifacts that answer queries, the CLI's ``--engine spark``, and clear missing-dependency
errors. One real local Spark session (local[2]) serves the whole module."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import sqlalchemy as sa

from dotify.config import Settings
from dotify.errors import ConfigError, MissingDependencyError
from dotify.learn import evaluation, splits
from dotify.learn.ratings import Ratings, from_store
from dotify.learn.window import DataWindow
from dotify.models import make_model
from dotify.models.spark import SparkALS, spark_reg_param
from dotify.spark import export as spark_export
from dotify.spark import ratings as spark_ratings
from dotify.spark import session as spark_session
from dotify.store import aggregate, schema
from dotify.store.engine import engine_for, opened
from tests._planted import insert_charts, insert_planted, planted_ratings

pytestmark = [pytest.mark.spark, pytest.mark.slow]

TEST_CONF = {"spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false",
             "spark.driver.memory": "2g",
             # small jobs: the JVM's quick compiler alone starts and runs them faster
             "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}


# JDBC drivers where Debian's libpostgresql-jdbc-java and libxerial-sqlite-jdbc-java put them
DRIVER_JARS = {"sqlite": Path("/usr/share/java/sqlite-jdbc.jar"),
               "postgres": Path("/usr/share/java/postgresql.jar")}


@pytest.fixture(scope="module")
def spark():  # -> Iterator[SparkSession]
    try:
        spark_session.require_spark()
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    jars = ",".join(str(j) for j in DRIVER_JARS.values() if j.exists()) or None
    session = spark_session.session("local[2]", TEST_CONF, jars=jars)
    yield session
    session.stop()


def test_a_local_session_listens_on_loopback_only(spark) -> None:  # type: ignore[no-untyped-def]
    assert spark.conf.get("spark.driver.host") == "127.0.0.1"
    assert spark.conf.get("spark.driver.bindAddress") == "127.0.0.1"
    assert spark.sparkContext.uiWebUrl is None  # the UI is off in tests


@pytest.fixture(scope="module")
def spark_home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Planted weekly charts, plus a daily chart, a global chart and a song without a
    Spotify id, so every window filter and metadata path is exercised (built once)."""
    settings = Settings(home=tmp_path_factory.mktemp("spark") / "home")
    engine = engine_for(settings)
    insert_planted(engine, weeks=2)
    insert_charts(engine, ["ar", "de"], [[(1, 5_000), (3, 2_500)], [(2, 900)]],
                  date(2020, 1, 4), kind="daily")
    insert_charts(engine, ["global"], [[(1, 10**9)]], date(2020, 1, 10))
    with engine.begin() as conn:
        song = conn.execute(schema.songs.insert().values(
            key="n:solo song|nobody", spotify_id=None, title="Solo Song", artists="Nobody",
        )).inserted_primary_key[0]
        chart = conn.execute(sa.select(schema.charts.c.id).where(
            schema.charts.c.market == "de", schema.charts.c.kind == "daily")).scalar()
        conn.execute(schema.chart_entries.insert().values(
            chart_id=chart, position=2, song_id=song, streams=1_234))
        aggregate.rebuild(conn)  # as the store keeps it
    engine.dispose()
    return settings


@pytest.fixture(scope="module")
def frames(spark, spark_home: Settings):  # -> tuple[DataFrame, DataFrame]
    """The planted charts' (entries, songs) as Spark reads them from one Parquet export."""
    folder = spark_export.export_entries(engine_for(spark_home), spark_home.home / "frames")
    entries, songs = spark_export.read_parquet(spark, folder)
    return entries.cache(), songs.cache()


WINDOWS = [
    {},
    {"scaling": "written", "eps": 50.0},
    {"scaling": "raw", "kind": "weekly"},
    {"start": date(2020, 1, 4), "end": date(2020, 1, 10)},
    {"n_top_songs": 150},
    {"n_top_songs": 1000, "kind": "daily", "scaling": "log", "eps": 10.0},
    {"since": date(2020, 1, 8)},
    {"end": date(2020, 1, 10), "since": date(2020, 1, 9)},
]


@pytest.mark.parametrize("window", WINDOWS, ids=lambda w: ",".join(map(str, w.values())) or "all")
def test_spark_ratings_match_local_sql(frames, spark_home: Settings, window: dict) -> None:
    data = DataWindow(**window)
    local = from_store(engine_for(spark_home), data)
    summed = spark_ratings.aggregate(frames[0], data)
    remote = spark_ratings.collect_ratings(summed, frames[1], data)
    _assert_same_ratings(remote, local)


def test_spark_ratings_exports_then_reads(spark, spark_home: Settings) -> None:
    window = DataWindow(end=date(2020, 1, 10), scaling="written", eps=100.0)
    engine = engine_for(spark_home)
    remote = spark_ratings.spark_ratings(spark, spark_home, engine, window)
    _assert_same_ratings(remote, from_store(engine, window))
    assert (spark_home.home / "spark" / "entries.parquet").exists()


def test_the_python_api_reads_ratings_with_spark(spark, spark_home: Settings) -> None:
    import dotify

    window = {"end": date(2020, 1, 10), "eps": 100.0, "scaling": "written"}
    remote = dotify.read_ratings(spark_home, engine="spark", **window)
    _assert_same_ratings(remote, dotify.read_ratings(spark_home, **window))


def test_an_empty_window_gives_the_same_empty_ratings(frames, spark_home: Settings) -> None:
    window = DataWindow(start=date(2021, 1, 1))
    local = from_store(engine_for(spark_home), window)
    remote = spark_ratings.collect_ratings(spark_ratings.aggregate(frames[0], window),
                                           frames[1], window)
    assert remote.shape == local.shape == (0, 0) and remote.info == local.info


def _assert_same_ratings(remote: Ratings, local: Ratings) -> None:
    assert local.nnz > 0
    np.testing.assert_array_equal(remote.countries, local.countries)
    for name, values in local.songs.arrays().items():
        np.testing.assert_array_equal(remote.songs.arrays()[name], values, err_msg=name)
    assert (remote.raw != local.raw).nnz == 0
    assert remote.matrix.dtype == local.matrix.dtype == np.float32
    np.testing.assert_array_equal(remote.matrix.indptr, local.matrix.indptr)
    np.testing.assert_array_equal(remote.matrix.indices, local.matrix.indices)
    np.testing.assert_array_equal(remote.matrix.data, local.matrix.data)  # bit for bit
    assert remote.info == local.info
    assert remote.song_dates is not None and local.song_dates is not None
    for ours, theirs in zip(remote.song_dates, local.song_dates, strict=True):
        np.testing.assert_array_equal(ours, theirs)  # --since/--until answer alike
    assert "global" not in remote.countries


def test_export_is_readable_parquet_with_every_row(spark, spark_home: Settings, tmp_path: Path
                                                   ) -> None:
    folder = spark_export.export_entries(engine_for(spark_home), tmp_path / "export", batch_rows=50)
    entries, songs = spark_export.read_parquet(spark, folder)
    with engine_for(spark_home).connect() as conn:
        n_entries = conn.execute(sa.select(sa.func.count()).select_from(
            schema.chart_entries)).scalar()
        n_songs = conn.execute(sa.select(sa.func.count()).select_from(schema.songs)).scalar()
    assert (entries.count(), songs.count()) == (n_entries, n_songs)
    assert [f.name for f in entries.schema.fields] == [
        "market", "chart_date", "kind", "position", "song_id", "streams"]
    assert not list(folder.glob(".*tmp"))


def test_read_parquet_names_the_missing_export(spark, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="entries.parquet, songs.parquet missing"):
        spark_export.read_parquet(spark, tmp_path)


def test_jdbc_without_driver_says_what_to_install(spark) -> None:
    with pytest.raises(MissingDependencyError, match="no JDBC driver for jdbc:nosuchdb:.*"
                                                     "DOTIFY_SPARK_JARS"):
        spark_export.read_jdbc(spark, "jdbc:nosuchdb://127.0.0.1/dotify")


@pytest.mark.parametrize("via", ["parquet", "jdbc"])
def test_same_ratings_on_each_database(spark, db_settings: Settings, via: str, request
                                       ) -> None:
    database = request.node.callspec.params["db_settings"]
    if via == "jdbc" and not DRIVER_JARS[database].exists():
        pytest.skip(f"no JDBC driver at {DRIVER_JARS[database]} "
                    "(apt-get install libpostgresql-jdbc-java libxerial-sqlite-jdbc-java)")
    engine = engine_for(db_settings)
    insert_planted(engine, weeks=2, n_blocks=2, per_block=3)
    window = DataWindow(end=date(2020, 1, 3), scaling="written", eps=100.0)
    jdbc_url = "auto" if via == "jdbc" else None
    remote = spark_ratings.spark_ratings(spark, db_settings, engine, window, jdbc_url=jdbc_url)
    _assert_same_ratings(remote, from_store(engine, window))
    assert (db_settings.home / "spark").exists() == (via == "parquet")  # exported or not


@pytest.mark.parametrize(("db_url", "jdbc"), [
    ("sqlite:////data/dotify.db", "jdbc:sqlite:/data/dotify.db"),
    ("postgresql+psycopg://me:pw@db.local:5433/dotify?options=-csearch_path%3Dt1",
     "jdbc:postgresql://db.local:5433/dotify?options=-csearch_path%3Dt1&user=me&password=pw"),
    ("postgresql://db.local/dotify", "jdbc:postgresql://db.local/dotify"),
])
def test_jdbc_url_for_database_urls(db_url: str, jdbc: str) -> None:
    assert spark_export.jdbc_url_for(db_url) == jdbc


def test_jdbc_url_for_other_databases_says_what_to_set() -> None:
    with pytest.raises(ConfigError, match="DOTIFY_SPARK_JDBC_URL"):
        spark_export.jdbc_url_for("mysql://db.local/dotify")


def test_reg_param_mappings_by_hand() -> None:
    # rows rate 3, 1 songs (mean 2); columns rated 2, 1, 1 times (mean 4/3)
    m = sp.csr_matrix(np.array([[1.0, 2.0, 3.0, 0.0], [4.0, 0.0, 0.0, 0.0]]))
    assert spark_reg_param(m, 8.0, "none") == 8.0
    assert spark_reg_param(m, 8.0, "mean") == pytest.approx(8.0 / (8 / 5))
    assert spark_reg_param(m, 8.0, "geometric") == pytest.approx(8.0 / np.sqrt(2 * 4 / 3))
    with pytest.raises(ValueError, match="'wr'"):
        spark_reg_param(m, 1.0, "wr")


def test_defaults_are_imfs() -> None:
    import inspect

    from dotify.models.imf import IMF

    def defaults(cls: type) -> dict:
        return {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()
                if p.default is not inspect.Parameter.empty}

    imf, spark_als = defaults(IMF), defaults(SparkALS)
    shared = ("factors", "alpha", "regularization", "iterations", "random_state")
    assert {k: spark_als[k] for k in shared} == {k: imf[k] for k in shared}


@pytest.mark.parametrize("bad", [{"factors": 0}, {"alpha": -1.0}, {"regularization": -0.5},
                                 {"iterations": 0}, {"reg_scaling": "x"}, {"blocks": 0},
                                 {"random_state": 1.5}, {"factors": True}])
def test_bad_params_name_the_value(bad: dict) -> None:
    name, value = next(iter(bad.items()))
    with pytest.raises(ValueError, match=f"{name} must be .*{value!r}"):
        SparkALS(**bad)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Ratings:
    """Three weeks of simulated daily charts of 24 markets (planted clusters), as ratings."""
    from dotify.charts.ingest import ingest_paths
    from dotify.charts.sim.markets import DEFAULT_MARKETS
    from dotify.charts.sim.simulate import simulate

    settings = Settings(home=tmp_path_factory.mktemp("sim") / "home")
    simulate(settings.home / "charts", days=21, markets=DEFAULT_MARKETS[:24], seed=0)
    with opened(settings) as engine:
        ingest_paths(engine, [settings.home / "charts"])
        return from_store(engine)


def test_epr_within_002_of_implicit_and_both_beat_popularity(spark, simulated: Ratings
                                                             ) -> None:
    train, val = splits.seed_split(simulated, 0.2, 50, 0)
    params = {"factors": 16, "alpha": 10.0, "regularization": 10.0, "iterations": 10}
    imf = evaluation.epr(make_model("imf", **params).fit(train), val)
    model = make_model("spark-als", **params).fit(train)
    als = evaluation.epr(model, val)
    popular = evaluation.epr(make_model("popularity").fit(train), val)
    assert abs(als - imf) <= 0.02, (als, imf)
    assert als < popular - 0.05 and imf < popular - 0.05, (als, imf, popular)
    assert model.country_factors.shape == (simulated.shape[0], 16)
    assert model.song_factors.shape == (simulated.shape[1], 16)
    assert model.spark_params["regParam"] == pytest.approx(
        spark_reg_param(train.matrix, 10.0, "geometric"))
    assert np.isfinite(model.history[0]["loss"])


def test_songs_without_ratings_get_zero_vectors(spark) -> None:
    ratings, _ = planted_ratings()
    empty_song = ratings.shape[1] - 1
    matrix = ratings.matrix.tolil()
    matrix[:, empty_song] = 0
    train = ratings.with_matrix(matrix.tocsr())
    model = SparkALS(factors=4, iterations=2).fit(train)
    rated = np.diff(train.matrix.tocsc().indptr) > 0
    assert not rated[empty_song] and not model.song_factors[~rated].any()
    assert model.song_factors[rated].any(axis=1).all()


def test_train_engine_spark_saves_an_artifact_that_answers_queries(spark, spark_home: Settings
                                                                   ) -> None:
    from dotify import artifact
    from dotify.learn import training
    from dotify.query import recommend

    result = training.train(spark_home, "imf", {"factors": 8, "iterations": 5}, engine="spark",
                            publish=True)
    loaded = artifact.load_current(spark_home.models_dir)
    assert loaded.kind == "spark-als"
    assert loaded.meta["engine"] == "spark"
    assert loaded.meta["params"]["factors"] == 8
    assert 0.0 <= result.metrics["val_epr"] < 0.5
    assert loaded.meta["fingerprint"] == from_store(engine_for(spark_home)).info["fingerprint"]
    answer = recommend.recommend(loaded, "Argentina + Germany", n=5)
    assert len(answer.songs) == 5


def test_cli_train_engine_spark_json(spark, spark_home: Settings) -> None:
    from typer.testing import CliRunner

    from dotify.cli import app

    result = CliRunner().invoke(app, ["--home", str(spark_home.home), "train", "--engine", "spark",
                                      "--factors", "8", "--iterations", "3", "--no-publish",
                                      "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["engine"] == "spark" and out["kind"] == "spark-als"


def test_missing_pyspark_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # what a missing package looks like
    with pytest.raises(MissingDependencyError, match=r"pyspark.*pip install 'dotify\[spark\]'"):
        spark_session.require_spark()


def test_missing_java_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingDependencyError, match="needs Java.*openjdk-17"):
        spark_session.require_spark()


def test_old_java_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text('#!/bin/sh\necho \'openjdk version "1.8.0_392"\' >&2\n')
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(MissingDependencyError, match="found Java 8"):
        spark_session.require_spark()


def test_cli_tune_engine_spark_saves_params_imf_accepts(spark, spark_home: Settings) -> None:
    from typer.testing import CliRunner

    from dotify.cli import app

    home = ["--home", str(spark_home.home)]
    tuned = CliRunner().invoke(app, [*home, "tune", "--engine", "spark", "--search", "bayes",
                                     "--trials", "1", "--json"])
    assert tuned.exit_code == 0, tuned.output
    saved = spark_home.home / "best_params.json"
    best = json.loads(saved.read_text())["imf"]["params"]
    assert "reg_scaling" not in best and "blocks" not in best and "factors" in best
    trained = CliRunner().invoke(app, [*home, "train", "--model", "imf", "--no-publish", "--json"])
    saved.unlink()  # the home is shared by the module's tests
    assert trained.exit_code == 0, trained.output  # the local IMF takes the tuned params
    assert json.loads(trained.stdout)["params"]["factors"] == best["factors"]


def test_nightly_engine_spark_publishes_a_spark_model(spark, home: Path) -> None:
    from dotify import artifact
    from dotify.charts.sources import SimulatorSource
    from dotify.jobs.nightly import run_nightly

    config = Settings(home=home, markets=["co", "mx", "ar", "se", "no", "dk", "us", "gb", "au"],
                      backfill_days=3, engine="spark")
    small = {"factors": 8, "iterations": 4, "alpha": 10.0, "regularization": 1.0}
    result = run_nightly(config, today=date(2020, 3, 10), source=SimulatorSource(config),
                         params=small)
    assert result.status == "published", result.error
    live = artifact.load_current(config.models_dir)
    assert live.kind == "spark-als" and live.meta["engine"] == "spark"


def test_cli_flags_set_the_engine_settings(settings: Settings) -> None:
    from dotify.cli.model import with_spark

    assert with_spark(settings, None, None) is settings
    changed = with_spark(settings, "spark://head:7077", "auto", "spark")
    assert (changed.spark_master, changed.spark_jdbc_url, changed.engine) == (
        "spark://head:7077", "auto", "spark")
    with pytest.raises(ConfigError, match="unknown engine 'gpu'; choose one of local, spark"):
        with_spark(settings, None, None, "gpu")
