"""The market registry: codes, names, aliases, regions, suggestions."""

from __future__ import annotations

import pytest

from dotify import countries
from dotify.errors import UnknownCountryError


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("UK", "gb"), ("Great Britain", "gb"), ("gb", "gb"), ("united kingdom", "gb"),
        ("USA", "us"), ("United States", "us"), ("u.s.a.", "us"),
        ("Czech Republic", "cz"), ("Czechia", "cz"), ("Czech", "cz"),
        ("Türkiye", "tr"), ("turkey", "tr"), ("TURKIYE", "tr"),
        ("colombia", "co"), ("CO", "co"), ("  Colombia ", "co"), ("méxico", "mx"),
        ("South Korea", "kr"), ("costa rica", "cr"), ("Dominican Republic", "do"),
    ],
)
def test_lookup_by_code_name_and_alias(typed: str, code: str) -> None:
    assert countries.lookup(typed).code == code


def test_global_is_known_but_not_a_country() -> None:
    market = countries.lookup("global")
    assert market.code == countries.GLOBAL
    assert not market.is_country
    assert all(m.is_country for m in countries.countries())
    assert "global" not in {m.code for m in countries.countries()}


def test_registry_covers_the_chart_markets() -> None:
    codes = {m.code for m in countries.countries()}
    assert 65 <= len(codes) <= 80
    weekly_scrape = (
        "ad ar at au be bg bo br ca ch cl co cr cz de dk do ec ee es fi fr gb gr gt hk hn hu id "
        "ie is it jp lt lu lv mx my ni nl no nz pa pe ph pl pt py ro se sg sk sv tr tw us uy"
    )
    assert set(weekly_scrape.split()) <= codes
    assert all(len(code) == 2 and code.islower() for code in codes)


def test_every_market_has_a_region_from_the_list() -> None:
    for market in countries.MARKETS.values():
        assert market.region in countries.REGIONS


def test_aliases_are_unambiguous() -> None:
    seen: dict[str, str] = {}
    for market in countries.MARKETS.values():
        for key in (market.code, market.name, *market.aliases):
            norm = countries.normalise(key)
            assert seen.setdefault(norm, market.code) == market.code, f"{key!r} is ambiguous"


def test_unknown_country_suggests_the_closest() -> None:
    with pytest.raises(UnknownCountryError) as info:
        countries.lookup("Colombai")
    assert info.value.suggestions[0] == "Colombia"
    assert "Did you mean Colombia" in str(info.value)
    assert countries.find("Atlantis") is None
