"""Property-based run of the OpenAPI schema (schemathesis): no input gives a server error,
and every answer matches the documented status codes, content types and bodies.

Each operation gets its own hypothesis run (``max_examples=30``, derandomized) through
``APIOperation.as_strategy`` (schemathesis' pytest plugin does not load under pytest 9).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dotify.config import Settings
from dotify.query.arithmetic import parse
from dotify.query.recommend import cancels_out
from dotify.web import create_app
from tests.web_support import build_artifact

pytestmark = pytest.mark.slow

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
OPERATIONS = [
    "GET /healthz", "GET /api/countries", "GET /api/operators", "POST /api/recommendations",
    "GET /api/countries/{code}/similar", "GET /api/countries/{code}/top", "GET /api/map",
    "GET /api/model", "POST /api/model/reload", "GET /api/songs/history",
]


def _schema(home: Path):  # type: ignore[no-untyped-def]
    config = Settings(home=home, admin_token="token-for-schema-tests")
    build_artifact(config.models_dir)
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(config))


def test_every_operation_is_covered(home: Path) -> None:
    labels = [result.ok().label for result in _schema(home).get_all_operations()]
    assert sorted(labels) == sorted(OPERATIONS)


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_server_errors_and_documented_answers(home: Path, label: str) -> None:
    operations = {r.ok().label: r.ok() for r in _schema(home).get_all_operations()}
    seen: list[int] = []

    @given(case=operations[label].as_strategy())
    @settings(max_examples=30, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        seen.append(case.call_and_validate(checks=CHECKS).status_code)

    run()
    assert seen and max(seen) < 500


COUNTRY_WORDS = ["Colombia", "co", "TURKEY", "Türkiye", "Germany", "UK", "Mexico", "Japan",
                 "South Korea", "Brazil", "Sverige", "Chile"]


@given(terms=st.lists(st.sampled_from(COUNTRY_WORDS), min_size=1, max_size=6),
       ops=st.lists(st.sampled_from(["+", "-", "x", "*", "×", "/", "÷"]), min_size=5, max_size=5),
       n=st.integers(1, 100), popularity=st.floats(0, 1), as_tokens=st.booleans())
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_valid_expressions_always_get_songs(api_client, terms, ops, n, popularity,  # type: ignore[no-untyped-def]
                                            as_tokens) -> None:
    tokens = [terms[0]]
    for op, term in zip(ops, terms[1:], strict=False):
        tokens += [op, term]
    body = {"tokens": tokens} if as_tokens else {"expression": " ".join(tokens)}
    response = api_client.post("/api/recommendations", json={**body, "n": n,
                                                              "popularity": popularity})
    if cancels_out(parse(tokens)):  # e.g. "Colombia - co": 0 for every song
        assert response.status_code == 400, response.text
        assert "cancels out" in response.json()["detail"], response.text
        return
    assert response.status_code == 200, response.text
    songs = response.json()["songs"]
    assert len(songs) == min(n, 40)
    assert all(isinstance(s["score"], float) and math.isfinite(s["score"]) for s in songs)


@pytest.fixture(scope="module")
def api_client(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    config = Settings(home=tmp_path_factory.mktemp("home"))
    build_artifact(config.models_dir)
    return TestClient(create_app(config))
