"""One task of a yanex job array: ``python -m yanex.executors.task STORE IDS``.

Slurm starts this on a compute node with ``SLURM_ARRAY_TASK_ID`` set. It
picks the member at that index from the batch's id file and runs it through
the same supervisor as a local run. The claim accepts a ``queued`` (or, if
Slurm started the task before the submitter marked it, ``staged``) member;
a requeued task (``SLURM_RESTART_COUNT`` > 0) also takes back a member its
earlier attempt left running or ended, and the record counts the restart.
The task's exit code is the script's, so Slurm's accounting agrees.
"""

from __future__ import annotations

import os
import sys

from yanex.executors.local import launch_from_record
from yanex.launch import run_experiments
from yanex.store import (
    CANCELLED,
    CREATED,
    FAILED,
    QUEUED,
    RUNNING,
    STAGED,
    Store,
)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python -m yanex.executors.task STORE IDS_FILE\n")
        return 2
    store = Store(argv[0])
    with open(argv[1], encoding="utf-8") as handle:
        ids = handle.read().split()
    index = int(os.environ.get("SLURM_ARRAY_TASK_ID", "0"))
    restarts = int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0)
    experiment_id = ids[index]
    expect: tuple[str, ...] = (QUEUED, STAGED, CREATED)
    if restarts > 0:
        expect += (RUNNING, CANCELLED, FAILED)
    batch = os.path.basename(os.path.dirname(os.path.abspath(argv[1])))
    fields = _slurm_fields(index, restarts, batch)
    launch = launch_from_record(store, experiment_id)._replace(
        expect=expect, observe=lambda: (fields, None)
    )
    report = run_experiments(store, [launch], echo=False)
    if not report.outcomes:
        sys.stderr.write(f"yanex: {experiment_id} was already taken; nothing to do\n")
        return 0
    outcome = report.outcomes[0]
    return outcome.exit_code if outcome.exit_code is not None else 1


def _slurm_fields(index: int, restarts: int, batch: str) -> dict[str, object]:
    job = os.environ.get("SLURM_ARRAY_JOB_ID") or os.environ.get("SLURM_JOB_ID")
    return {
        "slurm": {
            "job_id": job,
            "array_index": index,
            "batch": batch,
            "task_job_id": os.environ.get("SLURM_JOB_ID"),
            "node": os.environ.get("SLURMD_NODENAME"),
            "restart_count": restarts,
        }
    }


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
