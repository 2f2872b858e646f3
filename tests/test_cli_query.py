"""`dotify recommend`, `similar` and `top` on a published hand-made model."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from dotify import artifact as store
from dotify.cli import app, main
from dotify.config import Settings
from dotify.learn.ratings import Songs
from dotify.models import make_model
from dotify.query.recommend import WORLD

COUNTRIES = np.array(["co", "mx", "de", "tr", "jp", "kr", "tw", "hk"])
SONG_IDS = [f"{c}{i:021d}" for i, c in enumerate("ABCDE")]


@pytest.fixture
def published(settings: Settings) -> Settings:
    """A published IMF artifact: Colombia and Mexico share songs 0-1, Germany 2, Turkey 3;
    four Asian markets mirror them, so the world's mean taste is zero."""
    model = make_model("imf", factors=3)
    four = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    model.country_factors = np.vstack([four, -four])
    model.song_factors = np.array([[1, 0, 0], [0.8, 0, 0.2], [0, 1, 0], [0, 0, 1],
                                   [0.5, 0.5, 0.5]], np.float32)
    songs = Songs(
        keys=np.array([*SONG_IDS[:4], "n:five|fay"]),
        titles=np.array(["Uno", "Dos, otra", "Drei", "Dört", "Five"]),
        artists=np.array(["Ana", "Beto, Carla", "Dieter", "Ece", "Fay"]),
        urls=np.array([f"https://open.spotify.com/track/{k}" for k in SONG_IDS[:4]] + [""]),
        streams=np.array([50, 40, 30, 20, 10]),
    )
    first = np.array(["2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01", "2020-05-01"],
                     dtype="datetime64[D]")
    saved = store.save(model, COUNTRIES, songs, settings.models_dir,
                       song_dates=(first, first + 20))
    store.publish(settings.models_dir, saved.version)
    return settings


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_json_output(published: Settings) -> None:
    code, out, _ = _run("recommend", "Colombia x Mexico - Germany", "-n", "2", "--json",
                        "--popularity", "0")
    assert code == 0
    data = json.loads(out)
    assert data["expression"] == "Colombia x Mexico - Germany"
    assert data["parsed"] == "Colombia * Mexico - Germany"
    # no streams in this model: each country is the model's estimate (rank / 5) ** 4; Uno:
    # Colombia 1 x Mexico 1, less Germany's 0.1296; the world's taste cancels out (the
    # expression's world weight, 1 x 1 - 1, is 0)
    assert [s["title"] for s in data["songs"]] == ["Uno", "Dos, otra"]
    assert data["songs"][0]["score"] == pytest.approx(1 - 0.1296)
    first = data["songs"][0]
    assert first["rank"] == 1 and first["artists"] == "Ana"
    assert first["url"] == f"https://open.spotify.com/track/{SONG_IDS[0]}"
    assert first["uri"] == f"spotify:track:{SONG_IDS[0]}"
    assert set(first["contributions"]) == {"Colombia", "Mexico", "Germany"}  # world weight 0
    assert sum(first["contributions"].values()) == pytest.approx(first["score"], abs=1e-5)


def test_words_without_quotes_make_one_expression(published: Settings) -> None:
    code, out, _ = _run("recommend", "Colombia", "+", "Turkey", "--format", "json", "-n", "1")
    assert code == 0
    assert json.loads(out)["parsed"] == "Colombia + Turkey"


def test_uris_one_per_line(published: Settings) -> None:
    code, out, _ = _run("recommend", "Turkey", "--format", "uris", "-n", "5", "--popularity", "0")
    assert code == 0
    # song 4 has no URL and its key is no track id, so it has no URI
    assert out.splitlines() == [f"spotify:track:{SONG_IDS[i]}" for i in (3, 1, 2, 0)]


def test_csv_output(published: Settings) -> None:
    code, out, _ = _run("recommend", "Colombia + Turkey", "-f", "csv", "-n", "5")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["rank", "title", "artists", "url", "uri", "score", "match", "Colombia",
                       "Turkey", WORLD]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4", "5"]
    assert "Dos, otra" in [r[1] for r in rows[1:]]  # commas survive quoting
    for row in rows[1:]:
        assert 0.0 <= float(row[6]) <= 100.0
        assert sum(map(float, row[7:])) == pytest.approx(float(row[5]), abs=1e-5)


def test_table_output_goes_to_stderr(published: Settings) -> None:
    code, out, err = _run("recommend", "Colombia", "-n", "2", "--popularity", "0")
    assert code == 0 and out == ""
    assert "Colombia" in err and "Uno" in err and "Dos, otra" in err


def test_date_window(published: Settings) -> None:
    code, out, _ = _run("recommend", "Colombia + Germany + Turkey", "--json",
                        "--since", "2020-02-15", "--until", "2020-04-05")
    assert code == 0
    assert sorted(s["title"] for s in json.loads(out)["songs"]) == ["Dos, otra", "Drei", "Dört"]
    code, _, err = _run("recommend", "Colombia", "--since", "15/02/2020")
    assert code == 2 and "15/02/2020" in err


def test_similar_and_top(published: Settings) -> None:
    code, out, _ = _run("similar", "Colombia", "--json", "-n", "2")
    assert code == 0
    assert [(c["rank"], c["code"], c["name"]) for c in json.loads(out)] == \
        [(1, "mx", "Mexico"), (2, "de", "Germany")]
    code, out, _ = _run("top", "DE", "--json", "-n", "1", "--popularity", "0")
    assert code == 0
    assert [s["title"] for s in json.loads(out)["songs"]] == ["Drei"]
    code, _, err = _run("similar", "Mexico")
    assert code == 0 and "Colombia" in err and "0.994" in err


def _main(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
          *args: str, keep_lines: bool = False) -> tuple[int, str, str]:
    """Run ``dotify.cli.main`` as the console script does; (exit status, stdout, stderr
    with runs of white space made one space unless ``keep_lines``)."""
    monkeypatch.setattr(sys, "argv", ["dotify", *args])
    with pytest.raises(SystemExit) as stopped:
        main()
    out, err = capsys.readouterr()
    return int(stopped.value.code or 0), out, err if keep_lines else " ".join(err.split())


def test_errors_exit_2_with_a_message_on_stderr(published: Settings, capsys, monkeypatch) -> None:
    code, out, err = _main(capsys, monkeypatch, "recommend", "Colombia + Chile", "--json")
    assert (code, out) == (2, "")
    assert "Chile is a known market but the current model has no vector" in err
    code, out, err = _main(capsys, monkeypatch, "recommend", "Colombia +", keep_lines=True)
    assert (code, out) == (2, "")
    assert err.splitlines()[:2] == ["  Colombia +", "            ^"]
    assert " ".join(err.split()) == ("Colombia + ^ error: expected a country, a number or '(' "
                                     "after '+', found the end (at position 10)")
    code, out, err = _main(capsys, monkeypatch, "similar", "Atlantis")
    assert (code, out, err) == (2, "", "error: Unknown country 'Atlantis'.")
    code, out, err = _main(capsys, monkeypatch, "recommend", "Colombia", "--discover")
    assert code == 2 and "discover" in err
    code, out, err = _main(capsys, monkeypatch, "recommend", "0 x Colombia")
    assert (code, out) == (2, "") and "cancels out: it is 0 for every song" in " ".join(err.split())


def test_no_published_model(settings: Settings, capsys, monkeypatch) -> None:
    code, out, err = _main(capsys, monkeypatch, "top", "Colombia")
    assert (code, out) == (2, "")
    assert "no published model" in err and "dotify train" in err


@pytest.mark.slow  # over a second: left to make test, out of make check
def test_the_console_script_reports_errors(published: Settings) -> None:
    env = {**os.environ, "DOTIFY_HOME": str(published.home)}
    done = subprocess.run([sys.executable, "-m", "dotify", "recommend", "Colombai + Turkey"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Unknown country 'Colombai'. Did you mean Colombia?" in " ".join(done.stderr.split())


def test_bad_options_are_usage_errors(published: Settings) -> None:
    code, _, err = _run("recommend", "Colombia", "--popularity", "2")
    assert code == 2 and "popularity" in err
    code, _, err = _run("recommend", "Colombia", "--format", "xml")
    assert code == 2 and "xml" in err


@pytest.mark.parametrize("args", [
    ["recommend", "-Germany + Colombia", "--json"],
    ["recommend", "--json", "-Germany", "+", "Colombia"],
    ["recommend", "-n", "2", "-Germany + Colombia", "--json", "--popularity", "0"],
    ["recommend", "-n2", "-Germany + Colombia", "--format=json"],
    ["recommend", "--json", "--", "-Germany + Colombia"],
])
def test_an_expression_may_start_with_a_minus(published: Settings, args: list[str]) -> None:
    """'-Germany + Colombia' was read as the option -G ("No such option: -G")."""
    code, out, err = _run(*args)
    assert code == 0, err
    data = json.loads(out)
    assert data["expression"] == "-Germany + Colombia"
    assert data["parsed"].startswith("-") and "Colombia" in data["parsed"]
    assert len(data["songs"]) == (2 if "-n2" in args or "2" in args else len(data["songs"]))


def test_a_minus_word_that_is_not_an_option_is_not_taken_for_one(published: Settings) -> None:
    code, out, _ = _run("similar", "-Germany", "-n", "1", "--json")
    assert code == 0 and len(json.loads(out)) == 1
    code, _, err = _run("recommend", "-n", "0", "Colombia")
    assert code == 2 and "-n" in err  # a real option with a bad value is still refused
