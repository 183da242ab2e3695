"""The experiments list: filtered, searched, sorted and cut into pages.

The newest-first order of :func:`yanex.query.select` is the default, and
then only one page of full rows is read, which keeps a 10,000-experiment
store fast. Sorting by another column or searching needs every matching
row; sorting by ``params.X`` or ``metrics.X`` also reads those values from
the index. Missing values sort last in either direction.
"""

from __future__ import annotations

import math
from typing import Any

from yanex import query
from yanex.errors import UsageError
from yanex.index import Index, values_of
from yanex.store import QUEUED, RUNNING, Store
from yanex.ui.arguments import Arguments, filters_from

#: Row fields the page may sort by, besides ``params.X`` and ``metrics.X``.
SORTABLE = (
    "id",
    "name",
    "status",
    "script_name",
    "tags",
    "created_at",
    "started_at",
    "ended_at",
    "duration",
    "sweep_id",
)
#: Counted on every answer, whatever the filters: the page refreshes itself
#: while anything runs or waits in a scheduler's queue.
_RUNNING = query.Filters(statuses=(RUNNING,), archived=query.INCLUDE)
_QUEUED = query.Filters(statuses=(QUEUED,), archived=query.INCLUDE)
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

_ROW_FIELDS = (
    "id",
    "name",
    "description",
    "status",
    "status_reason",
    "script_name",
    "tags",
    "created_at",
    "started_at",
    "ended_at",
    "duration",
    "sweep_id",
    "sweep_index",
    "archived",
)


def list_page(store: Store, arguments: Arguments) -> dict[str, Any]:
    """One page of the experiments that match the arguments, and the counts."""
    filters = filters_from(arguments)
    sort = arguments.one("sort")
    descending = arguments.flag("desc")
    search = (arguments.one("q") or "").lower()
    offset = arguments.integer("offset", 0, 0, 10**9)
    limit = arguments.integer("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    _check_sort(sort)

    index = Index(store)
    try:
        if sort is None and not search:
            selection = query.select(store, filters, offset + limit, index)
            page, total = selection.rows[offset:], selection.total
        else:
            matched = query.select(store, filters, index=index).rows
            matched = [row for row in matched if _is_found(row, search)]
            ordered = _sorted(index, matched, sort, descending)
            page, total = ordered[offset : offset + limit], len(ordered)
        running = query.select(store, _RUNNING, 0, index).total
        queued = query.select(store, _QUEUED, 0, index).total
        experiments = _with_values(store, index, page)
    finally:
        index.close()

    return {
        "total": total,
        "offset": offset,
        "limit": limit,
        "running": running,
        "queued": queued,
        "experiments": experiments,
    }


def _check_sort(sort: str | None) -> None:
    if sort is None or sort in SORTABLE:
        return
    scope, _, key = sort.partition(".")
    if scope in ("params", "metrics") and key:
        return
    raise UsageError(
        f"cannot sort by {sort!r}; use a column, params.KEY or metrics.KEY"
    )


def _is_found(row: dict[str, Any], search: str) -> bool:
    """Whether the search text occurs in the id, name, script or a tag."""
    if not search:
        return True
    haystack = [row["id"], row.get("name"), row.get("script_name"), *row["tags"]]
    return any(search in str(text).lower() for text in haystack if text)


def _sorted(
    index: Index,
    rows: list[dict[str, Any]],
    sort: str | None,
    descending: bool,
) -> list[dict[str, Any]]:
    if sort is None:
        return rows[::-1] if descending else rows
    values = _sort_values(index, rows, sort)
    keyed = [(_order(values.get(row["id"])), row) for row in rows]
    present = [(key, row) for key, row in keyed if key is not None]
    missing = [row for key, row in keyed if key is None]
    present.sort(key=lambda pair: pair[0], reverse=descending)
    return [row for _, row in present] + missing


def _sort_values(index: Index, rows: list[dict[str, Any]], sort: str) -> dict[str, Any]:
    if sort in SORTABLE:
        return {row["id"]: row.get(sort) for row in rows}
    scope, _, key = sort.partition(".")
    ids = [row["id"] for row in rows]
    found = values_of(index.connection(), scope, ids, key)
    return {experiment_id: values[key] for experiment_id, values in found.items()}


def _order(value: Any) -> tuple[int, float, str] | None:
    """A sort key putting numbers before text; None for a missing value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return (0, float(value), "")
    if isinstance(value, int | float):
        return None if math.isnan(value) else (0, float(value), "")
    if isinstance(value, list):
        return (1, 0.0, ", ".join(str(item) for item in value))
    return (1, 0.0, str(value))


def _with_values(
    store: Store, index: Index, page: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The page's rows, trimmed to what the page shows, with params and metrics."""
    ids = [row["id"] for row in page]
    params, metrics = query.params_and_metrics(store, ids, index)
    shown = []
    for row in page:
        item = {field: row.get(field) for field in _ROW_FIELDS}
        item["archived"] = bool(item["archived"])
        item["params"] = params.get(row["id"], {})
        item["metrics"] = metrics.get(row["id"], {})
        shown.append(item)
    return shown
