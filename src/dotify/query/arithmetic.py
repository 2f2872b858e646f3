"""Country arithmetic: parse "Colombia x Turkey - Germany" into a tree, and evaluate it.

Grammar (a recursive-descent parser; the usual precedence, left to right within a level)::

    expression := sum ["="]
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "x" | "×" | "/" | "÷") unary | <implicit *>)*
    unary      := ("-" | "+") unary | atom
    atom       := NUMBER | COUNTRY | "(" sum ")"

* Products and quotients bind tighter than sums; ``A - B - C`` is ``(A - B) - C`` and
  ``A / B * C`` is ``(A / B) * C``. Unary minus binds tightest: ``-A * B`` is ``(-A) * B``.
* A number directly followed by a country or "(" multiplies it: ``Colombia + 2 Turkey``.
* A country is an ISO code, a name or an alias, in any case and with or without accents
  ("CO", "colombia", "Türkiye", "UK"); names may have several words ("United States").
  Words are read first and a standalone word "x" is then the multiplication sign, so
  "Mexico" and "Luxembourg" keep their x.
* Every term counts: the tree keeps all operands in order.
* At most :data:`MAX_LENGTH` characters, :data:`MAX_TERMS` countries and :data:`MAX_DEPTH`
  nested parentheses or signs.

``str(tree)`` is the canonical form ("Colombia * Turkey - Germany"), which parses back to
the same tree. Errors carry the 0-based character position of the problem.

Evaluation (:func:`evaluate`) works on the country vectors it is given (the engine passes
unit vectors less part of the world's mean taste, see :mod:`dotify.query.recommend`): ``+`` and
``-`` add and subtract, a number scales, ``*`` between two vectors is the element-wise
product and ``/`` the element-wise quotient. Division is guarded: each denominator
component ``b`` is replaced by ``sign(b) * max(|b|, eps)`` with
``eps = DIVISION_EPS * rms(b)`` (``sign(0) = +1``), so no inf or NaN ever reaches a score;
a denominator that is exactly zero everywhere is an error.
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

MAX_LENGTH = 500
MAX_TERMS = 50
MAX_DEPTH = 32
DIVISION_EPS = 0.01

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
_OPERATORS = {"+": "+", "-": "-", "−": "-", "–": "-", "*": "*", "×": "*", "·": "*", "⋅": "*",
              "/": "/", "÷": "/", "∕": "/"}


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
    op: str  # one of + - * /
    left: Node
    right: Node
    pos: int = field(default=-1, compare=False, repr=False)

    def __str__(self) -> str:
        level = _PRECEDENCE[self.op]
        left, right = str(self.left), str(self.right)
        if isinstance(self.left, BinOp) and _PRECEDENCE[self.left.op] < level:
            left = f"({left})"
        # the right operand needs brackets at the same level too: A - (B - C), A / (B * C)
        if isinstance(self.right, BinOp) and _PRECEDENCE[self.right.op] <= level:
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
            kind = "op" if word in ("x", "X") else "word"
            tokens.append(_Token(kind, "*" if kind == "op" else word, i))
            i = m.end()
        elif ch in _OPERATORS:
            tokens.append(_Token("op", _OPERATORS[ch], i))
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
        tree = self.sum()
        if self.peek.kind == "=":
            self.take()
            if self.peek.kind != "end":
                raise ExpressionError("'=' may only end the expression", self.peek.pos)
        if self.peek.kind != "end":
            raise ExpressionError(f"expected an operator before {self.peek.text!r}", self.peek.pos)
        return tree

    def sum(self) -> Node:
        tree = self.product()
        while self.peek.kind == "op" and self.peek.text in "+-":
            op = self.take()
            tree = BinOp(op.text, tree, self.product(), op.pos)
        return tree

    def product(self) -> Node:
        tree = factor = self.unary()
        while True:
            token = self.peek
            if token.kind == "op" and token.text in "*/":
                self.take()
                factor = self.unary()
                tree = BinOp(token.text, tree, factor, token.pos)
            elif _is_number(factor) and token.kind in ("country", "("):
                factor = self.unary()
                tree = BinOp("*", tree, factor, token.pos)  # "2 Turkey"
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
            tree = self.sum()
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


@dataclass
class Value:
    """A scalar (``parts`` empty, ``vector`` 0-d) or a vector split into per-country parts.

    ``parts`` maps a country's name to its share of ``vector``; the parts sum to ``vector``.
    """

    vector: np.ndarray
    parts: dict[str, np.ndarray]

    @property
    def is_scalar(self) -> bool:
        return self.vector.ndim == 0


def evaluate(tree: Node, vector_of: Callable[[Country], np.ndarray]) -> Value:
    """Evaluate ``tree`` given the vector (float64, shape (f,)) of each country leaf.

    Contributions: sums add the parts, a number scales them; an element-wise product
    ``a * b`` gives each leaf of ``a`` half of ``part * b`` and each leaf of ``b`` half of
    ``a * part`` (the cross terms split equally, so the parts still sum exactly); a
    quotient gives the numerator's leaves half of the result (all of it when the numerator
    is a number) and the rest to the denominator's leaves in proportion to
    ``part . b / |b|^2``. A product or quotient of two vectors is then scaled to the
    geometric mean of their lengths (see :func:`_rescale`), so that in a sum every term
    weighs alike. A result too large for floats is an :class:`ExpressionError`.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        value = _evaluate(tree, vector_of)
    finite = [value.vector, *value.parts.values()]
    if not all(np.isfinite(v).all() for v in finite):
        raise ExpressionError("the expression overflows; use smaller weights")
    return value


def _evaluate(tree: Node, vector_of: Callable[[Country], np.ndarray]) -> Value:
    if isinstance(tree, Country):
        vector = np.asarray(vector_of(tree), dtype=np.float64)
        return Value(vector, {tree.name: vector})
    if isinstance(tree, Number):
        return Value(np.asarray(tree.value, dtype=np.float64), {})
    if isinstance(tree, Neg):
        inner = _evaluate(tree.operand, vector_of)
        return Value(-inner.vector, {k: -v for k, v in inner.parts.items()})
    left, right = _evaluate(tree.left, vector_of), _evaluate(tree.right, vector_of)
    return _APPLY[tree.op](left, right, tree)


def _add(a: Value, b: Value, node: BinOp, sign: float = 1.0) -> Value:
    if a.is_scalar and b.is_scalar:
        return Value(a.vector + sign * b.vector, {})
    if a.is_scalar or b.is_scalar:
        word = "add" if sign > 0 else "subtract"
        raise ExpressionError(f"cannot {word} a number and a country vector; "
                              f"use a weight such as '0.5 * Colombia'", node.pos)
    parts = dict(a.parts)
    for name, part in b.parts.items():
        parts[name] = parts.get(name, 0.0) + sign * part
    return Value(a.vector + sign * b.vector, parts)


def _sub(a: Value, b: Value, node: BinOp) -> Value:
    return _add(a, b, node, -1.0)


def _mul(a: Value, b: Value, node: BinOp) -> Value:
    vector = a.vector * b.vector
    if a.is_scalar or b.is_scalar:
        scale, other = (a, b) if a.is_scalar else (b, a)
        return Value(vector, {k: v * scale.vector for k, v in other.parts.items()})
    parts: dict[str, np.ndarray] = {}
    for name, part in a.parts.items():
        parts[name] = parts.get(name, 0.0) + 0.5 * part * b.vector
    for name, part in b.parts.items():
        parts[name] = parts.get(name, 0.0) + 0.5 * a.vector * part
    return _rescale(Value(vector, parts), a, b)


def _div(a: Value, b: Value, node: BinOp) -> Value:
    if b.is_scalar:
        if b.vector == 0:
            raise ExpressionError("division by zero", node.pos)
        return Value(a.vector / b.vector, {k: v / b.vector for k, v in a.parts.items()})
    inverse = 1.0 / guard_denominator(b.vector, node.pos)
    vector = a.vector * inverse
    share = 0.5 if a.parts else 0.0
    parts = {k: share * v * inverse for k, v in a.parts.items()}
    peak = float(np.abs(b.vector).max())  # scale first: dot products of huge vectors overflow
    unit = b.vector / peak
    norm2 = float(unit @ unit)
    for name, part in b.parts.items():
        weight = (1.0 - share) * float((part / peak) @ unit) / norm2
        parts[name] = parts.get(name, 0.0) + weight * vector
    return _rescale(Value(vector, parts), a, b)


def _rescale(value: Value, a: Value, b: Value) -> Value:
    """Give an element-wise product or quotient of two vectors the geometric mean of their
    lengths. The product of two unit vectors is about 1/sqrt(f) long and a quotient can be
    very long, so without this one side of ``Colombia x Turkey - Germany`` would drown the
    other; directions, and so rankings of a lone product, are unchanged."""
    length = _norm(value.vector)
    if a.is_scalar or length == 0.0:
        return value
    target = float(np.sqrt(_norm(a.vector)) * np.sqrt(_norm(b.vector)))
    return Value(value.vector / length * target,
                 {k: v / length * target for k, v in value.parts.items()})


def _norm(vector: np.ndarray) -> float:
    """Euclidean length without underflow or overflow for tiny or huge vectors."""
    peak = float(np.abs(vector).max())
    return peak * float(np.linalg.norm(vector / peak)) if peak > 0.0 else 0.0


def guard_denominator(b: np.ndarray, pos: int = -1) -> np.ndarray:
    """``sign(b) * max(|b|, eps)`` with ``eps = DIVISION_EPS * rms(b)`` and sign(0) = +1."""
    peak = float(np.abs(b).max())
    if peak == 0.0:
        raise ExpressionError("division by a zero vector", pos)
    rms = peak * float(np.sqrt(np.mean((b / peak) ** 2)))  # no overflow for huge b
    sign = np.where(b < 0, -1.0, 1.0)
    return sign * np.maximum(np.abs(b), DIVISION_EPS * rms)


_APPLY: dict[str, Callable[[Value, Value, BinOp], Value]] = {
    "+": _add, "-": _sub, "*": _mul, "/": _div,
}
