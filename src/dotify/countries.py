"""The registry of Spotify Charts markets (2017-2021): ISO code, name, aliases, region.

``lookup("UK")`` -> the ``gb`` market; unknown names raise :class:`UnknownCountryError`
with the closest matches. ``global`` is a known chart but not a country.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass
from functools import cache

from dotify.errors import UnknownCountryError

GLOBAL = "global"


@dataclass(frozen=True)
class Market:
    code: str  # lower-case ISO 3166-1 alpha-2
    name: str
    region: str
    aliases: tuple[str, ...] = ()

    @property
    def is_country(self) -> bool:
        return self.code != GLOBAL


# code, English name, region, aliases people type
_MARKETS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("ar", "Argentina", "Latin America", ()),
    ("bo", "Bolivia", "Latin America", ()),
    ("br", "Brazil", "Latin America", ("Brasil",)),
    ("cl", "Chile", "Latin America", ()),
    ("co", "Colombia", "Latin America", ()),
    ("cr", "Costa Rica", "Latin America", ()),
    ("do", "Dominican Republic", "Latin America",
     ("Dominican Rep", "Republica Dominicana")),
    ("ec", "Ecuador", "Latin America", ()),
    ("gt", "Guatemala", "Latin America", ()),
    ("hn", "Honduras", "Latin America", ()),
    ("mx", "Mexico", "Latin America", ("México",)),
    ("ni", "Nicaragua", "Latin America", ()),
    ("pa", "Panama", "Latin America", ("Panamá",)),
    ("pe", "Peru", "Latin America", ("Perú",)),
    ("py", "Paraguay", "Latin America", ()),
    ("sv", "El Salvador", "Latin America", ("Salvador",)),
    ("uy", "Uruguay", "Latin America", ()),
    ("us", "United States", "North America",
     ("USA", "US", "America", "United States of America", "U.S.", "U.S.A.")),
    ("ca", "Canada", "North America", ()),
    ("gb", "United Kingdom", "Western Europe",
     ("UK", "Great Britain", "Britain", "England", "U.K.")),
    ("ie", "Ireland", "Western Europe", ("Eire",)),
    ("fr", "France", "Western Europe", ()),
    ("be", "Belgium", "Western Europe", ("Belgique", "België")),
    ("nl", "Netherlands", "Western Europe", ("Holland", "The Netherlands", "Nederland")),
    ("lu", "Luxembourg", "Western Europe", ()),
    ("mc", "Monaco", "Western Europe", ()),
    ("de", "Germany", "Central Europe", ("Deutschland",)),
    ("at", "Austria", "Central Europe", ("Österreich",)),
    ("ch", "Switzerland", "Central Europe", ("Schweiz", "Suisse")),
    ("pl", "Poland", "Central Europe", ("Polska",)),
    ("cz", "Czech Republic", "Central Europe", ("Czechia", "Czech", "Cesko")),
    ("sk", "Slovakia", "Central Europe", ("Slovak Republic",)),
    ("hu", "Hungary", "Central Europe", ("Magyarorszag",)),
    ("se", "Sweden", "Nordics", ("Sverige",)),
    ("no", "Norway", "Nordics", ("Norge",)),
    ("dk", "Denmark", "Nordics", ("Danmark",)),
    ("fi", "Finland", "Nordics", ("Suomi",)),
    ("is", "Iceland", "Nordics", ("Ísland",)),
    ("ee", "Estonia", "Baltics", ("Eesti",)),
    ("lv", "Latvia", "Baltics", ("Latvija",)),
    ("lt", "Lithuania", "Baltics", ("Lietuva",)),
    ("es", "Spain", "Southern Europe", ("España",)),
    ("pt", "Portugal", "Southern Europe", ()),
    ("it", "Italy", "Southern Europe", ("Italia",)),
    ("gr", "Greece", "Southern Europe", ("Hellas",)),
    ("cy", "Cyprus", "Southern Europe", ()),
    ("mt", "Malta", "Southern Europe", ()),
    ("ad", "Andorra", "Southern Europe", ()),
    ("ro", "Romania", "Eastern Europe", ()),
    ("bg", "Bulgaria", "Eastern Europe", ()),
    ("ua", "Ukraine", "Eastern Europe", ()),
    ("ru", "Russia", "Eastern Europe", ("Russian Federation",)),
    ("by", "Belarus", "Eastern Europe", ()),
    ("kz", "Kazakhstan", "Eastern Europe", ()),
    ("tr", "Turkey", "Middle East & Africa", ("Türkiye", "Turkiye")),
    ("il", "Israel", "Middle East & Africa", ()),
    ("ae", "United Arab Emirates", "Middle East & Africa", ("UAE", "Emirates")),
    ("sa", "Saudi Arabia", "Middle East & Africa", ("KSA",)),
    ("eg", "Egypt", "Middle East & Africa", ()),
    ("ma", "Morocco", "Middle East & Africa", ()),
    ("za", "South Africa", "Middle East & Africa", ("RSA",)),
    ("ng", "Nigeria", "Middle East & Africa", ()),
    ("au", "Australia", "Oceania", ("Oz",)),
    ("nz", "New Zealand", "Oceania", ("Aotearoa",)),
    ("jp", "Japan", "East Asia", ("Nippon",)),
    ("kr", "South Korea", "East Asia", ("Korea", "Republic of Korea")),
    ("tw", "Taiwan", "East Asia", ()),
    ("hk", "Hong Kong", "East Asia", ()),
    ("id", "Indonesia", "Southeast Asia", ()),
    ("my", "Malaysia", "Southeast Asia", ()),
    ("ph", "Philippines", "Southeast Asia", ("The Philippines",)),
    ("sg", "Singapore", "Southeast Asia", ()),
    ("th", "Thailand", "Southeast Asia", ()),
    ("vn", "Vietnam", "Southeast Asia", ("Viet Nam",)),
    ("in", "India", "South Asia", ("Bharat",)),
    ("pk", "Pakistan", "South Asia", ()),
    (GLOBAL, "Global", "Global", ("World", "Worldwide")),
)

MARKETS: dict[str, Market] = {
    code: Market(code, name, region, aliases) for code, name, region, aliases in _MARKETS
}
REGIONS: tuple[str, ...] = tuple(dict.fromkeys(m.region for m in MARKETS.values()))


def normalise(text: str) -> str:
    """Lower-case, strip accents, dots and surrounding space: 'Türkiye ' -> 'turkiye'."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.replace(".", "").replace("_", " ").replace("-", " ").split())


@cache
def _index() -> dict[str, str]:
    index: dict[str, str] = {}
    for market in MARKETS.values():
        for key in (market.code, market.name, *market.aliases):
            index[normalise(key)] = market.code
    return index


def lookup(name: str) -> Market:
    """Return the market for a code, name or alias, ignoring case and accents."""
    code = _index().get(normalise(name))
    if code is None:
        raise UnknownCountryError(name, suggest(name))
    return MARKETS[code]


def find(name: str) -> Market | None:
    """Like :func:`lookup` but return None for an unknown name."""
    code = _index().get(normalise(name))
    return MARKETS[code] if code else None


def suggest(name: str, n: int = 3) -> list[str]:
    """The names of the markets closest to ``name``, best first."""
    key = normalise(name)
    index = _index()
    close = difflib.get_close_matches(key, list(index), n=n * 3, cutoff=0.6)
    if not close:  # a typed prefix such as "colo"
        close = [k for k in index if len(key) >= 3 and k.startswith(key)]
    names = dict.fromkeys(MARKETS[index[k]].name for k in close)
    return list(names)[:n]


def countries() -> list[Market]:
    """Every market that is a country (``global`` left out), sorted by name."""
    return sorted((m for m in MARKETS.values() if m.is_country), key=lambda m: m.name)
