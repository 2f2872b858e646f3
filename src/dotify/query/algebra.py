"""The algebra of country arithmetic, song by song: :class:`Value` (values split into named
parts) and what each operator does to two values (``add``, ``sub``, ``mul``, ``div``) and to
their ranges (``span_*``, the interval arithmetic behind a 0-100 match).

``+`` and ``-`` add and subtract, a number scales, ``*`` keeps what both play (the product of
the positive parts) and ``/`` what the first plays much more than the second (``a / (a + b +
DIVISION_FLOOR)`` on the positive parts, in [0, 1]), so no inf or NaN ever reaches a score.
The parts of a result always sum to its values. The operator table that names these
functions, and the parser, are in :mod:`dotify.query.arithmetic`; ``at`` is the operator's
position in the expression, for errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dotify.errors import ExpressionError

DIVISION_FLOOR = 0.05  # added to a quotient's denominator, on the tastes' 0-1 scale


@dataclass
class Value:
    """A scalar (``parts`` empty, ``vector`` 0-d) or values (one per song, or per coordinate)
    split into named parts: ``parts`` maps a country's name (or any other named share, such
    as the world's taste) to its share of ``vector``; the parts sum to ``vector``."""

    vector: np.ndarray
    parts: dict[str, np.ndarray]

    @property
    def is_scalar(self) -> bool:
        return self.vector.ndim == 0


def add(a: Value, b: Value, at: int, sign: float = 1.0) -> Value:
    """The sum (``sign`` 1) or difference (-1) of two values, or of two numbers."""
    if a.is_scalar and b.is_scalar:
        return Value(a.vector + sign * b.vector, {})
    if a.is_scalar or b.is_scalar:
        word = "add" if sign > 0 else "subtract"
        raise ExpressionError(f"cannot {word} a number and a country; "
                              f"use a weight such as '0.5 * Colombia'", at)
    parts = dict(a.parts)
    for name, part in b.parts.items():
        parts[name] = parts.get(name, 0.0) + sign * part
    return Value(a.vector + sign * b.vector, parts)


def sub(a: Value, b: Value, at: int) -> Value:
    return add(a, b, at, -1.0)


def mul(a: Value, b: Value, at: int) -> Value:
    """A number times a value, or what two values share: the product of their positive
    parts (a song counts only where both play it)."""
    if a.is_scalar or b.is_scalar:
        scale, other = (a, b) if a.is_scalar else (b, a)
        return Value(a.vector * b.vector, {k: v * scale.vector for k, v in other.parts.items()})
    vector = np.maximum(a.vector, 0.0)  # a new array, multiplied in place
    vector *= np.maximum(b.vector, 0.0)
    return Value(vector, _shared(vector, a, b))


def div(a: Value, b: Value, at: int) -> Value:
    """A value over a number, or what the first plays much more than the second: ``a / (a +
    b + DIVISION_FLOOR)`` on their positive parts, between 0 and 1 (never inf), rising with
    ``a`` and falling with ``b``. Parts: the first's side gets what it would score over a
    silent second, ``a / (a + DIVISION_FLOOR)``; the second's side what it takes away from
    that (never positive)."""
    if b.is_scalar:
        if b.vector == 0:
            raise ExpressionError("division by zero", at)
        return Value(a.vector / b.vector, {k: v / b.vector for k, v in a.parts.items()})
    if a.is_scalar:
        raise ExpressionError("cannot divide a number by a country; divide a country by a "
                              "number or by another country", at)
    top, bottom = np.maximum(a.vector, 0.0), np.maximum(b.vector, 0.0)
    vector = top / (top + bottom + DIVISION_FLOOR)
    alone = top / (top + DIVISION_FLOOR)
    return Value(vector, _summed(_spread(alone, a), _spread(vector - alone, b)))


def _spread(share: np.ndarray, side: Value) -> dict[str, np.ndarray]:
    """``share`` among ``side``'s parts in proportion to ``part / side`` where the side is
    positive (zero elsewhere)."""
    if not side.parts:  # the engine scores every song without parts first
        return {}
    positive = side.vector > 0
    denominator = np.where(positive, side.vector, 1.0)
    return {name: np.where(positive, share * part / denominator, 0.0)
            for name, part in side.parts.items()}


def _shared(vector: np.ndarray, a: Value, b: Value) -> dict[str, np.ndarray]:
    """The parts of a product: half to each side where both are positive, so the parts
    always sum to ``vector`` (which is zero elsewhere)."""
    return _summed(_spread(0.5 * vector, a), _spread(0.5 * vector, b))


def _summed(*shares: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The parts of several shares added by name (a country may stand on both sides)."""
    parts: dict[str, np.ndarray] = {}
    for share in shares:
        for name, part in share.items():
            parts[name] = parts.get(name, 0.0) + part
    return parts


Span = tuple[float, float]


def span_add(a: Span, b: Span) -> Span:
    return a[0] + b[0], a[1] + b[1]


def span_sub(a: Span, b: Span) -> Span:
    return a[0] - b[1], a[1] - b[0]


def span_mul(a: Span, b: Span) -> Span:
    return max(a[0], 0.0) * max(b[0], 0.0), max(a[1], 0.0) * max(b[1], 0.0)


def span_div(a: Span, b: Span) -> Span:
    top = max(a[1], 0.0)
    return 0.0, top / (top + max(b[0], 0.0) + DIVISION_FLOOR)
