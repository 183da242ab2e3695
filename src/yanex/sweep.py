"""Sweep expressions: one parameter value written as many.

A sweep is a call written where a single value would go. Expanding a
parameter tree makes one member per combination of swept values, the first
swept parameter varying slowest::

    >>> tree = {"lr": parse_sweep("logspace(-3, -1, 3)", source="lr"),
    ...         "model": {"depth": parse_sweep("list(2, 4)", source="depth")}}
    >>> [member.swept for member in expand(tree)][:2]
    [{'lr': 0.001, 'model.depth': 2}, {'lr': 0.001, 'model.depth': 4}]
    >>> member_name("base", {"lr": 0.001, "model.depth": 2})
    'base lr=0.001 model.depth=2'

The four functions are ``list(v1, v2, ...)``, ``range(start, stop[, step])``,
``linspace(start, stop, num)`` and ``logspace(start_exp, stop_exp, num)``.
Reading the expressions is :mod:`yanex.sweep_syntax`, imported only when a
value looks like a call, so that runs without sweeps never pay for it.

This module is pure: text in, values out. It never evaluates user text, and
every failure it reports is a :class:`~yanex.errors.SweepError`.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol

from yanex.errors import SweepError
from yanex.values import PlainText

__all__ = [
    "FUNCTIONS",
    "MAX_MEMBERS",
    "Member",
    "Sweep",
    "expand",
    "find_sweeps",
    "maybe_parse",
    "member_name",
    "parse_sweep",
    "sweep_from_value",
]

#: The most values one sweep, or members one grid, may have.
MAX_MEMBERS = 100_000

#: The sweep functions, in the order error messages list them.
FUNCTIONS = ("list", "range", "linspace", "logspace")

# The public objects.


class SweepValues(Protocol):
    """What a sweep stands for: a length known up front, values on demand."""

    def __len__(self) -> int: ...

    def materialize(self) -> list[Any]: ...


class Sweep:
    """One parameter value that stands for many.

    ``text`` is the expression as written (without surrounding white space)
    and ``function`` the sweep function it calls. The values are computed on
    demand, so ``len()`` of a large range costs nothing. Two sweeps are equal
    when they are written alike.
    """

    __slots__ = ("_values", "function", "text")

    def __init__(self, text: str, function: str, values: SweepValues) -> None:
        self.text = text
        self.function = function
        self._values = values

    def __repr__(self) -> str:
        return f"Sweep(text={self.text!r}, function={self.function!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sweep):
            return NotImplemented
        return (self.text, self.function) == (other.text, other.function)

    def __hash__(self) -> int:
        return hash((self.text, self.function))

    def __len__(self) -> int:
        return len(self._values)

    def values(self) -> list[Any]:
        """Return the values, typed, as a fresh list the caller may change."""
        return self._values.materialize()


class Member(NamedTuple):
    """One point of a sweep grid.

    ``params`` is the whole parameter tree with every sweep replaced by one
    value; ``swept`` maps each swept parameter's dotted key to that value.
    """

    params: dict[str, Any]
    swept: dict[str, Any]


# Deciding whether text is a sweep.


def maybe_parse(text: str, *, quoted: bool, source: str) -> Sweep | None:
    """Return the sweep ``text`` expresses, or None if it is an ordinary value.

    Unquoted text that looks like a call is always a sweep, so that a typo
    such as ``lnspace(0, 1, 5)`` is reported instead of silently becoming a
    string. Quoted text is a sweep only when it calls a known function:
    quoting is how a user keeps other call-like text as a string.
    """
    expression = text.strip()
    name = called_name(expression)
    if name is None or (quoted and name not in FUNCTIONS):
        return None
    return parse_sweep(expression, source=source)


def sweep_from_value(value: Any, source: str) -> Sweep | None:
    """Apply :func:`maybe_parse` to a value loaded from YAML.

    The loader marks unquoted strings as :class:`~yanex.values.PlainText`;
    any other string was quoted, and non-strings are never sweeps.
    """
    if not isinstance(value, str):
        return None
    return maybe_parse(value, quoted=not isinstance(value, PlainText), source=source)


def parse_sweep(text: str, *, source: str) -> Sweep:
    """Parse a sweep expression; ``source`` names it in error messages."""
    from yanex import sweep_syntax

    return sweep_syntax.parse(text, source=source)


def called_name(text: str) -> str | None:
    """Return the identifier ``text`` starts with if a ``(`` follows it."""
    end = 0
    while end < len(text) and _is_name_char(text[end], first=end == 0):
        end += 1
    if end == 0:
        return None

    after = end
    while after < len(text) and text[after].isspace():
        after += 1
    return text[:end] if text[after : after + 1] == "(" else None


def _is_name_char(char: str, *, first: bool) -> bool:
    if not char.isascii():
        return False
    return char.isalpha() or char == "_" or (char.isdigit() and not first)


# The grid: finding sweeps in a parameter tree and expanding them.


def find_sweeps(tree: dict[str, Any]) -> list[tuple[str, Sweep]]:
    """List every sweep in ``tree`` by dotted key, depth first in key order.

    A sweep inside a list has no dotted key and no clear meaning, so it is
    refused rather than left unexpanded.
    """
    return [(_dotted(keys), sweep) for keys, sweep in _locate_sweeps(tree, ())]


def _locate_sweeps(
    tree: dict[str, Any], at: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], Sweep]]:
    for key, value in tree.items():
        keys = (*at, str(key))
        if isinstance(value, Sweep):
            yield keys, value
        elif isinstance(value, dict):
            yield from _locate_sweeps(value, keys)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                _refuse_sweeps_below(item, f"{_dotted(keys)}[{index}]")


def _refuse_sweeps_below(value: Any, path: str) -> None:
    if isinstance(value, Sweep):
        raise SweepError(
            f"{path}: a sweep inside a list is not supported; "
            "sweep the whole list instead, e.g. list([1, 2], [3, 4])"
        )
    if isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_sweeps_below(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_sweeps_below(item, f"{path}.{key}")


def _dotted(keys: tuple[str, ...]) -> str:
    return ".".join(keys)


def expand(tree: dict[str, Any]) -> list[Member]:
    """Expand ``tree`` into the cartesian product of its sweeps.

    The first swept parameter varies slowest, like the outermost of nested
    for-loops. Every member gets its own copy of the tree, so changing one
    never changes another.
    """
    located = list(_locate_sweeps(tree, ()))
    _check_grid(located)

    choices = [sweep.values() for _, sweep in located]
    members = []
    for combination in itertools.product(*choices):
        chosen = {
            keys: value for (keys, _), value in zip(located, combination, strict=True)
        }
        swept = {_dotted(keys): copy.deepcopy(value) for keys, value in chosen.items()}
        members.append(Member(_fill(tree, chosen, ()), swept))
    return members


def _check_grid(located: list[tuple[tuple[str, ...], Sweep]]) -> None:
    """Refuse a grid that is too large, or two sweeps with one dotted key."""
    names = [_dotted(keys) for keys, _ in located]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise SweepError(f"{name}: two sweeps have this dotted key")
        seen.add(name)

    size = math.prod(len(sweep) for _, sweep in located)
    if size > MAX_MEMBERS:
        shape = " x ".join(
            f"{name}: {len(sweep):,}"
            for name, (_, sweep) in zip(names, located, strict=True)
        )
        raise SweepError(
            f"sweep grid has {size:,} members ({shape}), "
            f"more than the limit of {MAX_MEMBERS:,}"
        )


def _fill(
    tree: dict[str, Any], chosen: dict[tuple[str, ...], Any], at: tuple[str, ...]
) -> dict[str, Any]:
    """Copy ``tree``, putting the chosen value in place of each sweep."""
    filled = {}
    for key, value in tree.items():
        keys = (*at, str(key))
        if isinstance(value, Sweep):
            filled[key] = copy.deepcopy(chosen[keys])
        elif isinstance(value, dict):
            filled[key] = _fill(value, chosen, keys)
        else:
            filled[key] = copy.deepcopy(value)
    return filled


# Naming members.


def member_name(base: str | None, swept: dict[str, Any]) -> str | None:
    """Name a member by its base name followed by its swept values.

    >>> member_name("baseline", {"lr": 0.001, "batch_size": 32})
    'baseline lr=0.001 batch_size=32'
    """
    if not swept:
        return base

    parts = [f"{key}={_format_value(value)}" for key, value in swept.items()]
    if base:
        parts.insert(0, base)
    return " ".join(parts)


def _format_value(value: Any) -> str:
    """Write a value compactly: YAML words for constants, flow form for lists."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_format_value(item) for item in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{key}:{_format_value(item)}" for key, item in value.items())
        return "{" + ",".join(pairs) + "}"
    return str(value)
