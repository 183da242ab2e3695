"""Finding experiments: filters, truthful statuses, and naming one by id.

:func:`select` answers every listing (``yanex list``, ``compare``, the
results API, the web page) from the index. Filters combine with AND. A
status filter is applied to the truthful status, so ``--status lost``
finds experiments whose runner died, and ``--status running`` leaves them
out. :func:`resolve` turns what a user typed (an id, a unique prefix of
one, or an exact name) into exactly one id, or says why it cannot.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from yanex import layout, liveness
from yanex.errors import ExperimentNotFoundError, FilterError
from yanex.store import LOST, RECORDED_STATUSES, Store

# The index (and with it sqlite3) is imported only by what lists: naming
# one experiment by id, as ``yanex show`` does, never needs it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3

    from yanex.index import Index
    from yanex.where import Condition

STATUSES = (*RECORDED_STATUSES, LOST)

#: Archived experiments: left out, included, or the only ones shown.
EXCLUDE, INCLUDE, ONLY = "exclude", "include", "only"


class Filters(NamedTuple):
    """What an experiment must match to be selected (all of it)."""

    ids: Sequence[str] = ()
    statuses: Sequence[str] = ()
    tags: Sequence[str] = ()
    name: str | None = None
    script: str | None = None
    sweep: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    ended_after: datetime | None = None
    ended_before: datetime | None = None
    where: Sequence[Condition] = ()
    archived: str = EXCLUDE


class Selection(NamedTuple):
    """The selected experiments, newest first, and how many matched in all.

    ``damaged`` names the experiments whose records could not be read, with
    the reason; they could not be judged against the filters.
    """

    rows: list[dict[str, Any]]
    total: int
    damaged: Mapping[str, str] = MappingProxyType({})


def select(
    store: Store,
    filters: Filters,
    limit: int | None = None,
    index: Index | None = None,
) -> Selection:
    """Experiments matching ``filters``, newest first, at most ``limit``.

    Pass an open ``index`` to answer several questions from one refresh of
    it (the web page does, once per request); it is left open.
    """
    from yanex.index import rows

    _check_statuses(filters.statuses)
    clause, parameters = _where_clause(filters)

    def answer(connection: sqlite3.Connection) -> Selection:
        if _settle_slurm_members(store, connection, filters, limit):
            opened.refresh()
            connection = opened.connection()
        candidates = rows(
            connection,
            f"SELECT id, status FROM experiments WHERE {clause}"
            " ORDER BY created_at DESC, id",
            parameters,
        )
        _add_runners(connection, candidates)
        matched = _judge(store, candidates, filters.statuses)
        shown = matched if limit is None else matched[:limit]
        full = _full_rows(connection, shown)
        return Selection(full, len(matched), opened.damaged)

    with _opened(store, index) as opened:
        return opened.answer(answer)


@contextmanager
def _opened(store: Store, index: Index | None) -> Iterator[Index]:
    """``index`` itself, or a fresh index of the store closed afterwards."""
    from yanex.index import Index

    if index is not None:
        yield index
        return
    opened = Index(store)
    try:
        yield opened
    finally:
        opened.close()


def _settle_slurm_members(
    store: Store, connection: sqlite3.Connection, filters: Filters, limit: int | None
) -> bool:
    """Bring the records of selected Slurm members in line with Slurm.

    Only members that Slurm may know more about count (see
    :mod:`yanex.executors.slurm.settle`), among those the answer shows: the
    first ``limit``, or every match when a status filter may reach beyond
    them. With none, Slurm is not asked. True if a record changed.
    """
    from yanex.index import rows

    clause, parameters = _where_clause(filters._replace(statuses=()))
    if limit is not None and not filters.statuses:
        clause = (
            f"id IN (SELECT id FROM experiments WHERE {clause}"
            f" ORDER BY created_at DESC, id LIMIT {int(limit)})"
        )
    sql = f"SELECT id, status, slurm FROM experiments WHERE {clause}"
    found = rows(connection, sql + " AND slurm IS NOT NULL", parameters)
    if not found:
        return False
    from yanex.executors.slurm.record import needs_settling

    pending = [
        row["id"]
        for row in found
        if needs_settling(row["status"], json.loads(row["slurm"]))
    ]
    if not pending:
        return False
    from yanex.executors.slurm.settle import settle

    return bool(settle(store, pending))


def _check_statuses(statuses: Sequence[str]) -> None:
    for status in statuses:
        if status not in STATUSES:
            known = ", ".join(STATUSES)
            raise FilterError(f"unknown status {status!r}; use one of {known}")


def _where_clause(filters: Filters) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    parameters: list[Any] = []

    def add(clause: str, *values: Any) -> None:
        clauses.append(clause)
        parameters.extend(values)

    if filters.archived == EXCLUDE:
        add("archived = 0")
    elif filters.archived == ONLY:
        add("archived = 1")
    if filters.ids:
        add(f"id IN ({', '.join('?' for _ in filters.ids)})", *filters.ids)
    if filters.statuses:
        recorded = _recorded_statuses(filters.statuses)
        add(f"status IN ({', '.join('?' for _ in recorded)})", *recorded)
    for tag in filters.tags:
        add(
            "EXISTS (SELECT 1 FROM tags t WHERE t.id = experiments.id AND t.tag = ?)",
            tag,
        )
    if filters.name is not None:
        add("name GLOB ?", filters.name)
    if filters.script is not None:
        add("(script_name GLOB ? OR script GLOB ?)", filters.script, filters.script)
    if filters.sweep is not None:
        add("sweep_id LIKE ? ESCAPE '\\'", _escape_like(filters.sweep) + "%")
    for column, bound, operator in (
        ("started_at", filters.started_after, ">="),
        ("started_at", filters.started_before, "<"),
        ("ended_at", filters.ended_after, ">="),
        ("ended_at", filters.ended_before, "<"),
    ):
        if bound is not None:
            add(f"{column} {operator} ?", _iso(bound))
    for condition in filters.where:
        clause, values = _condition_clause(condition)
        add(clause, *values)
    return (" AND ".join(clauses) or "1"), parameters


def _recorded_statuses(statuses: Sequence[str]) -> list[str]:
    recorded = {s for s in statuses if s != LOST}
    if LOST in statuses:
        recorded |= {"created", "queued", "running"}
    return sorted(recorded)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _condition_clause(condition: Condition) -> tuple[str, list[Any]]:
    """SQL for one ``--where``: a param, a final metric, or either."""
    tables = {"params": ["params"], "metrics": ["metrics"]}.get(
        condition.scope or "", ["params", "metrics"]
    )
    if condition.op == "!=":
        equal = condition._replace(op="==")
        parts = [_exists(table, equal) for table in tables]
        clause = " AND ".join(f"NOT {sql}" for sql, _ in parts)
        return f"({clause})", [value for _, values in parts for value in values]
    parts = [_exists(table, condition) for table in tables]
    clause = " OR ".join(sql for sql, _ in parts)
    return f"({clause})", [value for _, values in parts for value in values]


def _exists(table: str, condition: Condition) -> tuple[str, list[Any]]:
    test, values = condition.sql("v.num", "v.text", "v.json")
    sql = (
        f"EXISTS (SELECT 1 FROM {table} v WHERE v.id = experiments.id"
        f" AND v.key = ? AND {test})"
    )
    return sql, [condition.key, *values]


def _add_runners(
    connection: sqlite3.Connection, candidates: list[dict[str, Any]]
) -> None:
    """Fetch what judging needs, for the few rows that need judging."""
    from yanex.index import rows

    pending = {r["id"]: r for r in candidates if liveness.needs_judging(r["status"])}
    for row in candidates:
        row["runner"] = row["started_at"] = row["slurm"] = None
    ids = list(pending)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        query = (
            "SELECT id, runner, started_at, slurm FROM experiments"
            f" WHERE id IN ({marks})"
        )
        for found in rows(connection, query, chunk):
            pending[found["id"]].update(found)


def _judge(
    store: Store, candidates: list[dict[str, Any]], wanted: Sequence[str]
) -> list[dict[str, Any]]:
    """Give each candidate its truthful status; keep those that match."""
    kept = []
    for row in candidates:
        row["recorded_status"] = row["status"]
        row["status_reason"] = None
        if liveness.needs_judging(row["status"]):
            metadata = {
                "status": row["status"],
                "runner": json.loads(row["runner"] or "null"),
                "started_at": row["started_at"],
                "slurm": json.loads(row["slurm"] or "null"),
            }
            verdict = liveness.judge(metadata, _heartbeat(store, row["id"]))
            row["status"], row["status_reason"] = verdict.status, verdict.reason
        if not wanted or row["status"] in wanted:
            kept.append(row)
    return kept


def _heartbeat(store: Store, experiment_id: str) -> float | None:
    try:
        path = os.path.join(store.root, experiment_id, layout.HEARTBEAT_FILE)
        return os.stat(path).st_mtime
    except OSError:
        return None


def _full_rows(
    connection: sqlite3.Connection, shown: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    from yanex.index import rows

    if not shown:
        return []
    ids = [row["id"] for row in shown]
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for row in rows(
            connection, f"SELECT * FROM experiments WHERE id IN ({marks})", chunk
        ):
            found[row["id"]] = row
    result = []
    for brief in shown:
        row = found[brief["id"]]
        row["tags"] = json.loads(row["tags"] or "[]")
        row["runner"] = json.loads(row["runner"] or "null")
        row["slurm"] = json.loads(row["slurm"] or "null")
        row["recorded_status"] = brief["recorded_status"]
        row["status"] = brief["status"]
        row["status_reason"] = brief["status_reason"] or row.get("reason")
        result.append(row)
    return result


def params_and_metrics(
    store: Store, ids: Sequence[str], index: Index | None = None
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Flattened parameters and final metrics of some experiments, by id."""
    from yanex.index import values_of

    with _opened(store, index) as opened:
        return opened.answer(
            lambda connection: (
                values_of(connection, "params", ids),
                values_of(connection, "metrics", ids),
            )
        )


def resolve(store: Store, text: str) -> str:
    """The one experiment ``text`` names: an id, a unique prefix, or a name."""
    wanted = text.strip()
    if not wanted:
        raise ExperimentNotFoundError("an experiment id or name is needed")
    if layout.is_valid_id(wanted) and store.exists(wanted):
        return wanted
    by_prefix = _ids_with_prefix(store, wanted)
    if len(by_prefix) == 1:
        return by_prefix[0]
    if len(by_prefix) > 1:
        raise ExperimentNotFoundError(_ambiguous(wanted, by_prefix))
    by_name = select(store, Filters(name=_glob_literal(wanted), archived=INCLUDE)).rows
    if len(by_name) == 1:
        return str(by_name[0]["id"])
    if len(by_name) > 1:
        raise ExperimentNotFoundError(_ambiguous(wanted, [r["id"] for r in by_name]))
    raise ExperimentNotFoundError(f"no experiment has the id or name {wanted!r}")


def _ids_with_prefix(store: Store, prefix: str) -> list[str]:
    if not prefix or len(prefix) > layout.ID_LENGTH:
        return []
    if any(char not in "0123456789abcdef" for char in prefix):
        return []
    try:
        names = [entry.name for entry in os.scandir(store.root)]
    except FileNotFoundError:
        return []
    return sorted(
        name
        for name in names
        if name.startswith(prefix) and layout.is_valid_id(name) and store.exists(name)
    )


def _ambiguous(text: str, ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return f"{text!r} is ambiguous: it matches {shown}"


def _glob_literal(text: str) -> str:
    """A GLOB pattern that matches ``text`` exactly."""
    return "".join(f"[{char}]" if char in "*?[" else char for char in text)


def resolve_many(store: Store, texts: Sequence[str]) -> list[str]:
    """Resolve several ids, keeping their order and dropping repeats."""
    seen: dict[str, None] = {}
    for text in texts:
        seen[resolve(store, text)] = None
    return list(seen)
