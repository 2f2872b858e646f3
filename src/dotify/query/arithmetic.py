"""Country arithmetic: parse "Colombia x Turkey - Germany" into a tree, and evaluate it.

The binary operators, their spellings, precedence, evaluation and the words users see are
one table, :data:`OPERATORS`; the parser, the printed form, :func:`evaluate`, the web API
and the web page's buttons all read it. Grammar (a recursive-descent parser, left to right
within a level; ``OP(n)`` is any spelling of an operator of precedence ``n`` in the table)::

    expression := level(1) ["="]
    level(n)   := next (OP(n) next | <implicit *>)*   next: level(n+1); unary after the top
    unary      := ("-" | "+") unary | atom
    atom       := NUMBER | COUNTRY | "(" level(1) ")"

* Products and quotients (precedence 2) bind tighter than sums (1); ``A - B - C`` is
  ``(A - B) - C`` and ``A / B * C`` is ``(A / B) * C``. Unary minus binds tightest:
  ``-A * B`` is ``(-A) * B``.
* A number directly followed by a country or "(" multiplies it (:data:`IMPLICIT`, at the
  level of "*"): ``Colombia + 2 Turkey``.
* A country is an ISO code, a name or an alias, in any case and with or without accents
  ("CO", "colombia", "Türkiye", "UK"); names may have several words ("United States").
  Words are read first and a standalone word that spells an operator ("x") is then that
  operator, so "Mexico" and "Luxembourg" keep their x.
* Every term counts: the tree keeps all operands in order.
* At most :data:`MAX_LENGTH` characters, :data:`MAX_TERMS` countries and :data:`MAX_DEPTH`
  nested parentheses or signs.

``str(tree)`` is the canonical form ("Colombia * Turkey - Germany"), which parses back to
the same tree. Errors carry the 0-based character position of the problem.

Evaluation (:func:`evaluate`) works element by element on the values it is given for each
country (the engine passes each country's taste song by song, see
:mod:`dotify.query.tastes`), applying each operator's ``apply`` from
:mod:`dotify.query.algebra`. :func:`upper_bound` gives the largest value an expression can
reach (each operator's ``span``), the scale of a 0-100 match; :func:`span` the range of its
values for a range of each country's, which bounds the songs a query need not score
(:mod:`dotify.query.shortlist`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from dotify.countries import MARKETS, find, normalise, suggest
from dotify.errors import ExpressionError, UnknownCountryError
from dotify.query.algebra import (
    Span,
    Value,
    add,
    div,
    mul,
    span_add,
    span_div,
    span_mul,
    span_sub,
    sub,
)

MAX_LENGTH = 500
MAX_TERMS = 50
MAX_DEPTH = 32

IMPLICIT = "*"  # the operator between a number and the country or "(" right after it


# ---------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Country:
    code: str  # lower-case ISO code of the market
    pos: int = field(default=-1, compare=False, repr=False)

    @property
    def name(self) -> str:
        return MARKETS[self.code].name

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Number:
    value: float
    pos: int = field(default=-1, compare=False, repr=False)

    def __str__(self) -> str:
        if self.value.is_integer() and abs(self.value) < 1e15:
            return str(int(self.value))
        return repr(self.value)


@dataclass(frozen=True)
class Neg:
    operand: Node
    pos: int = field(default=-1, compare=False, repr=False)

    def __str__(self) -> str:
        inner = str(self.operand)
        return f"-({inner})" if isinstance(self.operand, BinOp) else f"-{inner}"


@dataclass(frozen=True)
class BinOp:
    op: str  # the canonical sign of one of OPERATORS
    left: Node
    right: Node
    pos: int = field(default=-1, compare=False, repr=False)

    def __str__(self) -> str:
        level = _BY_SIGN[self.op].precedence
        left, right = str(self.left), str(self.right)
        if isinstance(self.left, BinOp) and _BY_SIGN[self.left.op].precedence < level:
            left = f"({left})"
        # the right operand needs brackets at the same level too: A - (B - C), A / (B * C)
        if isinstance(self.right, BinOp) and _BY_SIGN[self.right.op].precedence <= level:
            right = f"({right})"
        return f"{left} {self.op} {right}"


Node = Country | Number | Neg | BinOp


def countries_in(tree: Node) -> list[Country]:
    """The country leaves of ``tree``, left to right (repeats kept)."""
    if isinstance(tree, Country):
        return [tree]
    if isinstance(tree, Neg):
        return countries_in(tree.operand)
    if isinstance(tree, BinOp):
        return countries_in(tree.left) + countries_in(tree.right)
    return []


# ---------------------------------------------------------------- tokens


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "country", "op", "(", ")", "=", "end"
    text: str
    pos: int
    value: object = None


_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[^\W\d_]+(?:['’.][^\W\d_]+)*\.?")
_SPACE = re.compile(r"\s+")


def _raw_tokens(text: str) -> list[_Token]:
    """Numbers, words, operators and brackets with their positions."""
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if (m := _SPACE.match(text, i)) is not None:
            i = m.end()
        elif (m := _NUMBER.match(text, i)) is not None:
            tokens.append(_Token("num", m.group(), i, _number(m.group(), i)))
            i = m.end()
        elif (m := _WORD.match(text, i)) is not None:
            word = m.group()
            op = _BY_SPELLING.get(word)
            tokens.append(_Token("word", word, i) if op is None else _Token("op", op.canonical, i))
            i = m.end()
        elif ch in _BY_SPELLING:
            tokens.append(_Token("op", _BY_SPELLING[ch].canonical, i))
            i += 1
        elif ch in "()=":
            tokens.append(_Token(ch, ch, i))
            i += 1
        else:
            raise ExpressionError(f"unexpected character {ch!r}", i)
    return tokens


def _number(text: str, pos: int) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ExpressionError(f"number {text!r} is too large", pos)
    return value


@cache
def _max_name_words() -> int:
    """The most words in any market's code, name or alias ("United States of America": 4)."""
    return max(len(normalise(key).split())
               for m in MARKETS.values() for key in (m.code, m.name, *m.aliases))


def _countries(tokens: list[_Token], text: str) -> list[_Token]:
    """Join runs of words into countries, longest registry name first."""
    out: list[_Token] = []
    i = 0
    while i < len(tokens):
        if tokens[i].kind != "word":
            out.append(tokens[i])
            i += 1
            continue
        j = i
        while j < len(tokens) and tokens[j].kind == "word":
            j += 1
        out.extend(_match_run(tokens[i:j], text))
        i = j
    return out


def _match_run(words: list[_Token], text: str) -> list[_Token]:
    found: list[_Token] = []
    i = 0
    while i < len(words):
        for size in range(min(_max_name_words(), len(words) - i), 0, -1):
            span = text[words[i].pos:_end(words[i + size - 1])]
            market = find(span)
            if market is not None:
                found.append(_Token("country", span, words[i].pos, market.code))
                i += size
                break
        else:
            name = text[words[i].pos:_end(words[-1])]
            raise UnknownCountryError(name, suggest(name))
    return found


def _end(token: _Token) -> int:
    return token.pos + len(token.text)


def tokenize(expression: str | Sequence[str]) -> tuple[str, list[_Token]]:
    """The expression's text (a token list is joined by spaces) and its tokens."""
    text = expression if isinstance(expression, str) else " ".join(map(str, expression))
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is {len(text)} characters long; "
                              f"the limit is {MAX_LENGTH}", MAX_LENGTH)
    tokens = _countries(_raw_tokens(text), text)
    n_countries = sum(t.kind == "country" for t in tokens)
    if n_countries > MAX_TERMS:
        raise ExpressionError(f"expression names {n_countries} countries; "
                              f"the limit is {MAX_TERMS}")
    return text, [*tokens, _Token("end", "", len(text.rstrip()))]


# ---------------------------------------------------------------- the parser


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    @property
    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> Node:
        if self.peek.kind in ("end", "="):
            raise ExpressionError("empty expression: name at least one country", self.peek.pos)
        tree = self.level()
        if self.peek.kind == "=":
            self.take()
            if self.peek.kind != "end":
                raise ExpressionError("'=' may only end the expression", self.peek.pos)
        if self.peek.kind != "end":
            raise ExpressionError(f"expected an operator before {self.peek.text!r}", self.peek.pos)
        return tree

    def level(self, index: int = 0) -> Node:
        """Operands joined by the operators of precedence ``_LEVELS[index]``, left to right."""
        if index == len(_LEVELS):
            return self.unary()
        precedence = _LEVELS[index]
        implicit = precedence == _BY_SIGN[IMPLICIT].precedence
        tree = factor = self.level(index + 1)
        while True:
            token = self.peek
            if token.kind == "op" and _BY_SIGN[token.text].precedence == precedence:
                self.take()
                factor = self.level(index + 1)
                tree = BinOp(token.text, tree, factor, token.pos)
            elif implicit and _is_number(factor) and token.kind in ("country", "("):
                factor = self.level(index + 1)
                tree = BinOp(IMPLICIT, tree, factor, token.pos)  # "2 Turkey"
            else:
                return tree

    def unary(self) -> Node:
        token = self.peek
        if token.kind == "op" and token.text in "+-":
            self.take()
            self.enter(token)
            operand = self.unary()
            self.depth -= 1
            return Neg(operand, token.pos) if token.text == "-" else operand
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token.kind == "num":
            return Number(float(token.value), token.pos)  # type: ignore[arg-type]
        if token.kind == "country":
            return Country(str(token.value), token.pos)
        if token.kind == "(":
            self.enter(token)
            tree = self.level()
            if self.peek.kind != ")":
                raise ExpressionError(f"missing ')' for the '(' at position {token.pos}",
                                      self.peek.pos)
            self.take()
            self.depth -= 1
            return tree
        after = self.tokens[self.i - 2].text if self.i >= 2 else ""
        what = "the end" if token.kind == "end" else repr(token.text)
        where = f" after {after!r}" if after else ""
        raise ExpressionError(f"expected a country, a number or '('{where}, found {what}",
                              token.pos)

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"expression nests deeper than {MAX_DEPTH} levels", token.pos)


def _is_number(tree: Node) -> bool:
    return isinstance(tree, Number) or (isinstance(tree, Neg) and _is_number(tree.operand))


def parse(expression: str | Sequence[str]) -> Node:
    """Parse an expression (a string, or the token list a web form builds) into a tree.

    Raises :class:`ExpressionError` (with the position) for bad syntax and
    :class:`UnknownCountryError` (with suggestions) for a name no market has.
    """
    _, tokens = tokenize(expression)
    return _Parser(tokens).parse()


# ---------------------------------------------------------------- evaluation


def evaluate(tree: Node, vector_of: Callable[[Country], np.ndarray | Value]) -> Value:
    """Evaluate ``tree`` element by element, given each country's values (float64, one per
    song) or its :class:`Value` (values already split into parts).

    Each operator's ``apply`` in :data:`OPERATORS` says what it does. Parts: sums add them,
    a number scales them; a product gives each side half where both are positive; a
    quotient gives the numerator's side what it would score alone and the denominator's
    side what it takes away; a side's share goes to its parts in proportion to
    ``part / side``. A result too large for floats is an :class:`ExpressionError`.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        value = _evaluate(tree, vector_of)
    finite = [value.vector, *value.parts.values()]
    if not all(np.isfinite(v).all() for v in finite):
        raise ExpressionError("the expression overflows; use smaller weights")
    return value


def _evaluate(tree: Node, vector_of: Callable[[Country], np.ndarray | Value]) -> Value:
    if isinstance(tree, Country):
        given = vector_of(tree)
        if isinstance(given, Value):
            return given
        vector = np.asarray(given, dtype=np.float64)
        return Value(vector, {tree.name: vector})
    if isinstance(tree, Number):
        return Value(np.asarray(tree.value, dtype=np.float64), {})
    if isinstance(tree, Neg):
        inner = _evaluate(tree.operand, vector_of)
        return Value(-inner.vector, {k: -v for k, v in inner.parts.items()})
    left, right = _evaluate(tree.left, vector_of), _evaluate(tree.right, vector_of)
    return _BY_SIGN[tree.op].apply(left, right, tree.pos)


def upper_bound(tree: Node, low: float, high: float) -> float:
    """The largest value ``tree`` can take when every country's value lies in
    [``low``, ``high``] (interval arithmetic): the score of a perfect match."""
    return span(tree, lambda _: (low, high))[1]


def span(tree: Node, leaf: Callable[[Country], Span]) -> Span:
    """The range of ``tree``'s values when each country's values lie in ``leaf(country)``
    (interval arithmetic with each operator's ``span``: every value that :func:`evaluate`
    can give lies in it)."""
    return _span(tree, leaf)


def largest(tree: Node, low: float, high: float) -> float:
    """The largest magnitude any part of ``tree`` can take when every country's value lies
    in [``low``, ``high``]: inf where a part may overflow."""
    seen: list[float] = []
    _span(tree, lambda _: (low, high), seen)
    return math.inf if any(math.isnan(x) for x in seen) else max(seen)


def _span(tree: Node, leaf: Callable[[Country], Span], seen: list[float] | None = None) -> Span:
    """The range of ``tree``; the largest magnitude of each part's goes into ``seen``."""
    if isinstance(tree, Country):
        out = leaf(tree)
    elif isinstance(tree, Number):
        out = tree.value, tree.value
    elif isinstance(tree, Neg):
        lo, hi = _span(tree.operand, leaf, seen)
        out = -hi, -lo
    else:
        a, b = _span(tree.left, leaf, seen), _span(tree.right, leaf, seen)
        if tree.op in "*/" and not (countries_in(tree.left) and countries_in(tree.right)):
            if tree.op == "/":  # over a number (evaluate refuses a number over a country),
                # divided as evaluate divides: 1 / a tiny number overflows where 0 / it is 0
                corners = [x / b[0] for x in a] if b[0] else [0.0]
            else:
                corners = [x * y for x in a for y in b]  # a number weighs the other side
            out = min(corners), max(corners)
        else:
            out = _BY_SIGN[tree.op].span(a, b)
    if seen is not None:
        seen.append(max(abs(out[0]), abs(out[1])))
    return out


# ---------------------------------------------------------------- the operator table


@dataclass(frozen=True)
class Operator:
    """A binary operator: how it is written, how tightly it binds, what it does, what it means.

    ``canonical`` is what a parsed tree holds (``BinOp.op``) and prints; ``symbol`` is what
    the web form sends and the API names it by; ``aliases`` are its other spellings, each one
    character or one standalone word such as "x" (a word inside a name stays a letter);
    ``label`` is its face on the page's buttons; a higher ``precedence`` binds tighter.
    """

    symbol: str
    canonical: str
    label: str
    aliases: tuple[str, ...]
    precedence: int
    apply: Callable[[Value, Value, int], Value]  # (left, right, position)
    span: Callable[[Span, Span], Span]  # the range of the result of two country values
    name: str
    meaning: str

    @property
    def spellings(self) -> tuple[str, ...]:
        """Every way the parser reads it: ``symbol`` then ``aliases``."""
        return (self.symbol, *self.aliases)


OPERATORS: tuple[Operator, ...] = (
    Operator(symbol="+", canonical="+", label="+", aliases=(), precedence=1, apply=add,
             span=span_add, name="plus", meaning="add the tastes"),
    Operator(symbol="-", canonical="-", label="−", aliases=("−", "–"), precedence=1, apply=sub,
             span=span_sub, name="minus", meaning="take a taste away"),
    Operator(symbol="x", canonical="*", label="×", aliases=("*", "×", "X", "·", "⋅"),
             precedence=2, apply=mul, span=span_mul, name="times",
             meaning="what both play: the product, song by song, of what each plays"),
    Operator(symbol="÷", canonical="/", label="÷", aliases=("/", "∕"), precedence=2, apply=div,
             span=span_div, name="divided by",
             meaning="what the first plays much more than the second, song by song"),
)


def _check(operators: Sequence[Operator]) -> dict[str, Operator]:
    """Each operator by each of its spellings; a ``ValueError`` for a table the parser
    cannot read (a spelling twice, a multi-character non-word, a printed form or label it
    would not read back, a unary sign missing)."""
    by_spelling: dict[str, Operator] = {}
    for op in operators:
        for spelling in op.spellings:
            if spelling in by_spelling:
                raise ValueError(f"operator spelling {spelling!r} is used by both "
                                 f"{by_spelling[spelling].name!r} and {op.name!r}")
            if not (_is_sign(spelling) or _WORD.fullmatch(spelling)):
                raise ValueError(f"operator spelling {spelling!r} of {op.name!r} must be one "
                                 "character that is no digit, space, bracket, '=' or '.', "
                                 "or one word of letters")
            if find(spelling) is not None:
                raise ValueError(f"operator spelling {spelling!r} of {op.name!r} names a country")
            by_spelling[spelling] = op
        for form in (op.canonical, op.label):
            if form not in op.spellings:
                raise ValueError(f"{form!r} of {op.name!r} must be one of its spellings "
                                 f"{list(op.spellings)}")
    for sign in ("+", "-", IMPLICIT):
        if sign not in {op.canonical for op in operators}:
            raise ValueError(f"the grammar needs an operator printed as {sign!r}")
    return by_spelling


def _is_sign(spelling: str) -> bool:
    """One character that no number, word, bracket or "=" starts: the tokenizer's to take."""
    return len(spelling) == 1 and not (spelling.isalnum() or spelling.isspace()
                                       or spelling in "()=._'’")


_BY_SPELLING = _check(OPERATORS)
_BY_SIGN = {op.canonical: op for op in OPERATORS}
_LEVELS = sorted({op.precedence for op in OPERATORS})
