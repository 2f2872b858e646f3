"""dotify CLI commands (query): ``recommend``, ``similar`` and ``top``, through the public
API (:mod:`dotify.api`)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from itertools import islice
from typing import Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperCommand

from dotify import api
from dotify.cli._app import app, console, settings
from dotify.cli.options import DATE_FORMATS
from dotify.errors import ExpressionError
from dotify.query import recommend as engine


class Format(StrEnum):
    table = "table"
    json = "json"
    uris = "uris"
    csv = "csv"


_N = Annotated[int, typer.Option("-n", "--count", min=1, max=engine.MAX_N,
                                 help="How many results.")]
_POPULARITY = Annotated[float, typer.Option(
    "--popularity", min=0.0, max=1.0,
    help="0: songs most specific to the query's taste; 1: favour global hits.")]
_JSON = Annotated[bool, typer.Option("--json", help="Print JSON to stdout (= --format json).")]
_FORMAT = Annotated[Format, typer.Option("--format", "-f", help="table, json, uris or csv.")]
_DAY = DATE_FORMATS


class ExpressionCommand(TyperCommand):
    """A command whose arguments are a country expression: a word starting with '-'
    (``"-Germany + Colombia"``) belongs to it unless it is one of the command's options."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, expression_last(self.get_params(ctx), ctx, args))


def expression_last(params: list[Any], ctx: typer.Context, args: list[str]) -> list[str]:
    """``args`` with the options (and their values) first, then ``--`` and the words of the
    expression, so that no word of it is read as an option."""
    options = {name: p for p in params if p.param_type_name == "option"
               for name in (*p.opts, *p.secondary_opts)}
    front: list[str] = []
    words: list[str] = []
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            words.extend(rest)
            break
        option = options.get(arg.split("=", 1)[0] if arg.startswith("--") else arg)
        if option is not None:
            front.append(arg)
            if not option.is_flag and "=" not in arg:
                front.extend(islice(rest, 1))  # its value, whatever it looks like
        elif _attached_value(options.get(arg[:2]), arg[2:], ctx):
            front.append(arg)  # "-n5": a short option and its value in one word
        else:
            words.append(arg)
    return [*front, "--", *words] if words else front


def _attached_value(option: Any, value: str, ctx: typer.Context) -> bool:
    if option is None or option.is_flag or not value:
        return False
    try:
        option.process_value(ctx, value)
    except Exception:  # noqa: BLE001 (the parser's BadParameter)
        return False  # "-netherlands" is a country, not "-n etherlands"
    return True


@app.command("recommend", cls=ExpressionCommand)
def recommend_command(
    ctx: typer.Context,
    expression: Annotated[list[str], typer.Argument(help='e.g. "Colombia x Turkey - Germany"')],
    n: _N = 10,
    popularity: _POPULARITY = engine.DEFAULT_POPULARITY,
    discover: Annotated[bool, typer.Option(
        "--discover", help="Leave out songs already charting where asked.")] = False,
    since: Annotated[datetime | None, typer.Option(
        formats=_DAY, help="Only songs charting on or after this day.")] = None,
    until: Annotated[datetime | None, typer.Option(
        formats=_DAY, help="Only songs charting on or before this day.")] = None,
    as_json: _JSON = False,
    fmt: _FORMAT = Format.table,
) -> None:
    """Songs for a country expression: "Colombia x Turkey - Germany"."""
    model = api.load_model(settings(ctx))
    text = " ".join(expression)
    with _pointing_at(text):
        result = api.recommend(model, text, n=n, popularity=popularity, discover=discover,
                               since=_day(since), until=_day(until))
    _print_songs(result, Format.json if as_json else fmt)


@app.command("top", cls=ExpressionCommand)
def top_command(
    ctx: typer.Context,
    country: Annotated[list[str], typer.Argument(help="A country: name, ISO code or alias.")],
    n: _N = 10,
    popularity: _POPULARITY = engine.DEFAULT_POPULARITY,
    as_json: _JSON = False,
    fmt: _FORMAT = Format.table,
) -> None:
    """A country's best songs by its own vector."""
    model = api.load_model(settings(ctx))
    with _pointing_at(" ".join(country)):
        result = api.top(model, " ".join(country), n=n, popularity=popularity)
    _print_songs(result, Format.json if as_json else fmt)


@app.command("similar", cls=ExpressionCommand)
def similar_command(
    ctx: typer.Context,
    country: Annotated[list[str], typer.Argument(help="A country (or an expression).")],
    n: _N = 10,
    as_json: _JSON = False,
) -> None:
    """The countries whose taste is nearest to a country's (cosine of their vectors)."""
    model = api.load_model(settings(ctx))
    with _pointing_at(" ".join(country)):
        found = api.similar(model, " ".join(country), n=n)
    if as_json:
        sys.stdout.write(json.dumps([c.to_dict() for c in found], ensure_ascii=False) + "\n")
        return
    table = Table("#", "country", "code", "similarity", title=f"Nearest to {' '.join(country)}")
    for c in found:
        table.add_row(str(c.rank), c.name, c.code, f"{c.similarity:.3f}")
    console.print(table)


@contextmanager
def _pointing_at(text: str) -> Iterator[None]:
    """On a syntax error, show the expression with a caret under the position, then fail."""
    try:
        yield
    except ExpressionError as error:
        if error.position is not None:
            console.print(f"  {text}\n  {' ' * error.position}^", highlight=False, markup=False)
        raise


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _print_songs(result: engine.Recommendation, fmt: Format) -> None:
    if fmt is Format.json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    elif fmt is Format.uris:
        sys.stdout.write("".join(f"{s.uri}\n" for s in result.songs if s.uri))
    elif fmt is Format.csv:
        _write_csv(result)
    else:
        console.print(_table(result))


def _table(result: engine.Recommendation) -> Table:
    table = Table("#", "title", "artists", "match", "from", title=result.parsed)
    for s in result.songs:
        shares = ", ".join(f"{k} {v:+.2f}" for k, v in s.contributions.items())
        table.add_row(str(s.rank), s.title, s.artists, f"{s.match:.0f}", shares)
    return table


def _write_csv(result: engine.Recommendation) -> None:
    names = list(result.songs[0].contributions) if result.songs else []
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["rank", "title", "artists", "url", "uri", "score", "match", *names])
    for s in result.songs:
        writer.writerow([s.rank, s.title, s.artists, s.url, s.uri, f"{s.score:.6f}",
                         f"{s.match:.1f}", *(f"{s.contributions[k]:.6f}" for k in names)])
