"""``--where`` conditions: parsing, judging values, and the index's SQL."""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yanex.errors import FilterError, UsageError
from yanex.where import Condition, parse_condition, parse_conditions

# --- parsing ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "op", "value"),
    [
        ("lr<0.01", "lr", "<", 0.01),
        ("lr < 0.01", "lr", "<", 0.01),
        ("lr<=1e-3", "lr", "<=", 0.001),
        ("epochs>10", "epochs", ">", 10),
        ("acc>=0.9", "acc", ">=", 0.9),
        ("optimizer==adam", "optimizer", "==", "adam"),
        ("optimizer!=sgd", "optimizer", "!=", "sgd"),
        ('name != "a b"', "name", "!=", "a b"),
        ("  model.lr   ==   3  ", "model.lr", "==", 3),
        ("flag==true", "flag", "==", True),
        ("seed==null", "seed", "==", None),
        ("layers==[1, 2]", "layers", "==", [1, 2]),
        ("my-key_2.sub-part==x", "my-key_2.sub-part", "==", "x"),
    ],
)
def test_a_condition_is_read_as_key_operator_and_typed_value(
    text: str, key: str, op: str, value: Any
) -> None:
    condition = parse_condition(text)
    assert (condition.key, condition.op, condition.value) == (key, op, value)
    assert type(condition.value) is type(value)


def test_a_single_equals_sign_means_equality() -> None:
    assert parse_condition("optimizer=adam").op == "=="


def test_a_quoted_number_is_a_string() -> None:
    assert parse_condition('lr=="0.5"').value == "0.5"


def test_the_first_operator_splits_key_from_value() -> None:
    condition = parse_condition("note==a<b")
    assert (condition.key, condition.op, condition.value) == ("note", "==", "a<b")


def test_a_value_may_start_with_an_operator_character() -> None:
    condition = parse_condition("note<==x")
    assert (condition.op, condition.value) == ("<=", "=x")


def test_the_text_is_kept_as_written() -> None:
    assert parse_condition(" lr < 0.01 ").text == " lr < 0.01 "


def test_a_params_prefix_becomes_the_scope() -> None:
    condition = parse_condition("params.model.lr<0.01")
    assert (condition.scope, condition.key) == ("params", "model.lr")


def test_a_metrics_prefix_becomes_the_scope() -> None:
    condition = parse_condition("metrics.acc>=0.9")
    assert (condition.scope, condition.key) == ("metrics", "acc")


def test_a_key_without_prefix_has_no_scope() -> None:
    condition = parse_condition("model.lr<0.01")
    assert (condition.scope, condition.key) == (None, "model.lr")


def test_a_key_named_like_a_scope_alone_is_an_ordinary_key() -> None:
    condition = parse_condition("params==3")
    assert (condition.scope, condition.key) == (None, "params")


def test_several_conditions_are_read_in_order() -> None:
    conditions = parse_conditions(["lr<0.01", "opt==adam"])
    assert [c.key for c in conditions] == ["lr", "opt"]


def test_a_text_without_operator_is_refused() -> None:
    with pytest.raises(FilterError) as caught:
        parse_condition("lr~0.1")
    assert str(caught.value) == (
        "--where 'lr~0.1': expected KEY OP VALUE with OP one of ==, !=, <, <=, >, >="
    )


def test_a_condition_without_key_is_refused() -> None:
    with pytest.raises(FilterError) as caught:
        parse_condition(" <0.1")
    assert str(caught.value) == ("--where ' <0.1': missing the key before the operator")


def test_a_condition_without_value_is_refused() -> None:
    with pytest.raises(FilterError) as caught:
        parse_condition("lr< ")
    assert str(caught.value) == (
        "--where 'lr< ': missing the value after the operator"
        ' (write "" for an empty string)'
    )


@pytest.mark.parametrize("key", ["a b", "lr?", "a..b", ".lr", "params.", "ß"])
def test_a_malformed_key_is_refused(key: str) -> None:
    text = f"{key}==1"
    with pytest.raises(FilterError) as caught:
        parse_condition(text)
    assert str(caught.value) == (
        f"--where {text!r}: {key!r} is not a key;"
        " use dotted names of letters, digits, '_' and '-'"
    )


def test_an_unreadable_value_is_a_filter_error_naming_the_condition() -> None:
    with pytest.raises(FilterError) as caught:
        parse_condition("layers==[1, 2")
    message = str(caught.value)
    assert message.startswith("--where 'layers==[1, 2': ")
    assert "\n" not in message


def test_a_filter_error_is_a_usage_error() -> None:
    assert issubclass(FilterError, UsageError)


def test_a_condition_with_an_unknown_operator_cannot_be_built() -> None:
    with pytest.raises(FilterError) as caught:
        Condition("lr", "~", 1)
    assert str(caught.value) == (
        "unknown operator '~'; use one of ==, !=, <, <=, >, >="
    )


def test_a_condition_can_be_copied_with_another_operator() -> None:
    condition = parse_condition("lr!=0.1")
    assert condition._replace(op="==") == dataclasses.replace(condition, op="==")


@settings(max_examples=200, deadline=500, database=None)
@given(st.text(max_size=40))
def test_any_text_is_either_a_condition_or_a_filter_error(text: str) -> None:
    try:
        condition = parse_condition(text)
    except FilterError as error:
        assert "\n" not in str(error)
    else:
        assert condition.op in ("==", "!=", "<", "<=", ">", ">=")


@settings(max_examples=200, deadline=500, database=None)
@given(
    st.sampled_from(["x", "a.b", "params.lr"]),
    st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "="]),
    st.text(max_size=20),
)
def test_any_value_text_is_either_a_condition_or_a_filter_error(
    key: str, op: str, value: str
) -> None:
    try:
        parse_condition(f"{key}{op}{value}")
    except FilterError as error:
        assert "\n" not in str(error)


# --- matching --------------------------------------------------------------


def matches(text: str, actual: Any) -> bool:
    return parse_condition(text).matches(actual)


@pytest.mark.parametrize(
    ("text", "actual", "expected"),
    [
        ("x==1", 1, True),
        ("x==1", 1.0, True),
        ("x==1", 2, False),
        ("x!=1", 2, True),
        ("x!=1", 1.0, False),
        ("x<1", 0.5, True),
        ("x<1", 1, False),
        ("x<=1", 1, True),
        ("x<=1", 1.5, False),
        ("x>1", 2, True),
        ("x>1", 1, False),
        ("x>=1", 1.0, True),
        ("x>=1", 0, False),
        ("x<1e-3", 1e-4, True),
        ("x>-1", -0.5, True),
        ("x<.inf", 1e308, True),
    ],
)
def test_numbers_compare_numerically(text: str, actual: Any, expected: bool) -> None:
    assert matches(text, actual) is expected


@pytest.mark.parametrize("op", ["==", "<", "<=", ">", ">="])
def test_a_nan_value_matches_no_comparison(op: str) -> None:
    assert matches(f"x{op}1", math.nan) is False


def test_a_nan_value_differs_from_any_number() -> None:
    assert matches("x!=1", math.nan) is True


@pytest.mark.parametrize("op", ["==", "<", "<=", ">", ">="])
def test_a_nan_condition_matches_nothing(op: str) -> None:
    assert matches(f"x{op}.nan", math.nan) is False


def test_a_nan_condition_differs_from_everything() -> None:
    assert matches("x!=.nan", math.nan) is True


@pytest.mark.parametrize(
    ("text", "actual", "expected"),
    [
        ("opt==adam", "adam", True),
        ("opt==adam", "Adam", False),
        ("opt!=adam", "sgd", True),
        ("opt!=adam", "adam", False),
        ("opt<b", "a", True),
        ("opt<b", "b", False),
        ("opt<=b", "b", True),
        ("opt>b", "ba", True),
        ("opt>b", "a", False),
        ("opt>=b", "b", True),
        ('opt==""', "", True),
    ],
)
def test_strings_compare_as_strings(text: str, actual: str, expected: bool) -> None:
    assert matches(text, actual) is expected


def test_strings_order_lexicographically_not_numerically() -> None:
    assert matches('x<"9"', "10") is True


@pytest.mark.parametrize(
    ("text", "actual", "expected"),
    [
        ("flag==true", True, True),
        ("flag==true", False, False),
        ("flag!=true", False, True),
        ("flag!=false", False, False),
        ("seed==null", None, True),
        ("seed!=null", None, False),
        ("seed!=null", 0, True),
        ("layers==[1, 2]", [1, 2], True),
        ("layers==[1, 2]", [2, 1], False),
        ("layers!=[1, 2]", [2, 1], True),
        ("opt=={lr: 0.1}", {"lr": 0.1}, True),
        ("opt!={lr: 0.1}", {"lr": 0.2}, True),
    ],
)
def test_other_values_compare_by_equality(
    text: str, actual: Any, expected: bool
) -> None:
    assert matches(text, actual) is expected


@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
@pytest.mark.parametrize(
    ("value", "actual"),
    [("true", True), ("null", None), ("[1]", [1]), ("{a: 1}", {"a": 1})],
)
def test_other_values_are_never_ordered(op: str, value: str, actual: Any) -> None:
    assert matches(f"x{op}{value}", actual) is False


def test_a_boolean_is_not_the_number_one() -> None:
    assert matches("x==1", True) is False


def test_the_number_one_is_not_true() -> None:
    assert matches("x==true", 1) is False


def test_a_boolean_is_not_ordered_against_numbers() -> None:
    assert matches("x<2", True) is False


@pytest.mark.parametrize("op", ["==", "<", "<=", ">", ">="])
def test_a_number_and_a_string_never_compare(op: str) -> None:
    assert matches(f"x{op}1", "1") is False
    assert matches(f'x{op}"1"', 1) is False


def test_a_number_and_a_string_always_differ() -> None:
    assert matches("x!=1", "1") is True


@pytest.mark.parametrize("op", ["==", "<", "<=", ">", ">="])
def test_a_missing_value_matches_no_comparison(op: str) -> None:
    assert parse_condition(f"x{op}1").matches(None, present=False) is False


def test_a_missing_value_differs_from_anything() -> None:
    assert parse_condition("x!=1").matches(None, present=False) is True


def test_a_missing_value_is_not_null() -> None:
    assert parse_condition("x==null").matches(None, present=False) is False


def test_an_unencodable_value_matches_only_inequality() -> None:
    condition = parse_condition("x==[1]")
    assert condition.matches([object()]) is False
    assert parse_condition("x!=[1]").matches([object()]) is True


def test_a_huge_integer_compares_exactly() -> None:
    assert matches("x<1", 10**400) is False
    assert matches("x>1", 10**400) is True


# --- SQL -------------------------------------------------------------------


def sql(text: str) -> tuple[str, list[Any]]:
    return parse_condition(text).sql("num", "text", "json")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lr<0.01", ("num < ?", [0.01])),
        ("lr<=0.01", ("num <= ?", [0.01])),
        ("lr>0.01", ("num > ?", [0.01])),
        ("lr>=0.01", ("num >= ?", [0.01])),
        ("epochs==10", ("num = ?", [10.0])),
        ("epochs!=10", ("(num IS NULL OR num <> ?)", [10.0])),
        ("opt==adam", ("text = ?", ["adam"])),
        ("opt!=adam", ("(text IS NULL OR text <> ?)", ["adam"])),
        ("opt<b", ("text < ?", ["b"])),
        ("flag==true", ("json = ?", ["true"])),
        ("flag!=true", ("(json IS NULL OR json <> ?)", ["true"])),
        ("seed==null", ("json = ?", ["null"])),
        ("layers==[1, 2]", ("json = ?", ["[1,2]"])),
        ("name==[é]", ("json = ?", ['["é"]'])),
        ("flag<true", ("0", [])),
        ("x==.nan", ("0", [])),
        ("x!=.nan", ("1", [])),
    ],
)
def test_each_kind_of_value_has_its_sql(
    text: str, expected: tuple[str, list[Any]]
) -> None:
    assert sql(text) == expected


def test_the_sql_uses_the_columns_it_is_given() -> None:
    condition = parse_condition("lr<0.01")
    assert condition.sql("v.num", "v.text", "v.json") == ("v.num < ?", [0.01])


def test_a_huge_integer_is_compared_in_sql_as_infinity() -> None:
    assert sql(f"x<{10**400}") == ("num < ?", [math.inf])


ROWS: dict[str, Any] = {
    "zero": 0,
    "one": 1,
    "one_float": 1.0,
    "small": 0.005,
    "negative": -3,
    "big": 1e300,
    "infinite": math.inf,
    "nan": math.nan,
    "adam": "adam",
    "sgd": "sgd",
    "empty": "",
    "text_one": "1",
    "true": True,
    "false": False,
    "null": None,
    "list": [1, 2],
    "mapping": {"lr": 0.1},
}


def encode(value: Any) -> tuple[float | None, str | None, str]:
    """The three columns as the index stores a value (NaN has no number)."""
    number = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = None if math.isnan(value) else float(value)
    text = value if isinstance(value, str) else None
    return number, text, json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@pytest.fixture
def table() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE v (name TEXT, num REAL, text TEXT, json TEXT)")
    connection.executemany(
        "INSERT INTO v VALUES (?, ?, ?, ?)",
        [(name, *encode(value)) for name, value in ROWS.items()],
    )
    yield connection
    connection.close()


def selected(connection: sqlite3.Connection, condition: Condition) -> set[str]:
    test, parameters = condition.sql("num", "text", "json")
    query = f"SELECT name FROM v WHERE {test}"
    return {name for (name,) in connection.execute(query, parameters)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x<0.01", {"zero", "small", "negative"}),
        ("x==1", {"one", "one_float"}),
        ("x>=1", {"one", "one_float", "big", "infinite"}),
        ("x==adam", {"adam"}),
        ("x>adam", {"sgd"}),
        ('x==""', {"empty"}),
        ('x=="1"', {"text_one"}),
        ("x==true", {"true"}),
        ("x==false", {"false"}),
        ("x==null", {"null"}),
        ("x==[1, 2]", {"list"}),
        ("x=={lr: 0.1}", {"mapping"}),
        ("x==.nan", set()),
        ("x<.nan", set()),
    ],
)
def test_the_sql_selects_the_rows_that_match(
    table: sqlite3.Connection, text: str, expected: set[str]
) -> None:
    assert selected(table, parse_condition(text)) == expected


def test_the_sql_for_inequality_selects_every_other_kind(
    table: sqlite3.Connection,
) -> None:
    expected = set(ROWS) - {"one", "one_float"}
    assert selected(table, parse_condition("x!=1")) == expected


AGREEMENT_CONDITIONS = [
    f"x{op}{value}"
    for op in ("==", "!=", "<", "<=", ">", ">=")
    for value in (
        "0",
        "1",
        "0.01",
        "-5",
        ".inf",
        ".nan",
        "adam",
        "b",
        '""',
        '"1"',
        "true",
        "false",
        "null",
        "[1, 2]",
        "{lr: 0.1}",
    )
]


@pytest.mark.parametrize("text", AGREEMENT_CONDITIONS)
def test_the_sql_and_matches_agree_on_every_row(
    table: sqlite3.Connection, text: str
) -> None:
    condition = parse_condition(text)
    judged = {name for name, value in ROWS.items() if condition.matches(value)}
    assert selected(table, condition) == judged


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(),
    st.text(max_size=5),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3))


@settings(max_examples=200, deadline=500, database=None)
@given(
    st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
    VALUES,
    st.lists(VALUES, max_size=5),
)
def test_the_sql_and_matches_agree_on_any_values(
    op: str, value: Any, stored: list[Any]
) -> None:
    condition = Condition("x", op, value)
    with sqlite3.connect(":memory:") as connection:
        connection.execute("CREATE TABLE v (name TEXT, num REAL, text TEXT, json TEXT)")
        rows = [(str(i), *encode(item)) for i, item in enumerate(stored)]
        connection.executemany("INSERT INTO v VALUES (?, ?, ?, ?)", rows)
        judged = {str(i) for i, item in enumerate(stored) if condition.matches(item)}
        assert selected(connection, condition) == judged
    connection.close()
