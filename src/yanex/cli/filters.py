"""The filter options shared by every command that selects experiments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from yanex import query, timeparse, where

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = [
    click.option(
        "-s",
        "--status",
        "statuses",
        multiple=True,
        type=click.Choice(query.STATUSES),
        help="Only this status (repeatable: any).",
    ),
    click.option(
        "-t",
        "--tag",
        "tags",
        multiple=True,
        help="Only with this tag (repeatable: all).",
    ),
    click.option("-n", "--name", help="Only names matching this glob pattern."),
    click.option(
        "--script", help="Only scripts matching this glob (file name or path)."
    ),
    click.option("--sweep", help="Only members of this sweep (id or prefix)."),
    click.option(
        "--started-after", metavar="TIME", help="e.g. 2026-12-01 or '2 days ago'."
    ),
    click.option("--started-before", metavar="TIME"),
    click.option("--ended-after", metavar="TIME"),
    click.option("--ended-before", metavar="TIME"),
    click.option(
        "-w",
        "--where",
        "conditions",
        multiple=True,
        metavar="EXPR",
        help="On params and final metrics, e.g. 'lr<0.01', 'acc>=0.9' (repeatable).",
    ),
    click.option(
        "-a",
        "--all",
        "include_archived",
        is_flag=True,
        help="Include archived ones.",
    ),
]

_NAMES = (
    "statuses",
    "tags",
    "name",
    "script",
    "sweep",
    "started_after",
    "started_before",
    "ended_after",
    "ended_before",
    "conditions",
    "include_archived",
)


def filter_options(function: F) -> F:
    """Add the filter options to a command."""
    for option in reversed(_OPTIONS):
        function = option(function)
    return function


def pop_filters(options: dict[str, Any], ids: tuple[str, ...] = ()) -> query.Filters:
    """Take the filter options out of a command's keyword arguments."""
    values = {name: options.pop(name) for name in _NAMES}
    return query.Filters(
        ids=ids,
        statuses=tuple(values["statuses"]),
        tags=tuple(values["tags"]),
        name=values["name"],
        script=values["script"],
        sweep=values["sweep"],
        started_after=_time(values["started_after"]),
        started_before=_time(values["started_before"]),
        ended_after=_time(values["ended_after"]),
        ended_before=_time(values["ended_before"]),
        where=tuple(where.parse_condition(text) for text in values["conditions"]),
        archived=query.INCLUDE if values["include_archived"] else query.EXCLUDE,
    )


def _time(text: str | None) -> Any:
    return timeparse.parse_time(text) if text is not None else None


def has_any(filters: query.Filters) -> bool:
    """Whether any filter was given (ids aside)."""
    empty = query.Filters(archived=filters.archived)
    return filters._replace(ids=()) != empty
