"""Country arithmetic: the parser on many forms and every error, round trips, evaluation."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from dotify.countries import MARKETS
from dotify.errors import ExpressionError, UnknownCountryError
from dotify.query.algebra import DIVISION_FLOOR
from dotify.query.arithmetic import (
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_TERMS,
    OPERATORS,
    BinOp,
    Country,
    Neg,
    Number,
    Operator,
    _check,
    countries_in,
    evaluate,
    largest,
    parse,
    span,
    upper_bound,
)

CO, TR, DE, MX, LU = (Country(c) for c in ("co", "tr", "de", "mx", "lu"))


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Colombia x Turkey - Germany", "Colombia * Turkey - Germany"),
        ("colombia X turkey − germany", "Colombia * Turkey - Germany"),
        ("CO × TR – DE =", "Colombia * Turkey - Germany"),
        ("Türkiye + turkey + TURKIYE", "Turkey + Turkey + Turkey"),
        ("UK + U.K. + England + gb", "United Kingdom + United Kingdom + United Kingdom"
         " + United Kingdom"),
        ("United States + South Korea * Costa Rica", "United States + South Korea * Costa Rica"),
        ("united states of america / usa", "United States / United States"),
        ("Mexico x Luxembourg", "Mexico * Luxembourg"),
        ("México÷Perú", "Mexico / Peru"),
        ("0.5 * Colombia", "0.5 * Colombia"),
        ("Colombia + 2 Turkey", "Colombia + 2 * Turkey"),
        ("Colombia + 2Turkey", "Colombia + 2 * Turkey"),
        ("2 (Colombia + Turkey)", "2 * (Colombia + Turkey)"),
        ("-Colombia + Turkey", "-Colombia + Turkey"),
        ("-(Colombia + Turkey)", "-(Colombia + Turkey)"),
        ("Colombia - -Turkey", "Colombia - -Turkey"),
        ("+Colombia", "Colombia"),
        ("Colombia - (Turkey - Germany)", "Colombia - (Turkey - Germany)"),
        ("(Colombia - Turkey) - Germany", "Colombia - Turkey - Germany"),
        ("Colombia / (Turkey * Germany)", "Colombia / (Turkey * Germany)"),
        ("(Colombia + Turkey) * Germany", "(Colombia + Turkey) * Germany"),
        (".5 Colombia + 1e-3 Turkey", "0.5 * Colombia + 0.001 * Turkey"),
        ("Colombia * 2 Turkey", "Colombia * 2 * Turkey"),
        ("  Colombia  =  ", "Colombia"),
        ("El Salvador + Salvador + sv", "El Salvador + El Salvador + El Salvador"),
        ("Dominican Republic - Czech Republic", "Dominican Republic - Czech Republic"),
    ],
)
def test_parses_to_the_canonical_form(text: str, canonical: str) -> None:
    tree = parse(text)
    assert str(tree) == canonical
    assert parse(canonical) == tree


def test_products_bind_tighter_than_sums_and_levels_go_left_to_right() -> None:
    assert parse("CO + TR * DE") == BinOp("+", CO, BinOp("*", TR, DE))
    assert parse("CO - TR - DE") == BinOp("-", BinOp("-", CO, TR), DE)
    assert parse("CO / TR * DE") == BinOp("*", BinOp("/", CO, TR), DE)
    assert parse("CO - TR + DE") == BinOp("+", BinOp("-", CO, TR), DE)
    assert parse("-CO * TR") == BinOp("*", Neg(CO), TR)


def test_x_inside_names_is_a_letter_and_alone_is_times() -> None:
    assert parse("Mexico x Luxembourg") == BinOp("*", MX, LU)
    assert parse("mexico X luxembourg") == BinOp("*", MX, LU)
    with pytest.raises(UnknownCountryError):
        parse("Mexicox Luxembourg")


def test_implicit_multiplication_of_a_number_only() -> None:
    assert parse("Colombia + 2 Turkey") == BinOp("+", CO, BinOp("*", Number(2.0), TR))
    assert parse("-2 Turkey") == BinOp("*", Neg(Number(2.0)), TR)
    with pytest.raises(ExpressionError, match="expected an operator before 'Turkey'"):
        parse("Colombia Turkey")
    with pytest.raises(ExpressionError, match="expected an operator before '2'"):
        parse("Colombia 2")


def test_every_term_counts() -> None:
    tree = parse("Colombia + Turkey + Germany + Mexico")
    assert [c.code for c in countries_in(tree)] == ["co", "tr", "de", "mx"]
    assert parse("Colombia + Turkey + Germany") != parse("Colombia + Turkey")


def test_a_token_list_parses_like_the_string() -> None:
    tokens = ["Colombia", "x", "Turkey", "-", "Germany", "="]
    assert parse(tokens) == parse("Colombia x Turkey - Germany")
    assert parse(["United States", "+", "0.5", "South Korea"]) == parse("US + 0.5 KR")
    with pytest.raises(ExpressionError, match="position 10"):  # in "Colombia +"
        parse(["Colombia", "+"])


# ---------------------------------------------------------------- the operator table


@pytest.mark.parametrize("op", OPERATORS, ids=lambda op: op.name)
def test_every_spelling_of_every_operator_parses_to_it(op: Operator) -> None:
    tree = BinOp(op.canonical, CO, TR)
    for spelling in op.spellings:
        assert parse(f"Colombia {spelling} Turkey") == tree, spelling
        assert parse(["CO", spelling, "TR"]) == tree, spelling
        if not spelling.isalpha():
            assert parse(f"Colombia{spelling}Turkey") == tree, spelling
    assert str(tree) == f"Colombia {op.canonical} Turkey"
    assert {op.canonical, op.label} <= set(op.spellings)


_PAIRS = [(a, b) for a in OPERATORS for b in OPERATORS]


@pytest.mark.parametrize(("a", "b"), _PAIRS, ids=[f"{a.name}, {b.name}" for a, b in _PAIRS])
def test_precedence_comes_from_the_table(a: Operator, b: Operator) -> None:
    first = parse(f"CO {a.symbol} TR {b.symbol} DE")
    if a.precedence >= b.precedence:  # left to right within a level
        assert first == BinOp(b.canonical, BinOp(a.canonical, CO, TR), DE)
    else:
        assert first == BinOp(a.canonical, CO, BinOp(b.canonical, TR, DE))


def test_evaluation_applies_the_tables_function() -> None:
    for op in OPERATORS:
        node = BinOp(op.canonical, CO, TR)
        want = op.apply(evaluate(CO, _vectors), evaluate(TR, _vectors), node.pos)
        np.testing.assert_array_equal(evaluate(node, _vectors).vector, want.vector)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"aliases": ("+",)}, "'+' is used by both 'plus' and 'minus'"),
        ({"aliases": ("--",)}, "'--' of 'minus' must be one character"),
        ({"aliases": ("co",)}, "'co' of 'minus' names a country"),
        ({"label": "~"}, "'~' of 'minus' must be one of its spellings"),
        ({"canonical": "~"}, "'~' of 'minus' must be one of its spellings"),
    ],
)
def test_a_table_the_parser_cannot_read_is_refused(change: dict[str, Any],
                                                   message: str) -> None:
    minus = dataclasses.replace(OPERATORS[1], **change)
    with pytest.raises(ValueError, match=re.escape(message)):
        _check([OPERATORS[0], minus, *OPERATORS[2:]])


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "empty expression", 0),
        ("   =", "empty expression", 3),
        ("Colombia +", "after '+', found the end", 10),
        ("Colombia + * Turkey", "after '+', found '*'", 11),
        ("x Colombia", "found '*'", 0),
        ("(Colombia + Turkey", "missing ')' for the '(' at position 0", 18),
        ("Colombia + Turkey)", "expected an operator before ')'", 17),
        ("()", "found ')'", 1),
        ("Colombia = Turkey", "'=' may only end the expression", 11),
        ("Colombia == ", "'=' may only end the expression", 10),
        ("Colombia $ Turkey", "unexpected character '$'", 9),
        ("Colombia, Turkey", "unexpected character ','", 8),
        ("1e999 Colombia", "too large", 0),
        ("Colombia " + "+ Turkey " * 60, "the limit is 500", MAX_LENGTH),
        (" + ".join(["CO"] * (MAX_TERMS + 1)), f"names {MAX_TERMS + 1} countries", None),
        ("(" * (MAX_DEPTH + 1) + "CO" + ")" * (MAX_DEPTH + 1), "nests deeper", MAX_DEPTH),
        ("-" * (MAX_DEPTH + 1) + "CO", "nests deeper", MAX_DEPTH),
    ],
)
def test_syntax_errors_name_the_position(text: str, message: str, position: int | None) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)) as caught:
        parse(text)
    assert caught.value.position == position
    if position is not None:
        assert f"(at position {position})" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "name", "suggestion"),
    [
        ("Colombai x Turkey", "Colombai", "Colombia"),
        ("Colombia + Turky", "Turky", "Turkey"),
        ("Untied States", "Untied States", "United States"),
        ("Germany - Swedn", "Swedn", "Sweden"),
        ("Colombia + Atlantis", "Atlantis", None),
    ],
)
def test_unknown_countries_suggest_the_closest(text: str, name: str,
                                               suggestion: str | None) -> None:
    with pytest.raises(UnknownCountryError) as caught:
        parse(text)
    assert caught.value.name == name
    if suggestion is None:
        assert caught.value.suggestions == []
        assert "Did you mean" not in str(caught.value)
    else:
        assert caught.value.suggestions[0] == suggestion
        assert f"Did you mean {suggestion}" in str(caught.value)


# ---------------------------------------------------------------- property: print -> parse

_codes = st.sampled_from(sorted(MARKETS))
_leaves = st.one_of(
    st.builds(Country, _codes),
    st.builds(Number, st.floats(min_value=0, max_value=1e6, allow_nan=False)),
)


def _extend(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.builds(BinOp, st.sampled_from([op.canonical for op in OPERATORS]), children, children),
        st.builds(Neg, children.filter(lambda c: not isinstance(c, Neg))),
    )


_trees = st.recursive(_leaves, _extend, max_leaves=10)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_trees)
def test_the_printed_form_parses_to_the_same_tree(tree) -> None:
    text = str(tree)
    assume(len(text) <= MAX_LENGTH)
    assert parse(text) == tree
    assert str(parse(text)) == text


_spellings = {op.canonical: op.spellings for op in OPERATORS}


@settings(max_examples=150, deadline=None)
@given(_trees, st.randoms(use_true_random=False))
def test_other_spellings_parse_to_the_same_tree(tree, rnd) -> None:
    """Codes or lower-case names for countries, any operator sign: the same tree."""
    def spell(node) -> str:
        if isinstance(node, Country):
            return rnd.choice([node.code.upper(), node.name.lower(), node.name])
        if isinstance(node, Neg):
            inner = spell(node.operand)
            return f"−({inner})" if isinstance(node.operand, BinOp) else f"-{inner}"
        if isinstance(node, BinOp):
            return f"({spell(node.left)}) {rnd.choice(_spellings[node.op])} ({spell(node.right)})"
        return str(node)

    text = spell(tree)
    assume(len(text) <= MAX_LENGTH and text.count("(") + text.count("-") <= MAX_DEPTH)
    assert parse(text) == tree


# ---------------------------------------------------------------- evaluation

_UNIT = {"co": [1.0, 0.0, 0.0], "tr": [0.0, 1.0, 0.0], "de": [0.6, 0.0, 0.8],
         "mx": [0.0, 0.6, 0.8]}


def _vectors(country: Country) -> np.ndarray:
    return np.asarray(_UNIT[country.code])


def test_linear_combination_with_weights() -> None:
    value = evaluate(parse("Colombia + 2 Turkey - 0.5 Germany"), _vectors)
    expected = np.array([1 - 0.3, 2.0, -0.4])
    np.testing.assert_allclose(value.vector, expected)
    np.testing.assert_allclose(value.parts["Germany"], [-0.3, 0.0, -0.4])
    np.testing.assert_allclose(sum(value.parts.values()), expected)


def test_product_keeps_what_both_play_and_splits_it_between_them() -> None:
    value = evaluate(parse("Germany x Mexico"), _vectors)
    # positive parts multiplied song by song: only the third is played by both
    np.testing.assert_allclose(value.vector, [0.0, 0.0, 0.64])
    np.testing.assert_allclose(value.parts["Germany"], [0.0, 0.0, 0.32])
    np.testing.assert_allclose(value.parts["Mexico"], [0.0, 0.0, 0.32])


def test_a_negative_side_counts_as_nothing_in_a_product() -> None:
    value = evaluate(parse("(Colombia - Turkey) x Germany"), _vectors)  # (1, -1, 0) x (.6, 0, .8)
    np.testing.assert_allclose(value.vector, [0.6, 0.0, 0.0])
    np.testing.assert_allclose(value.parts["Colombia"] + value.parts["Turkey"], [0.3, 0, 0])
    np.testing.assert_allclose(value.parts["Germany"], [0.3, 0.0, 0.0])


def test_division_is_what_the_first_plays_much_more_and_stays_finite() -> None:
    value = evaluate(parse("Germany / Mexico"), _vectors)  # (.6, 0, .8) over (0, .6, .8)
    f = DIVISION_FLOOR
    np.testing.assert_allclose(value.vector, [0.6 / (0.6 + f), 0.0, 0.8 / (1.6 + f)])
    # Germany gets what it would score over a silent Mexico; Mexico what it takes away
    np.testing.assert_allclose(value.parts["Germany"], [0.6 / (0.6 + f), 0.0, 0.8 / (0.8 + f)])
    np.testing.assert_allclose(value.parts["Mexico"], [0.0, 0.0, 0.8 / (1.6 + f) - 0.8 / (0.8 + f)])
    same = evaluate(parse("Colombia / Colombia"), _vectors)  # one country on both sides
    np.testing.assert_allclose(same.parts["Colombia"], same.vector)
    huge = evaluate(parse("Colombia / (1e300 Colombia)"), _vectors)
    assert np.isfinite(huge.vector).all() and huge.vector[0] == pytest.approx(1e-300)


def test_division_by_zero_or_of_a_number_is_an_error() -> None:
    with pytest.raises(ExpressionError, match="division by zero"):
        evaluate(parse("Colombia / 0"), _vectors)
    with pytest.raises(ExpressionError, match="cannot divide a number by a country"):
        evaluate(parse("1 / Germany"), _vectors)


@pytest.mark.parametrize(("expression", "low", "bound"), [
    ("Colombia", 0.0, 1.0),
    ("(1 + 1) * Colombia", 0.0, 2.0),
    ("-2 * 3 Colombia", -0.5, 3.0),
    ("Colombia / 4", 0.0, 0.25),
    ("Colombia - Germany", -0.5, 1.5),
    ("Colombia x Turkey", -1.0, 1.0),
    ("Colombia / Turkey", 0.0, 1.0 / (1.0 + DIVISION_FLOOR)),
])
def test_upper_bound_follows_each_operators_span(expression: str, low: float,
                                                 bound: float) -> None:
    assert upper_bound(parse(expression), low, 1.0) == pytest.approx(bound)


def test_a_number_and_a_vector_cannot_be_added() -> None:
    with pytest.raises(ExpressionError, match="cannot add a number") as caught:
        evaluate(parse("Colombia + 2"), _vectors)
    assert caught.value.position == 9
    with pytest.raises(ExpressionError, match="cannot subtract"):
        evaluate(parse("1 - Colombia"), _vectors)


def test_overflow_is_an_error_not_inf() -> None:
    with pytest.raises(ExpressionError, match="overflows"):
        evaluate(parse("1e300 Colombia * 1e300 Turkey * 1e300 Germany"), _vectors)


def test_numbers_fold() -> None:
    value = evaluate(parse("(1 + 1) * 3 Colombia / 2"), _vectors)
    np.testing.assert_allclose(value.vector, [3.0, 0.0, 0.0])


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(_trees)
def test_parts_always_sum_to_the_vector(tree) -> None:
    rng = np.random.default_rng(len(str(tree)))
    table = {code: rng.normal(size=4) for code in MARKETS}

    def vector_of(country: Country) -> np.ndarray:
        v = table[country.code]
        return v / np.linalg.norm(v)

    try:
        value = evaluate(tree, vector_of)
    except ExpressionError:
        assume(False)
        return
    assume(not value.is_scalar and np.abs(value.vector).max() < 1e100)
    assert set(value.parts) == {c.name for c in countries_in(tree)}
    total = sum(value.parts.values())
    np.testing.assert_allclose(total, value.vector, rtol=1e-6,
                               atol=1e-9 * max(1.0, float(np.abs(value.vector).max())))


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(_trees, st.integers(0, 2**32 - 1))
@example(BinOp("/", Number(0.0), Number(2.225073858507e-311)), 0)  # 1 / it overflows
def test_a_span_holds_every_value(tree, seed: int) -> None:
    """Values drawn inside each country's range evaluate inside the expression's span, and
    no part of it is ever larger than :func:`largest` for values in [0, 1]."""
    rng = np.random.default_rng(seed)
    codes = sorted({c.code for c in countries_in(tree)})
    ranges = {c: (float(a), float(b)) for c, (a, b) in
              ((c, np.sort(rng.random(2))) for c in codes)}
    values = {c: rng.uniform(*ranges[c], size=200) for c in codes}
    for c in codes:  # the ends themselves too
        values[c][:2] = ranges[c]
    try:
        got = evaluate(tree, lambda c: values[c.code]).vector
    except ExpressionError:
        assume(False)
        return
    low, high = span(tree, lambda c: ranges[c.code])
    slack = 1e-9 * max(1.0, abs(low), abs(high))
    assert (got >= low - slack).all() and (got <= high + slack).all()
    assert np.abs(got).max() <= largest(tree, 0.0, 1.0) * (1 + 1e-9) + 1e-12


def test_largest_sees_a_part_that_overflows() -> None:
    assert largest(parse("2 Colombia - Turkey"), 0.0, 1.0) == 2.0
    assert largest(parse("Colombia / Turkey"), 0.0, 1.0) == 1.0  # each country's 1
    assert largest(parse("0.5 Colombia / (3 Turkey)"), 0.0, 1.0) == 3.0
    # the result is finite (a product's negative side counts as 0) but a part is not
    assert largest(parse("-(1e200 Colombia x 1e200 Turkey) x Germany"), 0.0, 1.0) == np.inf
    assert largest(parse("(1e308 Colombia - 1e308 Turkey) x 10"), 0.0, 1.0) == np.inf


_pieces = st.sampled_from(["Colombia", "co", "x", "X", "*", "×", "/", "÷", "+", "-", "−", "(",
                           ")", "=", "2", "0.5", "1e9", "United States", "Türkiye", " ", "Mexico",
                           "e", ".", "..", "0", "Luxembourg", "ab", "#", "\t", "Ü",
                           *(s for op in OPERATORS for s in op.spellings)])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(_pieces, max_size=15).map("".join),
                 st.lists(_pieces, max_size=15).map(" ".join)))
def test_any_text_parses_or_raises_a_dotify_error(text: str) -> None:
    """Whatever a user types, the answer is a tree or an error the CLI and web can show."""
    try:
        tree = parse(text)
    except (ExpressionError, UnknownCountryError) as error:
        assert str(error)
        return
    assert parse(str(tree)) == tree
