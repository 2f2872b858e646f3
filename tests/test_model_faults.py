"""A published model that cannot be read: one clear error in the CLI (exit 2); the
server keeps the last good model, marks the bad version failed, does not retry it until the
pointer moves, and says so on /healthz and every page; pruning keeps the rollback target."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from dotify import artifact as artifacts
from dotify.cli import main
from dotify.config import Settings
from dotify.errors import ArtifactError
from dotify.web import create_app
from dotify.web.model_holder import ModelHolder
from tests.waiting import wait_until
from tests.web_support import build_artifact


def _rewrite_npz(folder: Path, change: Callable[[dict], None]) -> None:
    with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    change(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    (folder / "arrays.npz").write_bytes(buffer.getvalue())


def _truncate(folder: Path) -> None:
    data = (folder / "arrays.npz").read_bytes()
    (folder / "arrays.npz").write_bytes(data[: len(data) // 2])


def _meta(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        meta = json.loads((folder / "meta.json").read_text())
        meta = change(meta) or meta
        (folder / "meta.json").write_text(json.dumps(meta))
    return apply


CORRUPTIONS: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated npz": (_truncate, "BadZipFile"),
    "missing array": (lambda f: _rewrite_npz(f, lambda a: a.pop("song_factors")),
                      "arrays.npz lacks song_factors"),
    "wrong shape": (lambda f: _rewrite_npz(f, lambda a: a.update(
        country_factors=a["country_factors"][:3])), "do not fit 14 countries"),
    "nan vectors": (lambda f: _rewrite_npz(f, lambda a: a["song_factors"].fill(np.nan)),
                    "NaN or inf"),
    "bad params": (_meta(lambda m: m.update(params={"factors": "many", "bogus": 1})),
                   "cannot be read"),
    "unknown kind": (_meta(lambda m: m.update(kind="nope")), "cannot be read"),
    "meta a list": (_meta(lambda m: [m]), "meta.json is not an object"),
    "meta not json": (lambda f: (f / "meta.json").write_text("{"), "JSONDecodeError"),
    "no meta": (lambda f: (f / "meta.json").unlink(), "meta.json is missing"),
    "zip of junk": (lambda f: (f / "arrays.npz").write_bytes(_junk_zip()), "cannot be read"),
}


def _junk_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("country_factors.npy", b"\x93NUMPY not really")
    return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_a_damaged_model_is_one_artifact_error(settings: Settings, name: str) -> None:
    damage, says = CORRUPTIONS[name]
    saved = build_artifact(settings.models_dir)
    damage(saved.path)
    with pytest.raises(ArtifactError) as caught:
        artifacts.load(saved.path)
    assert says in str(caught.value) and str(saved.path) in str(caught.value)


@pytest.mark.parametrize("name", ["truncated npz", "missing array", "bad params"])
def test_the_cli_says_it_in_one_line_and_exits_2(settings: Settings, name: str,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture) -> None:
    saved = build_artifact(settings.models_dir)
    CORRUPTIONS[name][0](saved.path)
    monkeypatch.setattr(sys, "argv", ["dotify", "recommend", "Colombia"])
    with pytest.raises(SystemExit) as caught:
        main()
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert "Traceback" not in err and err.startswith("error: the model at ")
    assert CORRUPTIONS[name][1] in " ".join(err.split())


@pytest.mark.slow
def test_the_server_keeps_the_good_model_and_does_not_retry_the_bad(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    good = build_artifact(settings.models_dir)
    client = TestClient(create_app(settings, check_every=0))
    assert client.get("/healthz").json() == {"status": "ok", "model_version": good.version}
    bad = build_artifact(settings.models_dir, seed=2)
    _truncate(bad.path)
    caplog.set_level(logging.WARNING, logger="dotify")
    holder: ModelHolder = client.app.state.holder  # type: ignore[attr-defined]
    wait_until(lambda: client.get("/healthz").json()["status"] == "degraded",
               what="the bad version marked failed")
    for _ in range(50):  # every request looks at the pointer (check_every=0)
        assert client.get("/api/model").json()["version"] == good.version
    wait_until(lambda: not any(t.name == "dotify-model-reload" for t in threading.enumerate()))
    tries = [r for r in caplog.records if "cannot be loaded" in r.getMessage()]
    assert len(tries) == 1 and holder.failed_version == bad.version
    health = client.get("/healthz").json()
    assert health["model_version"] == good.version and health["failed_version"] == bad.version
    assert "BadZipFile" in health["model_error"] and str(settings.home) not in health["model_error"]
    about = client.get("/about").text
    assert f"The published model {bad.version} cannot be read" in about
    assert f"Still serving {good.version}" in about
    newer = build_artifact(settings.models_dir, seed=3)  # the pointer moves on: tried again
    wait_until(lambda: client.get("/healthz").json() == {"status": "ok",
                                                          "model_version": newer.version})


def test_a_bad_first_model_is_a_503_that_names_it(settings: Settings) -> None:
    bad = build_artifact(settings.models_dir)
    _rewrite_npz(bad.path, lambda a: a.pop("countries"))
    client = TestClient(create_app(settings))
    answer = client.post("/api/recommendations", json={"expression": "Colombia"})
    assert answer.status_code == 503
    assert "arrays.npz lacks countries" in answer.json()["detail"]
    assert client.get("/healthz").json()["status"] == "degraded"
    assert client.get("/").status_code == 200


# --- 10: the rollback target survives an orphan ----------------------------------------

def test_prune_keeps_the_previous_live_model_before_an_orphan(settings: Settings) -> None:
    first = build_artifact(settings.models_dir)  # live, then replaced: the rollback target
    orphan = build_artifact(settings.models_dir, seed=1, publish=False)  # a run died here
    third = build_artifact(settings.models_dir, seed=2)
    assert artifacts.prune(settings.models_dir, keep=2) == [orphan.version]
    assert artifacts.versions(settings.models_dir) == [first.version, third.version]
    assert artifacts.prune(settings.models_dir, keep=1) == [first.version]
    assert artifacts.current_version(settings.models_dir) == third.version


def test_prune_keeps_a_new_unpublished_model_while_there_is_room(settings: Settings) -> None:
    live = build_artifact(settings.models_dir)
    trained = build_artifact(settings.models_dir, seed=1, publish=False)
    assert artifacts.prune(settings.models_dir, keep=2) == []
    assert artifacts.versions(settings.models_dir) == [live.version, trained.version]
