"""Bringing Slurm members' records in line with Slurm's own account.

A task's runner records how its member ended, as a local run does. But
Slurm can end a task in ways the runner cannot see or survive:

- a time limit, a preemption or ``scancel`` reach the runner as a plain
  SIGTERM, which it records as ``cancelled``; only Slurm knows that it was
  its time limit (``TIMEOUT``);
- the kernel's memory limit, a node failure or the SIGKILL after
  ``KillWait`` leave the record ``running`` or ``failed: killed by
  SIGKILL``; Slurm says ``OUT_OF_MEMORY`` or ``NODE_FAIL``;
- a task cancelled while pending never starts, so its member stays
  ``queued``;
- a requeued task ends its attempt and waits again, to resume the same
  experiment.

:func:`settle` asks Slurm (one ``squeue`` for all the jobs involved, and
``sacct`` for tasks squeue has forgotten) and writes what it learns:
``failed`` with the reason ``TIMEOUT: ...``, ``cancelled``, or ``queued``
again after a requeue. Every write is conditional on the record being the
one read before Slurm was asked, so a task that moves on meanwhile always
wins. The watcher, each task after its run, and every reader (``yanex
list``, ``show``, :mod:`yanex.results`) settle the members they touch, and
only those that :func:`~yanex.executors.slurm.record.needs_settling`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from yanex import diagnostics, lifecycle
from yanex.errors import YanexError
from yanex.executors.slurm import commands
from yanex.executors.slurm.record import (
    needs_settling,
    slurm_of,
    task_name,
    task_output,
)
from yanex.store import (
    CANCELLED,
    COMPLETED,
    FAILED,
    FINAL_STATUSES,
    QUEUED,
    RUNNING,
    Store,
)

logger = diagnostics.get_logger(__name__)

#: Slurm states in which a task has ended, the status each gives a member
#: and the words that explain it.
ENDED: dict[str, tuple[str, str]] = {
    "COMPLETED": (COMPLETED, "the Slurm task completed"),
    "FAILED": (FAILED, "the Slurm task failed"),
    "TIMEOUT": (FAILED, "Slurm stopped it at its time limit"),
    "OUT_OF_MEMORY": (FAILED, "Slurm stopped it for exceeding its memory"),
    "NODE_FAIL": (FAILED, "its node failed"),
    "BOOT_FAIL": (FAILED, "its node failed to boot"),
    "DEADLINE": (FAILED, "Slurm stopped it at its deadline"),
    "PREEMPTED": (CANCELLED, "Slurm preempted it"),
    "CANCELLED": (CANCELLED, "cancelled in Slurm"),
    "REVOKED": (CANCELLED, "Slurm revoked it"),
}
#: Ends that a runner sees only as a signal, so Slurm's word wins.
_SLURM_VERDICTS = frozenset(ENDED) - {"COMPLETED", "FAILED"}

REQUEUED_REASON = "requeued by Slurm; it resumes when Slurm starts it again"


def settle(store: Store, ids: Iterable[str]) -> list[str]:
    """Record what Slurm knows and the records do not; returns changed ids.

    Members that need no settling are not looked at twice, and when none
    does, Slurm is not asked at all. When Slurm cannot be asked, nothing
    changes.
    """
    snapshots = _needing_settling(store, ids)
    if not snapshots:
        return []
    jobs = {str(_slurm(metadata)["job_id"]) for metadata in snapshots.values()}
    account = commands.task_states(jobs)
    if not account.reached:
        logger.debug("Slurm cannot be asked; records stay as they are")
        return []
    changed = []
    for experiment_id, metadata in snapshots.items():
        state = account.tasks.get(task_name(_slurm(metadata)))
        try:
            if apply(store, experiment_id, metadata, state):
                changed.append(experiment_id)
        except (YanexError, OSError) as error:
            logger.debug("cannot settle %s: %s", experiment_id, error)
    return changed


def mark_settled(store: Store, experiment_id: str, status: str) -> bool:
    """Note that Slurm has nothing to add to an end the runner recorded."""

    def check(metadata: dict[str, Any]) -> bool:
        return metadata.get("status") == status

    return _mark(store, experiment_id, check, settled=True)


def _needing_settling(store: Store, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    snapshots = {}
    for experiment_id in ids:
        try:
            metadata = store.read_metadata(experiment_id)
        except YanexError:
            continue
        if needs_settling(str(metadata.get("status")), slurm_of(metadata)):
            snapshots[experiment_id] = metadata
    return snapshots


def _slurm(metadata: dict[str, Any]) -> dict[str, Any]:
    record = slurm_of(metadata)
    assert record is not None
    return record


def apply(
    store: Store,
    experiment_id: str,
    metadata: dict[str, Any],
    state: commands.TaskState | None,
) -> bool:
    """Bring one record, as read before Slurm was asked, in line with
    ``state`` (None: Slurm no longer knows the task); True if it changed."""
    status = str(metadata.get("status"))
    record = _slurm(metadata)
    unchanged = _unchanged_since(metadata)
    if state is None:
        flag = "gone" if status in (QUEUED, RUNNING) else "settled"
        return _mark(store, experiment_id, unchanged, **{flag: True})
    ended = _effective_state(state)
    if ended in ENDED:
        if state.state not in ENDED and status not in FINAL_STATUSES:
            return False  # still stopping: its runner may yet record the end
        return _record_end(store, experiment_id, metadata, ended, state, unchanged)
    if status != QUEUED and state.restarts > int(record.get("restart_count") or 0):
        return _requeued(store, experiment_id, state, status, unchanged)
    return False


def _effective_state(state: commands.TaskState) -> str:
    """Slurm's state, or the end it is heading for while completing."""
    if state.state == "COMPLETING" and state.reason == "TimeLimit":
        return "TIMEOUT"
    return state.state


def _unchanged_since(metadata: dict[str, Any]) -> lifecycle.Check:
    fields = ("status", "started_at", "ended_at", "restarts")
    seen = [metadata.get(name) for name in fields]

    def check(current: dict[str, Any]) -> bool:
        return [current.get(name) for name in fields] == seen

    return check


def _mark(
    store: Store, experiment_id: str, check: lifecycle.Check, **flags: Any
) -> bool:
    def change(metadata: dict[str, Any]) -> bool:
        if not check(metadata):
            return False
        metadata["slurm"] = {**(metadata.get("slurm") or {}), **flags}
        return True

    return store.update_metadata(experiment_id, change) is not None


def _requeued(
    store: Store,
    experiment_id: str,
    state: commands.TaskState,
    status: str,
    check: lifecycle.Check,
) -> bool:
    if state.state == "COMPLETING" and status not in FINAL_STATUSES:
        return False  # its runner is still stopping and records it next
    written = lifecycle.mark_requeued(store, experiment_id, REQUEUED_REASON, check)
    return written is not None


def _record_end(
    store: Store,
    experiment_id: str,
    metadata: dict[str, Any],
    ended: str,
    state: commands.TaskState,
    check: lifecycle.Check,
) -> bool:
    status = str(metadata.get("status"))
    slurm = {**_slurm(metadata), "settled": True}
    if status in FINAL_STATUSES:
        if ended not in _SLURM_VERDICTS or not _ended_by_signal(metadata):
            return _mark(store, experiment_id, check, settled=True)
        final, reason = _verdict(ended)
        written = lifecycle.finish_if(
            store,
            experiment_id,
            final,
            check,
            exit_code=metadata.get("exit_code"),
            reason=reason,
            ended_at=metadata.get("ended_at"),
            slurm=slurm,
        )
        return written is not None
    final, reason = _verdict(ended)
    reason_given: str | None = reason
    if status == QUEUED and not metadata.get("started_at"):
        final, reason_given = _never_started(store, ended, slurm)
    elif ended == "COMPLETED":
        reason_given = None
    written = lifecycle.finish_if(
        store,
        experiment_id,
        final,
        check,
        reason=reason_given,
        ended_at=state.ended_at,
        slurm=slurm,
    )
    return written is not None


def _verdict(ended: str) -> tuple[str, str]:
    final, words = ENDED[ended]
    return final, f"{ended}: {words}"


def _never_started(store: Store, ended: str, slurm: dict[str, Any]) -> tuple[str, str]:
    """Status and reason of a member whose task ended before claiming it."""
    final, words = ENDED[ended]
    if final == CANCELLED:
        return CANCELLED, f"{ended}: {words} before it started"
    output = task_output(store, slurm)
    return FAILED, f"{ended}: the Slurm task ended without running it (see {output})"


def _ended_by_signal(metadata: dict[str, Any]) -> bool:
    """Whether a recorded end is one a Slurm verdict may explain better:
    a started script stopped by a signal."""
    if not metadata.get("started_at"):
        return False
    if metadata.get("status") == CANCELLED:
        return True
    exit_code = metadata.get("exit_code")
    return metadata.get("status") == FAILED and (
        not isinstance(exit_code, int) or exit_code >= 128
    )
