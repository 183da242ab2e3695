"""Changing recorded experiments: delete, archive, rename, retag.

Archiving only sets a flag: archived experiments leave default listings and
lose nothing. Deleting first renames the directory out of the store's view
(into ``.trash/``, on the same filesystem) and then removes it, so a reader
sees the experiment whole or not at all. An experiment that is still
running is never deleted: its runner would go on writing into nothing.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Sequence
from typing import Any, NamedTuple

from yanex import host, layout, lifecycle
from yanex.errors import StoreError
from yanex.experiment import Experiment
from yanex.store import CREATED, QUEUED, RUNNING, STAGED, Store

_TRASH = ".trash"


class Report(NamedTuple):
    """Which experiments a change applied to, and which it refused and why."""

    done: list[str]
    refused: list[tuple[str, str]]


def delete(store: Store, ids: Sequence[str]) -> Report:
    """Delete experiments that are not running."""
    done: list[str] = []
    refused: list[tuple[str, str]] = []
    trash = store.root / _TRASH
    trash.mkdir(exist_ok=True)
    for experiment_id in ids:
        status = Experiment(store, experiment_id).status
        if status in (RUNNING, CREATED):
            refused.append((experiment_id, f"it is {status}; cancel it first"))
            continue
        target = trash / f"{experiment_id}-{layout.new_id()}"
        try:
            os.rename(store.directory(experiment_id), target)
        except OSError as error:
            raise StoreError(f"cannot delete {experiment_id}: {error}") from None
        shutil.rmtree(target, ignore_errors=True)
        done.append(experiment_id)
    return Report(done, refused)


def cancel(store: Store, ids: Sequence[str]) -> Report:
    """Cancel experiments that have not ended, wherever they run.

    A Slurm task is cancelled with ``scancel`` (its runner records the end,
    or Slurm's account does); a local run gets SIGTERM through its runner,
    which forwards it and records the run cancelled; an experiment not
    started yet is recorded cancelled at once.
    """
    done: list[str] = []
    refused: list[tuple[str, str]] = []
    for experiment_id in ids:
        experiment = Experiment(store, experiment_id)
        why = _cancel_one(store, experiment)
        if why is None:
            done.append(experiment_id)
        else:
            refused.append((experiment_id, why))
    return Report(done, refused)


def _cancel_one(store: Store, experiment: Experiment) -> str | None:
    status = experiment.status
    slurm = experiment.metadata.get("slurm")
    if status in (QUEUED, RUNNING) and isinstance(slurm, dict) and slurm.get("job_id"):
        from yanex.executors.slurm import cancel_job

        cancel_job(f"{slurm['job_id']}_{slurm['array_index']}")
        return None
    if status == RUNNING:
        return _signal_runner(experiment)
    if status in (CREATED, STAGED, QUEUED):
        lifecycle.mark_not_started(store, experiment.id, "cancelled before it started")
        return None
    return f"it is {status}"


def _signal_runner(experiment: Experiment) -> str | None:
    runner = experiment.metadata.get("runner") or {}
    if not host.is_same_boot(runner) or not host.is_process_alive(runner):
        return f"its runner runs on {runner.get('host') or 'another host'}"
    try:
        os.kill(int(runner["pid"]), signal.SIGTERM)
    except OSError as error:
        return f"cannot signal its runner: {error.strerror}"
    return None


def set_archived(store: Store, ids: Sequence[str], archived: bool) -> Report:
    """Archive or unarchive experiments."""
    for experiment_id in ids:
        store.update_metadata(experiment_id, lambda m: m.update(archived=archived))
    return Report(list(ids), [])


def update(
    store: Store,
    experiment_id: str,
    name: str | None = None,
    description: str | None = None,
    add_tags: Sequence[str] = (),
    remove_tags: Sequence[str] = (),
) -> dict[str, Any]:
    """Change the name, description or tags of one experiment."""

    def change(metadata: dict[str, Any]) -> None:
        if name is not None:
            metadata["name"] = name
        if description is not None:
            metadata["description"] = description
        tags = [t for t in metadata.get("tags") or [] if t not in remove_tags]
        tags += [t for t in add_tags if t not in tags]
        metadata["tags"] = tags

    updated = store.update_metadata(experiment_id, change)
    assert updated is not None
    return updated
