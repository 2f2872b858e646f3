"""The simulator's markets: planted cluster, language, size and chart shape of each.

Sizes and power-law exponents were calibrated on the real 2019-2021 weekly charts of 55
markets (median daily streams at position 1, and the fall-off from position 1 to 200);
the 21 markets outside that scrape (among them 17 of the 20 that joined the daily charts
after 2017) carry rough guesses of cluster, size, shape and local weight. The table is part
of the seed: every market's size weighs where songs come from, so changing a row changes
every chart. A chart's streams at position ``p`` are
``top * ((p + 3) / 4) ** -exponent`` (``tests/test_simulate.py`` holds the simulated US
medians at positions 1 to 200 near those of the real US daily charts of 2020).
``local`` weighs a market's own songs against regional and global ones (Japan and Turkey
chart mostly their own music, the US little that is not also a global hit).

``start`` is the day a market's real daily top 200 began: 53 markets chart from the first
day of the daily charts, 2017-01-01; 20 joined later, mostly when Spotify launched there
(``_STARTS``, from the launch announcements; the days are rough, see the comments). The
simulator writes a market's charts only from that day when asked to (``real_starts``);
``DAILY_MARKETS`` lists the 73 markets of the daily charts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

DAILY_START = date(2017, 1, 1)  # the first day of the real daily charts


@dataclass(frozen=True)
class Profile:
    code: str
    cluster: str
    language: str
    top: float  # median daily streams of the number one in 2020
    exponent: float  # power-law fall-off of streams with position
    local: float = 1.0  # weight of local songs
    churn: float = 15.0  # median new entries per week in the real weekly top 200
    start: date | None = DAILY_START  # the first day of its real daily chart; None: never


# code, cluster, language, top daily streams, exponent, local weight
_PROFILES: tuple[tuple[str, str, str, float, float, float], ...] = (
    ("ar", "latin", "spanish", 358900, 0.68, 1.0),
    ("bo", "latin", "spanish", 21300, 0.65, 1.0),
    ("cl", "latin", "spanish", 352400, 0.71, 1.0),
    ("co", "latin", "spanish", 98900, 0.64, 1.0),
    ("cr", "latin", "spanish", 38500, 0.65, 1.0),
    ("do", "latin", "spanish", 20500, 0.68, 1.0),
    ("ec", "latin", "spanish", 50300, 0.64, 1.0),
    ("gt", "latin", "spanish", 37500, 0.62, 1.0),
    ("hn", "latin", "spanish", 16700, 0.69, 1.0),
    ("mx", "latin", "spanish", 743100, 0.59, 1.0),
    ("ni", "latin", "spanish", 7000, 0.61, 1.0),
    ("pa", "latin", "spanish", 22500, 0.71, 1.0),
    ("pe", "latin", "spanish", 157900, 0.71, 1.0),
    ("py", "latin", "spanish", 46800, 0.77, 1.0),
    ("sv", "latin", "spanish", 18500, 0.63, 1.0),
    ("uy", "latin", "spanish", 24700, 0.68, 1.0),
    ("es", "latin", "spanish", 466500, 0.67, 1.5),
    ("ad", "latin", "spanish", 940, 0.71, 0.5),
    ("br", "lusophone", "portuguese", 666500, 0.55, 4.0),
    ("pt", "lusophone", "portuguese", 38100, 0.57, 1.0),
    ("us", "anglo", "english", 1817100, 0.55, 1.2),
    ("ca", "anglo", "english", 267000, 0.56, 0.6),
    ("gb", "anglo", "english", 506500, 0.60, 1.2),
    ("ie", "anglo", "english", 70900, 0.66, 0.7),
    ("au", "anglo", "english", 292000, 0.58, 0.8),
    ("nz", "anglo", "english", 55100, 0.56, 0.6),
    ("za", "anglo", "english", 40000, 0.60, 1.5),
    ("ng", "anglo", "english", 8000, 0.60, 2.0),
    ("se", "nordic", "nordic", 217800, 0.63, 2.0),
    ("no", "nordic", "nordic", 137100, 0.67, 1.3),
    ("dk", "nordic", "nordic", 88600, 0.59, 1.3),
    ("fi", "nordic", "finnish", 68700, 0.62, 3.0),
    ("is", "nordic", "nordic", 9100, 0.62, 1.0),
    ("de", "german", "german", 757100, 0.65, 2.0),
    ("at", "german", "german", 45100, 0.60, 0.7),
    ("ch", "german", "german", 53400, 0.58, 0.8),
    ("nl", "german", "dutch", 286500, 0.63, 1.5),
    ("fr", "francophone", "french", 370000, 0.58, 3.0),
    ("be", "francophone", "french", 64600, 0.61, 1.0),
    ("lu", "francophone", "french", 4000, 0.60, 0.5),
    ("mc", "francophone", "french", 300, 0.70, 0.3),
    ("pl", "central", "polish_czech", 116800, 0.52, 3.0),
    ("cz", "central", "polish_czech", 24600, 0.50, 1.3),
    ("sk", "central", "polish_czech", 11100, 0.54, 1.0),
    ("hu", "central", "hungarian", 19900, 0.56, 1.5),
    ("ee", "baltic", "baltic", 6000, 0.60, 1.0),
    ("lv", "baltic", "baltic", 5400, 0.52, 1.0),
    ("lt", "baltic", "baltic", 6500, 0.58, 1.0),
    ("it", "mediterranean", "italian", 429800, 0.62, 5.0),
    ("gr", "mediterranean", "greek", 25300, 0.66, 2.0),
    ("tr", "mediterranean", "turkish", 254000, 0.61, 7.0),
    ("bg", "mediterranean", "russian", 4970, 0.55, 1.0),
    ("cy", "mediterranean", "greek", 3500, 0.60, 0.7),
    ("mt", "mediterranean", "english", 2500, 0.60, 0.5),
    ("ro", "mediterranean", "romanian", 40000, 0.60, 1.5),
    ("il", "mediterranean", "hebrew", 15000, 0.60, 1.5),
    ("ru", "eastern", "russian", 150000, 0.60, 4.0),
    ("ua", "eastern", "russian", 40000, 0.60, 1.5),
    ("by", "eastern", "russian", 5000, 0.60, 1.0),
    ("kz", "eastern", "russian", 15000, 0.60, 1.0),
    ("ae", "arabic", "arabic", 15000, 0.60, 0.8),
    ("sa", "arabic", "arabic", 40000, 0.60, 1.5),
    ("eg", "arabic", "arabic", 30000, 0.60, 2.0),
    ("ma", "arabic", "arabic", 15000, 0.60, 1.5),
    ("in", "south_asia", "hindi", 150000, 0.60, 5.0),
    ("pk", "south_asia", "hindi", 10000, 0.60, 2.0),
    ("jp", "east_asia", "japanese", 181700, 0.65, 6.0),
    ("kr", "east_asia", "korean", 20000, 0.60, 6.0),
    ("tw", "east_asia", "chinese", 44500, 0.54, 1.5),
    ("hk", "east_asia", "chinese", 20800, 0.52, 1.0),
    ("id", "southeast_asia", "indonesian", 293700, 0.59, 2.5),
    ("my", "southeast_asia", "indonesian", 63100, 0.60, 1.0),
    ("ph", "southeast_asia", "tagalog", 282800, 0.62, 1.5),
    ("sg", "southeast_asia", "english", 58400, 0.58, 0.6),
    ("th", "southeast_asia", "thai_viet", 60000, 0.60, 2.0),
    ("vn", "southeast_asia", "thai_viet", 30000, 0.60, 2.0),
)

# Latin America, Brazil, Turkey and Japan keep their hits for months; the US, the Nordics and
# the German-speaking markets turn over fast (real weekly charts, 2019-2021)
_CHURN: dict[str, float] = {
    "ad": 7, "ar": 10, "at": 22, "au": 12, "be": 17, "bg": 15, "bo": 8, "br": 11, "ca": 20,
    "ch": 26, "cl": 11, "co": 10, "cr": 9, "cz": 13, "de": 26, "dk": 17, "do": 12, "ec": 8,
    "ee": 18, "es": 13, "fi": 23, "fr": 25, "gb": 18, "gr": 16, "gt": 9, "hk": 13, "hn": 10,
    "hu": 14, "id": 8, "ie": 15, "is": 16, "it": 19, "jp": 11, "lt": 15, "lv": 15, "mx": 8,
    "my": 12, "ni": 9, "nl": 24, "no": 19, "nz": 12, "pa": 11, "pe": 9, "ph": 8, "pl": 15,
    "pt": 14, "py": 9, "se": 21, "sg": 11, "sk": 16, "sv": 8, "tr": 11, "tw": 16, "us": 23,
    "uy": 11,
}

# markets whose daily chart began after 2017-01-01 (the rest of the 73 chart from then on)
_STARTS: dict[str, date] = {
    "th": date(2017, 8, 22),  # Spotify's launch
    "bg": date(2018, 7, 1),  # absent from the 2017 daily charts, present from the first week
    "ni": date(2018, 7, 1),  # of the 2019 weekly scrape: some day of 2018, mid-year guessed
    "il": date(2018, 3, 13), "ro": date(2018, 3, 13),  # Israel, Romania, South Africa
    "vn": date(2018, 3, 13), "za": date(2018, 3, 13),  # and Vietnam: launched together
    "ae": date(2018, 11, 13), "eg": date(2018, 11, 13),  # the Middle East and
    "ma": date(2018, 11, 13), "sa": date(2018, 11, 13),  # North Africa launch
    "in": date(2019, 2, 26),
    "by": date(2020, 7, 15), "kz": date(2020, 7, 15),  # launched with Russia (whose chart
    "ru": date(2020, 7, 15), "ua": date(2020, 7, 15),  # ended in 2022: not simulated)
    "kr": date(2021, 2, 1),
    "ng": date(2021, 2, 23), "pk": date(2021, 2, 23),  # the 85-market launch of 2021
    # Andorra's chart shows in the weekly scrape from 2020-09-04 only, on and off; simulated
    # from 2020-01-01, the simulator's default start, so that its 55 markets chart from there
    "ad": date(2020, 1, 1),
}
_NO_DAILY_CHART = ("cy", "mc", "mt")  # in the registry, never on the daily charts

PROFILES: dict[str, Profile] = {
    row[0]: Profile(*row, churn=_CHURN.get(row[0], 15.0),
                    start=None if row[0] in _NO_DAILY_CHART else _STARTS.get(row[0], DAILY_START))
    for row in _PROFILES
}
CODES: tuple[str, ...] = tuple(PROFILES)  # fixed order: indices into it are part of the seed
CLUSTERS: tuple[str, ...] = tuple(dict.fromkeys(p.cluster for p in PROFILES.values()))

# the 55 markets of the real 2019-2021 weekly scrape
DEFAULT_MARKETS: tuple[str, ...] = tuple(sorted(
    "ad ar at au be bg bo br ca ch cl co cr cz de dk do ec ee es fi fr gb gr gt hk hn hu id "
    "ie is it jp lt lv mx my ni nl no nz pa pe ph pl pt py se sg sk sv tr tw us uy".split()
))

# the 73 markets of the real daily charts (2017 on), in the order of their start, then code
DAILY_MARKETS: tuple[str, ...] = tuple(sorted(
    (code for code, p in PROFILES.items() if p.start is not None),
    key=lambda code: (PROFILES[code].start, code)))

# where global hits come from (the rest: any market, by size)
GLOBAL_ORIGINS: dict[str, float] = {
    "us": 0.40, "gb": 0.10, "ca": 0.06, "au": 0.03, "mx": 0.04, "co": 0.04, "ar": 0.03,
    "es": 0.03, "kr": 0.04, "de": 0.02, "se": 0.03, "fr": 0.02, "br": 0.02, "nl": 0.02,
}
