"""One task of a yanex job array, on its compute node.

Slurm starts ``python -m yanex.executors.slurm.task STORE BATCH`` with
``SLURM_ARRAY_TASK_ID`` set. The task

1. finds its member: line *i* of the batch's members file;
2. runs it through the same supervisor as a local run (same capture,
   heartbeat, signals and final record), claiming it from ``queued``; a
   requeued attempt (``SLURM_RESTART_COUNT`` above 0) takes back the same
   experiment whatever its earlier attempt recorded, and the record counts
   the restart;
3. when the script ended by a signal, asks Slurm why at once (a time limit,
   a requeue) and records that (see :mod:`.settle`);
4. exits with the script's exit code, so Slurm's account agrees with
   yanex's.

A member that is not claimable (cancelled before its task started, or
taken over by a newer submission) is left alone.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from yanex.executors.slurm.record import batch_directory, slurm_of
from yanex.launch import launch_from_record, run_experiments
from yanex.runner import Outcome
from yanex.store import COMPLETED, FAILED, FINAL_STATUSES, QUEUED, RUNNING, Store

_USAGE = "usage: python -m yanex.executors.slurm.task STORE BATCH\n"


def main(argv: list[str]) -> int:
    """Run this task's member; returns the task's exit code."""
    if len(argv) != 2:
        sys.stderr.write(_USAGE)
        return 2
    store = Store(argv[0])
    batch = argv[1]
    index = int(os.environ["SLURM_ARRAY_TASK_ID"])
    job_id = os.environ.get("SLURM_ARRAY_JOB_ID") or os.environ["SLURM_JOB_ID"]
    restarts = int(os.environ.get("SLURM_RESTART_COUNT") or 0)
    experiment_id = member_at(store, batch, index)
    if not _belongs_here(store, experiment_id, job_id):
        sys.stderr.write(f"yanex: {experiment_id} belongs to another job\n")
        return 0
    outcome = _run(store, experiment_id, _task_record(job_id, index, batch, restarts))
    if outcome is None:
        sys.stderr.write(f"yanex: {experiment_id} is not queued; nothing to run\n")
        return 0
    _settle_end(store, outcome)
    if outcome.exit_code is not None:
        return outcome.exit_code
    return 0 if outcome.status == COMPLETED else 1


def member_at(store: Store, batch: str, index: int) -> str:
    """The id of the member at ``index`` of a batch."""
    members = batch_directory(store, batch) / "members"
    return members.read_text(encoding="utf-8").split()[index]


def _belongs_here(store: Store, experiment_id: str, job_id: str) -> bool:
    record = slurm_of(store.read_metadata(experiment_id))
    return record is None or str(record.get("job_id")) == job_id


def _task_record(job_id: str, index: int, batch: str, restarts: int) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "array_index": index,
        "batch": batch,
        "task_job_id": os.environ.get("SLURM_JOB_ID"),
        "node": os.environ.get("SLURMD_NODENAME"),
        "restart_count": restarts,
        "settled": False,
        "gone": False,
    }


def _run(store: Store, experiment_id: str, slurm: dict[str, Any]) -> Outcome | None:
    expect: tuple[str, ...] = (QUEUED,)
    if slurm["restart_count"] > 0:
        expect = (QUEUED, RUNNING, *FINAL_STATUSES)
    launch = launch_from_record(store, experiment_id)._replace(
        expect=expect, observe=lambda: ({"slurm": slurm}, None)
    )
    report = run_experiments(store, [launch], echo=False)
    return report.outcomes[0] if report.outcomes else None


def _settle_end(store: Store, outcome: Outcome) -> None:
    """Record Slurm's reason when the script ended by a signal; otherwise
    note that Slurm has nothing to add."""
    from yanex.executors.slurm.settle import mark_settled, settle

    exit_code = outcome.exit_code
    by_signal = outcome.status != COMPLETED and (
        exit_code is None or exit_code >= 128 or outcome.status != FAILED
    )
    if by_signal:
        settle(store, [outcome.experiment_id])
    else:
        mark_settled(store, outcome.experiment_id, outcome.status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
