"""What an experiment's record says about the Slurm task that runs it.

A member submitted to Slurm carries a ``slurm`` record in its metadata::

    {"job_id": "812", "array_index": 3, "batch": "5e0c1a2b",
     "task_job_id": "815", "node": "node07", "restart_count": 0,
     "settled": false, "gone": false}

``job_id`` and ``array_index`` name the task (``812_3``) for Slurm's
commands; the task adds its own job id, node and restart count when it
starts. ``settled`` means Slurm's account of the task's end has been
compared with the record, so nobody needs to ask Slurm about it again;
``gone`` means Slurm no longer knew the task while the record showed no end.

This module only reads records, so that listings can decide cheaply
whether Slurm needs asking at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from yanex import layout
from yanex.errors import StoreError
from yanex.store import CANCELLED, FAILED, QUEUED, RUNNING, Store

SLURM = "slurm"
#: Where submitted batches live, under the store's root: one folder per
#: batch, with the list of its members, its batch script and each task's
#: own output (what a task printed before its member's runner took over).
BATCHES = ".slurm"


def slurm_of(metadata: dict[str, Any]) -> dict[str, Any] | None:
    """The ``slurm`` record of a submitted member, else None."""
    record = metadata.get(SLURM)
    if isinstance(record, dict) and record.get("job_id"):
        return record
    return None


def task_name(record: dict[str, Any]) -> str:
    """The task as Slurm's commands name it: ``<job id>_<array index>``."""
    return f"{record.get('job_id')}_{record.get('array_index')}"


def needs_settling(status: str, record: dict[str, Any] | None) -> bool:
    """Whether Slurm may know more about this member than its record.

    That is the case while the member is queued or running (Slurm may have
    ended the task without yanex recording it) and when it ended failed or
    cancelled without its end having been compared with Slurm's yet (a
    signal may have been Slurm's time limit).
    """
    if record is None or record.get("gone"):
        return False
    if status in (QUEUED, RUNNING):
        return True
    return status in (FAILED, CANCELLED) and not record.get("settled")


def batch_directory(store: Store, batch: str) -> Path:
    """The folder of one submitted batch; its name is an id, never a path."""
    if not layout.is_valid_id(batch):
        raise StoreError(f"{batch!r} is not a batch id")
    return store.root / BATCHES / batch


def task_output(store: Store, record: dict[str, Any]) -> Path:
    """The file Slurm writes a task's own output to."""
    directory = batch_directory(store, str(record.get("batch")))
    return directory / f"task-{record.get('array_index')}.out"
