"""The status transitions of one experiment, written the same way by everyone.

::

    created ──> running ──> completed | failed | cancelled
    staged  ──┤    ^   └──> (runner gone: read back as ``lost``)
              │    └─ requeued (restart count + 1)
              └─> queued (waiting in a scheduler, e.g. Slurm) ──> running

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
from yanex.store import CANCELLED, QUEUED, RUNNING, Store, utc_now

#: A test a record must pass, under the lock, for a conditional change.
Check = Callable[[dict[str, Any]], bool]


def mark_running(
    store: Store,
    experiment_id: str,
    script_pid: int | None,
    expect: Collection[str] | None = None,
    started_at: str | None = None,
    take_over: Check | None = None,
    **extra: Any,
) -> dict[str, Any] | None:
    """Record that this process now runs the experiment's script.

    With ``expect``, this is a claim: it succeeds only if the recorded status
    is one of those, or if ``take_over`` accepts the record (an experiment
    whose runner died), checked and changed under the experiment's lock, so
    of several runners reaching for the same staged experiment exactly one
    gets it. A failed claim returns None and writes nothing. ``started_at``
    defaults to now; a runner that records the start a little after it
    happened passes the time the script started.
    """
    started = started_at or utc_now()

    def change(metadata: dict[str, Any]) -> bool:
        if expect is not None and not _claimable(metadata, expect, take_over):
            return False
        if metadata.get("started_at"):
            metadata["restarts"] = int(metadata.get("restarts") or 0) + 1
        metadata.update(
            status=RUNNING,
            started_at=started,
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
    ended_at: str | None = None,
) -> dict[str, Any]:
    """Write the final record: status, timing, exit code and metric summary.

    ``ended_at`` defaults to now (see :func:`finish_if`).
    """
    metadata = finish_if(
        store, experiment_id, status, None, exit_code, reason, stderr_tail, ended_at
    )
    return _always(metadata)


def finish_if(
    store: Store,
    experiment_id: str,
    status: str,
    check: Check | None,
    exit_code: int | None = None,
    reason: str | None = None,
    stderr_tail: str | None = None,
    ended_at: str | None = None,
    **extra: Any,
) -> dict[str, Any] | None:
    """Write the final record if ``check`` (under the lock) allows it.

    ``ended_at`` defaults to now; a reader recording an end it learnt of
    later passes the time the end happened. Returns None when ``check``
    refused and nothing was written.
    """
    try:
        summary = read_history(
            str(store.file(experiment_id, layout.METRICS_FILE))
        ).summary()
    except DamagedRecordError:
        summary = None  # the rest of the record can still be written
    ended = ended_at or utc_now()

    def change(metadata: dict[str, Any]) -> bool:
        if check is not None and not check(metadata):
            return False
        metadata.update(
            status=status,
            ended_at=ended,
            duration_s=_seconds_between(metadata.get("started_at"), ended),
            exit_code=exit_code,
            reason=reason,
            metrics_summary=summary,
            **extra,
        )
        if stderr_tail is not None:
            metadata["stderr_tail"] = stderr_tail
        return True

    return _write_end(store, experiment_id, change)


def mark_not_started(
    store: Store,
    experiment_id: str,
    reason: str,
    expect: Collection[str] | None = None,
) -> dict[str, Any] | None:
    """Record that a planned experiment was cancelled before it began.

    With ``expect``, only an experiment whose status is one of those is
    cancelled (None is returned otherwise): a queued experiment that its
    task has just claimed is left to that task.
    """

    def change(metadata: dict[str, Any]) -> bool:
        if expect is not None and metadata.get("status") not in expect:
            return False
        metadata.update(status=CANCELLED, ended_at=utc_now(), reason=reason)
        return True

    return _write_end(store, experiment_id, change)


def mark_queued(
    store: Store,
    experiment_id: str,
    expect: Collection[str],
    take_over: Check | None = None,
    **extra: Any,
) -> dict[str, Any] | None:
    """Claim an experiment for a scheduler's queue (``queued``).

    Like a runner's claim, it succeeds only from one of the ``expect``
    statuses (or a record ``take_over`` accepts), checked and changed under
    the lock, so a staged experiment is queued or run once. Until the
    scheduler has accepted the job, this process is recorded as the runner:
    a submitter killed half-way leaves the experiment reading ``lost``, not
    queued for ever.
    """

    def change(metadata: dict[str, Any]) -> bool:
        if not _claimable(metadata, expect, take_over):
            return False
        metadata.update(status=QUEUED, runner=host.runner_identity(), **extra)
        return True

    return store.update_metadata(experiment_id, change)


def _claimable(
    metadata: dict[str, Any], expect: Collection[str], take_over: Check | None
) -> bool:
    if metadata.get("status") in expect:
        return True
    return take_over is not None and take_over(metadata)


def release_queued(
    store: Store, experiment_id: str, status: str, runner: Any
) -> dict[str, Any] | None:
    """Undo :func:`mark_queued` after a refused submission."""

    def change(metadata: dict[str, Any]) -> bool:
        if metadata.get("status") != QUEUED:
            return False
        metadata.update(status=status, runner=runner)
        return True

    return store.update_metadata(experiment_id, change)


def mark_requeued(
    store: Store, experiment_id: str, reason: str, check: Check, **extra: Any
) -> dict[str, Any] | None:
    """Record that the scheduler put a started experiment back in its queue.

    The start time stays, so that the next start counts as a restart.
    """

    def change(metadata: dict[str, Any]) -> bool:
        if not check(metadata):
            return False
        metadata.update(
            status=QUEUED,
            ended_at=None,
            duration_s=None,
            exit_code=None,
            reason=reason,
            **extra,
        )
        return True

    return store.update_metadata(experiment_id, change)


def _write_end(
    store: Store, experiment_id: str, change: Callable[[dict[str, Any]], bool]
) -> dict[str, Any] | None:
    """Write a final record, on a full disk in the room set aside for it.

    The room is given up once the end is written; an experiment that starts
    again (requeued) ends without it.
    """
    metadata = store.update_metadata(experiment_id, change, use_spare=True)
    if metadata is not None:
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
