"""Turning query-string arguments into library filters and numbers.

The list page sends the same filters as ``yanex list``: repeatable
``status``, ``tag`` and ``where``, glob patterns for ``name`` and
``script``, a sweep id or prefix, and times such as ``2 days ago``. Every
malformed value raises a :class:`~yanex.errors.UsageError`, which the
server answers with 400.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from yanex import query, timeparse, where
from yanex.errors import FilterError, UsageError

_ARCHIVED = (query.EXCLUDE, query.INCLUDE, query.ONLY)


class Arguments:
    """The query string of one request: repeated keys kept in order."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._pairs = list(pairs)

    def all(self, key: str) -> list[str]:
        """Every non-empty value of ``key``; commas split lists too."""
        found: list[str] = []
        for name, value in self._pairs:
            if name == key:
                found.extend(part.strip() for part in value.split(","))
        return [part for part in found if part]

    def one(self, key: str) -> str | None:
        """The last non-blank value of ``key``, or None."""
        values = [v.strip() for k, v in self._pairs if k == key and v.strip()]
        return values[-1] if values else None

    def conditions(self) -> list[str]:
        """The ``where`` conditions, which may themselves hold commas."""
        return [v.strip() for k, v in self._pairs if k == "where" and v.strip()]

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        """An integer argument within ``[low, high]``."""
        text = self.one(key)
        if text is None:
            return default
        try:
            number = int(text)
        except ValueError:
            raise UsageError(f"{key} must be an integer, not {text!r}") from None
        if not low <= number <= high:
            raise UsageError(f"{key} must be between {low} and {high}, not {number}")
        return number

    def flag(self, key: str) -> bool:
        """A boolean argument: ``1``, ``true`` or ``yes`` mean true."""
        return (self.one(key) or "").lower() in ("1", "true", "yes", "on")


def filters_from(arguments: Arguments) -> query.Filters:
    """The library filters the arguments ask for."""
    archived = arguments.one("archived") or query.EXCLUDE
    if archived not in _ARCHIVED:
        raise FilterError(f"archived must be one of {', '.join(_ARCHIVED)}")
    return query.Filters(
        statuses=tuple(arguments.all("status")),
        tags=tuple(arguments.all("tag")),
        name=arguments.one("name"),
        script=arguments.one("script"),
        sweep=arguments.one("sweep"),
        where=tuple(where.parse_condition(t) for t in arguments.conditions()),
        archived=archived,
        started_after=_time(arguments.one("started_after")),
        started_before=_time(arguments.one("started_before")),
        ended_after=_time(arguments.one("ended_after")),
        ended_before=_time(arguments.one("ended_before")),
    )


def _time(text: str | None) -> datetime | None:
    return timeparse.parse_time(text) if text is not None else None
