"""Conditions on parameters and metrics, as ``--where`` writes them.

A condition is ``KEY OP VALUE``; the value is typed by the same rules as
``--param`` (:func:`yanex.values.parse_value`), so ``lr<1e-3`` compares a
number and ``opt=="1"`` a string::

    >>> condition = parse_condition("params.model.lr < 0.01")
    >>> condition.key, condition.op, condition.value, condition.scope
    ('model.lr', '<', 0.01, 'params')
    >>> condition.matches(0.001), condition.matches("0.001")
    (True, False)

One condition is judged in two places, which must agree: in Python by
:meth:`Condition.matches` and in the index by :meth:`Condition.sql`. The
rules are those a scientist expects rather than Python's:

- a missing value matches only ``!=``;
- numbers (not booleans) compare numerically, so ``1 == 1.0``;
- NaN matches only ``!=``;
- strings compare as strings, ordered by code point;
- booleans, null, lists and mappings support only ``==`` and ``!=``, and are
  equal when their JSON is identical (so ``true`` is not ``1``, and key order
  in a mapping matters);
- values of different kinds are never equal and never ordered: ``!=`` holds,
  every other operator fails.

Known shortcoming: the index keeps numbers as 64-bit floats, so integers
beyond 2**53 may compare equal there while :meth:`Condition.matches`, which
compares exactly, tells them apart.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from yanex.errors import FilterError, ParamError
from yanex.values import parse_value

#: The comparison operators, as written in a condition.
OPERATORS = ("==", "!=", "<", "<=", ">", ">=")

SCOPES = ("params", "metrics")

# Longest first at one position, so that "<=" is not read as "<" then "=x".
_OPERATOR = re.compile(r"==|!=|<=|>=|<|>|=")
_KEY = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_SQL_OPERATOR = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

_NUMBER, _TEXT, _OTHER = "number", "text", "other"


@dataclass(frozen=True)
class Condition:
    """One ``KEY OP VALUE`` test on a parameter or a metric."""

    key: str
    op: str
    value: Any
    scope: str | None = None
    text: str = ""

    def __post_init__(self) -> None:
        if self.op not in OPERATORS:
            raise FilterError(
                f"unknown operator {self.op!r}; use one of {', '.join(OPERATORS)}"
            )
        if self.scope is not None and self.scope not in SCOPES:
            raise FilterError(f"unknown scope {self.scope!r}; use params or metrics")

    def _replace(self, **changes: Any) -> Condition:
        """A copy with ``changes`` applied, like ``NamedTuple._replace``.

        :mod:`yanex.query` uses it to judge ``!=`` as a negated ``==``.
        """
        return dataclasses.replace(self, **changes)

    def matches(self, actual: Any, present: bool = True) -> bool:
        """Whether ``actual`` satisfies the condition; never raises.

        ``present`` is false when the experiment has no value for the key.
        """
        if not present:
            return self.op == "!="
        return _compare(actual, self.op, self.value)

    def sql(
        self, column_num: str, column_text: str, column_json: str
    ) -> tuple[str, list[Any]]:
        """An SQL test and its parameters for one present value.

        The three columns hold one stored value: its number (NULL unless an
        int or float other than NaN), its text (NULL unless a string) and
        its JSON. The caller finds the row for the key; a missing key, which
        matches only ``!=``, is the caller's to handle.

        >>> parse_condition("lr<0.01").sql("num", "text", "json")
        ('num < ?', [0.01])
        """
        kind = _kind(self.value)
        if kind == _NUMBER:
            if _is_nan(self.value):
                return _constant(self.op == "!=")
            return _column_test(column_num, self.op, _to_real(self.value))
        if kind == _TEXT:
            return _column_test(column_text, self.op, self.value)
        encoded = _encode(self.value)
        if self.op not in ("==", "!=") or encoded is None:
            return _constant(self.op == "!=")
        return _column_test(column_json, self.op, encoded)


def parse_condition(text: str) -> Condition:
    """Read ``KEY OP VALUE``, e.g. ``lr<0.01`` or ``metrics.acc >= 0.9``.

    The first operator splits key from value, so the value may itself hold
    operators (``note==a<b``). A lone ``=`` means ``==``.
    """
    found = _OPERATOR.search(text)
    if found is None:
        raise FilterError(
            f"--where {text!r}: expected KEY OP VALUE"
            f" with OP one of {', '.join(OPERATORS)}"
        )
    op = "==" if found.group() == "=" else found.group()
    scope, key = _parse_key(text, text[: found.start()].strip())
    value = _parse_value(text, text[found.end() :].strip())
    return Condition(key=key, op=op, value=value, scope=scope, text=text)


def parse_conditions(texts: Iterable[str]) -> list[Condition]:
    """Read several conditions; all of them must hold."""
    return [parse_condition(text) for text in texts]


def _parse_key(text: str, key: str) -> tuple[str | None, str]:
    if not key:
        raise FilterError(f"--where {text!r}: missing the key before the operator")
    if not _KEY.fullmatch(key):
        raise FilterError(
            f"--where {text!r}: {key!r} is not a key;"
            " use dotted names of letters, digits, '_' and '-'"
        )
    scope, _, rest = key.partition(".")
    if scope in SCOPES and rest:
        return scope, rest
    return None, key


def _parse_value(text: str, value: str) -> Any:
    if not value:
        raise FilterError(
            f"--where {text!r}: missing the value after the operator"
            ' (write "" for an empty string)'
        )
    try:
        return parse_value(value, f"--where {text!r}")
    except ParamError as error:
        raise FilterError(" ".join(str(error).split())) from None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return _OTHER
    if isinstance(value, numbers.Real):
        return _NUMBER
    if isinstance(value, str):
        return _TEXT
    return _OTHER


def _compare(actual: Any, op: str, expected: Any) -> bool:
    kind = _kind(expected)
    if _kind(actual) != kind:
        return op == "!="
    if kind == _NUMBER:
        return _compare_numbers(actual, op, expected)
    if kind == _TEXT:
        return _COMPARE[op](str(actual), str(expected))
    if op not in ("==", "!="):
        return False
    encoded = _encode(expected)
    equal = encoded is not None and encoded == _encode(actual)
    return equal == (op == "==")


def _compare_numbers(actual: Any, op: str, expected: Any) -> bool:
    if _is_nan(actual) or _is_nan(expected):
        return op == "!="
    try:
        return bool(_COMPARE[op](actual, expected))
    except (ArithmeticError, TypeError, ValueError):
        return op == "!="


def _is_nan(number: Any) -> bool:
    # NaN is the one number unequal to itself; math.isnan overflows on big ints.
    return bool(number != number)


def _encode(value: Any) -> str | None:
    """The JSON the index stores for ``value``, or None if it has none."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return None


def _to_real(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _column_test(column: str, op: str, parameter: Any) -> tuple[str, list[Any]]:
    if op == "!=":
        # A NULL column holds a value of another kind, which is never equal.
        return f"({column} IS NULL OR {column} <> ?)", [parameter]
    return f"{column} {_SQL_OPERATOR[op]} ?", [parameter]


def _constant(result: bool) -> tuple[str, list[Any]]:
    return ("1" if result else "0"), []
