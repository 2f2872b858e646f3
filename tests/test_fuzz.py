"""Fuzzing: mutated chart files into ingest, mutated expressions into the CLI and
mutated JSON bodies into the API. Whatever comes in: no traceback, a clear message, a
documented exit code or a 4xx with ``detail``, and nothing stored of what was rejected.

The budget is small and the examples fixed (``derandomize``) in ``make test``;
``make fuzz`` runs many more, from a fresh seed each time (``DOTIFY_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import itertools
import json
import os
import sys
import tarfile
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dotify.charts.ingest import ingest_paths
from dotify.charts.validate import MAX_POSITION, MAX_STREAMS
from dotify.cli import main
from dotify.config import Settings
from dotify.store.charts import Store
from dotify.store.engine import engine_for
from dotify.store.schema import chart_entries, charts, ingested_files
from dotify.web import create_app
from tests._charts import URL, legacy_csv, track
from tests.web_support import CLUSTERS, build_artifact

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]  # make fuzz runs more of them

LONG = "DOTIFY_FUZZ_EXAMPLES" in os.environ
FUZZ = settings(max_examples=int(os.environ.get("DOTIFY_FUZZ_EXAMPLES", "25")),
                derandomize=not LONG, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
_days = itertools.count()  # every example charts days of its own: nothing is replaced


def _fresh_day() -> date:
    return date(2001, 1, 1) + timedelta(days=next(_days) % 7000)


# --- chart files ---------------------------------------------------------------------------

def _ranking(day: date, rows: int) -> bytes:
    lines = ["Position,Track Name,Artist,Streams,URL,Date,Region"]
    for market in ("se", "no", "global"):
        lines += [f"{p},Song {p},Artist,{9000 - p},{URL}{track(p)},{day},{market}"
                  for p in range(1, rows + 1)]
    return ("\n".join(lines) + "\n").encode()


def _charts_com(rows: int) -> bytes:
    head = "\ufeffrank,uri,artist_names,track_name,source,peak_rank,previous_rank," \
           "days_on_chart,streams\n"
    body = "".join(f'{p},spotify:track:{track(p)},"A, B",Song {p},L,1,1,1,{5000 - p}\n'
                   for p in range(1, rows + 1))
    return (head + body).encode()


BASES = st.sampled_from(["legacy", "ranking", "charts-com"])
MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("cut"), st.integers(0, 10**6)),
    st.tuples(st.just("drop-line"), st.integers(0, 10**6)),
    st.tuples(st.just("repeat-line"), st.integers(0, 10**6)),
    st.tuples(st.just("shuffle-columns"), st.permutations(range(5)), st.booleans()),
    st.tuples(st.just("number"), st.integers(0, 10**6), st.one_of(
        st.integers(-(10**30), 10**30), st.sampled_from([
            "9223372036854775808", "1e9", "NaN", "", " ", "0x10", "1_000", "١٢", "-0",
            "9" * 5000, "12.5", "1,2,3"]))),
    st.tuples(st.just("encoding"), st.sampled_from(["utf-16", "latin-1", "cp1252",
                                                    "utf-8-sig", "utf-32"])),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=40)),
    st.tuples(st.just("long-line"), st.integers(0, 10**6), st.integers(1, 200_000)),
)
WRAPS = st.sampled_from(["plain", "gz", "tar.gz", "gz.gz", "tar-in-tar"])


def _mutate(data: bytes, mutation: tuple) -> bytes:
    kind, *args = mutation
    lines = data.split(b"\n")
    if kind == "flip" and data:
        i = args[0] % len(data)
        return data[:i] + bytes([args[1]]) + data[i + 1:]
    if kind == "cut":
        return data[: args[0] % (len(data) + 1)]
    if kind in ("drop-line", "repeat-line", "number", "long-line") and len(lines) > 1:
        i = args[0] % (len(lines) - 1)
        if kind == "drop-line":
            del lines[i]
        elif kind == "repeat-line":
            lines.insert(i, lines[i])
        elif kind == "long-line":
            lines[i] = lines[i] + b"x" * args[1]
        else:
            fields = lines[i].split(b",")
            fields[min(3, len(fields) - 1)] = str(args[1]).encode()
            lines[i] = b",".join(fields)
        return b"\n".join(lines)
    if kind == "shuffle-columns":
        order, header_only = args
        out = []
        for n, line in enumerate(lines):
            fields = line.split(b",")
            if len(fields) >= 5 and (n == 0 or not header_only):
                fields[:5] = [fields[k] for k in order]
            out.append(b",".join(fields))
        return b"\n".join(out)
    if kind == "encoding":
        return data.decode("utf-8", "replace").encode(args[0], "replace")
    if kind == "insert":
        i = args[0] % (len(data) + 1)
        return data[:i] + args[1] + data[i:]
    return data


def _tar(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _wrap(name: str, data: bytes, wrap: str) -> tuple[str, bytes]:
    if wrap == "gz":
        return name + ".gz", gzip.compress(data)
    if wrap == "gz.gz":
        return name + ".gz", gzip.compress(gzip.compress(data))
    if wrap == "tar.gz":
        return "charts.tar.gz", _tar({f"charts/{name}": data})
    if wrap == "tar-in-tar":
        return "charts.tar.gz", _tar({"inner.tar.gz": _tar({name: data}), name: data})
    return name, data


def _counts(store: Store) -> tuple[int, int]:
    with store.engine.connect() as conn:
        return (conn.execute(sa.select(sa.func.count()).select_from(charts)).scalar_one(),
                conn.execute(sa.select(sa.func.count()).select_from(chart_entries))
                .scalar_one())


def _store_is_sound(store: Store) -> None:
    with store.engine.connect() as conn:
        running = conn.execute(sa.select(sa.func.count()).select_from(ingested_files)
                               .where(ingested_files.c.status == "running")).scalar_one()
        low, high, first, last = conn.execute(sa.select(
            sa.func.min(chart_entries.c.streams), sa.func.max(chart_entries.c.streams),
            sa.func.min(chart_entries.c.position), sa.func.max(chart_entries.c.position))).one()
        empty = conn.execute(sa.select(sa.func.count()).select_from(charts).where(
            ~sa.exists().where(chart_entries.c.chart_id == charts.c.id))).scalar_one()
    assert running == 0 and empty == 0
    if low is not None:
        assert 0 <= low <= high <= MAX_STREAMS and 1 <= first <= last <= MAX_POSITION


@pytest.fixture
def fuzz_store(db_settings: Settings):  # -> Iterator[Store]; PostgreSQL too when given
    store = Store(engine_for(db_settings))
    yield store
    store.engine.dispose()


@FUZZ
@given(base=BASES, rows=st.integers(1, 30),
       mutations=st.lists(MUTATION, min_size=0, max_size=3), wrap=WRAPS)
def test_mutated_chart_files(fuzz_store: Store, tmp_path: Path, base: str, rows: int,
                             mutations: list[tuple], wrap: str) -> None:
    day = _fresh_day()
    if base == "ranking":
        name, data = f"ranking-{day}.csv", _ranking(day, rows)
    else:
        name = f"regional-se-daily-{day}.csv"
        data = legacy_csv(rows) if base == "legacy" else _charts_com(rows)
    for mutation in mutations:
        data = _mutate(data, mutation)
    name, data = _wrap(name, data, wrap)
    path = tmp_path / f"{next(_days)}" / name
    path.parent.mkdir()
    path.write_bytes(data)
    before = _counts(fuzz_store)
    report = ingest_paths(fuzz_store, [path])  # never raises, whatever the bytes
    after = _counts(fuzz_store)
    event("ingested" if report.ok else "rejected")
    for error in report.errors:
        assert str(error).startswith(str(path)) and error.reason.strip()
        assert "Traceback" not in error.reason
    assert report.files >= 1 or report.skipped
    if base != "ranking" and wrap in ("plain", "gz", "gz.gz") and not report.ok:
        assert after == before  # a rejected one-chart file leaves nothing behind
    assert after[0] - before[0] == report.charts_written
    if report.charts_replaced == 0:
        assert after[1] - before[1] == report.rows
    _store_is_sound(fuzz_store)


# --- expressions into the CLI --------------------------------------------------------------

NAMES = [*sorted({c for cs in CLUSTERS.values() for c in cs}), "Colombia", "Turkey",
         "Germany", "South Korea", "Narnia", "côte d'ivoire", "日本"]
PIECES = st.one_of(st.sampled_from(NAMES),
                   st.sampled_from(["+", "-", "x", "*", "/", "÷", "(", ")", "--", "-n", "-x",
                                    "--json", "=", "0", "1e9", "", " ", "\t", "\u200b"]),
                   st.text(max_size=12))
EXPRESSION = st.lists(PIECES, min_size=1, max_size=8)


def _run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["dotify", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                pytest.raises(SystemExit) as done:
            main()
    finally:
        sys.argv = argv
    code = done.value.code if isinstance(done.value.code, int) else 1
    return code, out.getvalue(), err.getvalue()


@FUZZ
@given(command=st.sampled_from(["recommend", "similar", "top"]), words=EXPRESSION,
       joined=st.booleans())
def test_mutated_expressions_in_the_cli(web_settings: Settings, command: str,
                                        words: list[str], joined: bool) -> None:
    args = [" ".join(words)] if joined else words
    code, out, err = _run_cli([command, *args, "--json"])
    event(f"exit {code}")
    assert code in (0, 2), (code, err)  # 2: a usage error or a library error, said once
    assert "Traceback" not in err
    if code == 0:
        json.loads(out)
    else:
        assert "error" in err.lower() or "usage" in err.lower()


# --- JSON bodies into the API --------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)
BODY = st.one_of(
    JSON,
    st.fixed_dictionaries({"expression": st.one_of(st.text(max_size=300),
                                                   st.builds(" ".join, EXPRESSION))},
                          optional={"n": JSON | st.integers(-5, 200), "popularity": JSON,
                                    "discover": JSON, "tokens": JSON}),
    st.fixed_dictionaries({"tokens": st.lists(PIECES, max_size=12)},
                          optional={"n": st.integers(-5, 200)}),
)
DOCUMENTED = {200, 400, 404, 413, 422, 503}


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    build_artifact(settings.models_dir)
    return settings


@FUZZ
@given(body=BODY, raw=st.one_of(st.none(), st.binary(max_size=200)))
def test_mutated_json_bodies_in_the_api(web_settings: Settings, body: object,
                                        raw: bytes | None) -> None:
    client = _client(web_settings)
    content = raw if raw is not None else json.dumps(body, allow_nan=True).encode()
    response = client.post("/api/recommendations", content=content,
                           headers={"content-type": "application/json"})
    assert response.status_code in DOCUMENTED, response.text
    event(f"HTTP {response.status_code}")
    if response.status_code != 200:
        assert "detail" in response.json()
    assert "Traceback" not in response.text and str(web_settings.home) not in response.text


@FUZZ
@given(code=st.text(max_size=70), n=st.one_of(st.integers(-3, 300), st.text(max_size=5)),
       popularity=st.one_of(st.floats(), st.text(max_size=5)),
       route=st.sampled_from(["top", "similar"]))
def test_mutated_country_routes(web_settings: Settings, code: str, n: object,
                                popularity: object, route: str) -> None:
    client = _client(web_settings)
    response = client.get(f"/api/countries/{quote(code, safe='')}/{route}",
                          params={"n": str(n), "popularity": str(popularity)})
    assert response.status_code in DOCUMENTED, response.text
    if response.status_code != 200:
        assert "detail" in response.json()


_clients: dict[str, TestClient] = {}


def _client(settings: Settings) -> TestClient:
    key = str(settings.home)
    if key not in _clients:
        _clients.clear()
        _clients[key] = TestClient(create_app(settings, check_every=3600))
    return _clients[key]
