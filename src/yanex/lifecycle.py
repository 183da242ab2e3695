"""The status transitions of one experiment, written the same way by everyone.

::

    created ──> running ──> completed | failed | cancelled
    staged  ──┘    ^   └──> (runner gone: read back as ``lost``)
                   └─ requeued (restart count + 1)

The runner, notebook sessions and cluster tasks all move experiments through
these functions, so a record means the same thing whoever wrote it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from yanex import host, layout
from yanex.errors import DamagedRecordError
from yanex.metrics import read_history
from yanex.store import CANCELLED, RUNNING, Store, utc_now


def mark_running(
    store: Store,
    experiment_id: str,
    script_pid: int | None,
    expect: Collection[str] | None = None,
    **extra: Any,
) -> dict[str, Any] | None:
    """Record that this process now runs the experiment's script.

    With ``expect``, this is a claim: it succeeds only if the recorded status
    is one of those, checked and changed under the experiment's lock, so of
    several runners reaching for the same staged experiment exactly one gets
    it. A failed claim returns None and writes nothing.
    """

    def change(metadata: dict[str, Any]) -> bool:
        if expect is not None and metadata.get("status") not in expect:
            return False
        if metadata.get("started_at"):
            metadata["restarts"] = int(metadata.get("restarts") or 0) + 1
        metadata.update(
            status=RUNNING,
            started_at=utc_now(),
            ended_at=None,
            duration_s=None,
            exit_code=None,
            reason=None,
            runner=host.runner_identity(),
            script_pid=script_pid,
            **extra,
        )
        return True

    return store.update_metadata(experiment_id, change)


def mark_finished(
    store: Store,
    experiment_id: str,
    status: str,
    exit_code: int | None = None,
    reason: str | None = None,
    stderr_tail: str | None = None,
) -> dict[str, Any]:
    """Write the final record: status, timing, exit code and metric summary."""
    try:
        summary = read_history(
            str(store.file(experiment_id, layout.METRICS_FILE))
        ).summary()
    except DamagedRecordError:
        summary = None  # the rest of the record can still be written
    ended = utc_now()

    def change(metadata: dict[str, Any]) -> None:
        metadata.update(
            status=status,
            ended_at=ended,
            duration_s=_seconds_between(metadata.get("started_at"), ended),
            exit_code=exit_code,
            reason=reason,
            metrics_summary=summary,
        )
        if stderr_tail is not None:
            metadata["stderr_tail"] = stderr_tail

    return _write_end(store, experiment_id, change)


def mark_not_started(store: Store, experiment_id: str, reason: str) -> dict[str, Any]:
    """Record that a planned experiment was cancelled before it began."""

    def change(metadata: dict[str, Any]) -> None:
        metadata.update(status=CANCELLED, ended_at=utc_now(), reason=reason)

    return _write_end(store, experiment_id, change)


def _write_end(
    store: Store, experiment_id: str, change: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """Write a final record, on a full disk in the room set aside for it."""
    metadata = _always(store.update_metadata(experiment_id, change, use_spare=True))
    store.drop_spare(experiment_id)
    return metadata


def _always(metadata: dict[str, Any] | None) -> dict[str, Any]:
    """The record of an unconditional update, which is always written."""
    assert metadata is not None
    return metadata


def _seconds_between(started: Any, ended: str) -> float | None:
    if not isinstance(started, str):
        return None
    try:
        delta = datetime.fromisoformat(ended) - datetime.fromisoformat(started)
    except ValueError:
        return None
    return round(delta.total_seconds(), 6)
