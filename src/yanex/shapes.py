"""What shape each field of a record must have for readers to rely on it.

A record can parse as JSON and still be damaged: a ``sweep`` that is a
list, tags that are numbers, a name that is a mapping. Readers index such
fields, join them and format them, so the store checks the shapes when it
reads a record and reports a mismatch as damage (see
:func:`problem_in_metadata`), instead of letting it surface as a crash
wherever the field is used. Fields a record does not have are fine, and so
are fields no reader relies on.
"""

from __future__ import annotations

from typing import Any

#: Field -> the types its value may have.
Shape = dict[str, tuple[type, ...]]

_TEXT = (str, type(None))
_NUMBER = (int, float, type(None))
_MAPPING = (dict, type(None))
_LIST = (list, type(None))
_FLAG = (bool, int, type(None))

#: Field -> the types it may hold, for metadata.json.
METADATA: Shape = {
    "id": _TEXT,
    "name": _TEXT,
    "description": _TEXT,
    "status": _TEXT,
    "archived": _FLAG,
    "created_at": _TEXT,
    "started_at": _TEXT,
    "ended_at": _TEXT,
    "duration_s": _NUMBER,
    "exit_code": _NUMBER,
    "reason": _TEXT,
    "stderr_tail": _TEXT,
    "script": _MAPPING,
    "command": _LIST,
    "cwd": _TEXT,
    "runner": _MAPPING,
    "script_pid": _NUMBER,
    "sweep": _MAPPING,
    "restarts": _NUMBER,
    "metrics_summary": _MAPPING,
    "tags": _LIST,
}

_NESTED: dict[str, Shape] = {
    "script": {"path": _TEXT, "args": _LIST},
    "sweep": {"id": _TEXT, "index": _NUMBER, "size": _NUMBER, "swept": _MAPPING},
    "metrics_summary": {"final": _MAPPING, "steps": _NUMBER},
}

_TEXT_LISTS = (("tags",), ("command",), ("script", "args"))

#: Field -> the types it may hold, for git.json.
GIT: Shape = {
    "is_repo": _FLAG,
    "root": _TEXT,
    "commit": _TEXT,
    "branch": _TEXT,
    "detached": _FLAG,
    "upstream": _TEXT,
    "remotes": _MAPPING,
    "changed": _LIST,
    "untracked": _LIST,
    "dirty": _FLAG,
    "patch": _MAPPING,
}


def problem_in_metadata(record: dict[str, Any]) -> str | None:
    """What is wrong with the shape of a metadata record, if anything."""
    problem = _problem_in(record, METADATA, "")
    if problem is not None:
        return problem
    for field, shape in _NESTED.items():
        inner = record.get(field)
        if isinstance(inner, dict):
            problem = _problem_in(inner, shape, f"{field}.")
            if problem is not None:
                return problem
    for path in _TEXT_LISTS:
        values = _lookup(record, path)
        if isinstance(values, list) and not all(isinstance(v, str) for v in values):
            return f"{'.'.join(path)} holds something other than text"
    return None


def problem_in_git(record: dict[str, Any]) -> str | None:
    """What is wrong with the shape of a git record, if anything."""
    problem = _problem_in(record, GIT, "")
    if problem is None and not all(
        isinstance(value, str) for value in (record.get("remotes") or {}).values()
    ):
        return "remotes holds something other than text"
    return problem


def _problem_in(
    record: dict[str, Any], shape: dict[str, Any], prefix: str
) -> str | None:
    for field, types in shape.items():
        value = record.get(field)
        if not isinstance(value, types):
            return f"{prefix}{field} is a {_kind(value)}"
    return None


def _lookup(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _kind(value: Any) -> str:
    return {dict: "mapping", list: "list", str: "text", bool: "boolean"}.get(
        type(value), type(value).__name__
    )
