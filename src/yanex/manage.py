"""Changing recorded experiments: delete, archive, rename, retag.

Archiving only sets a flag: archived experiments leave default listings and
lose nothing. Deleting first renames the directory out of the store's view
(into ``.trash/``, on the same filesystem) and then removes it, so a reader
sees the experiment whole or not at all. An experiment that is still
running is never deleted: its runner would go on writing into nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Sequence
from typing import Any, NamedTuple

from yanex import host, layout, lifecycle
from yanex.errors import StoreError
from yanex.executors.slurm.record import slurm_of
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
    for experiment_id in ids:
        status = Experiment(store, experiment_id).status
        if status in (RUNNING, CREATED, QUEUED):
            refused.append((experiment_id, f"it is {status}; cancel it first"))
            continue
        _remove(store, experiment_id)
        done.append(experiment_id)
    return Report(done, refused)


def discard(store: Store, ids: Sequence[str]) -> None:
    """Remove experiments this process recorded but never started, e.g.
    after the scheduler refused them, so that no trace of them is left."""
    for experiment_id in ids:
        if store.read_metadata(experiment_id).get("started_at") is None:
            _remove(store, experiment_id)


def _remove(store: Store, experiment_id: str) -> None:
    """Move an experiment out of sight in one rename, then remove it."""
    trash = store.root / _TRASH
    trash.mkdir(exist_ok=True)
    target = trash / f"{experiment_id}-{layout.new_id()}"
    try:
        os.rename(store.directory(experiment_id), target)
    except OSError as error:
        raise StoreError(f"cannot delete {experiment_id}: {error}") from None
    shutil.rmtree(target, ignore_errors=True)


def cancel(store: Store, ids: Sequence[str]) -> Report:
    """Cancel experiments that have not ended, wherever they run.

    - Slurm members, queued or running: their tasks are cancelled with one
      ``scancel``; queued ones are recorded cancelled at once, running ones
      by their task as it stops.
    - Staged experiments are recorded cancelled.
    - Experiments run here by ``yanex run``: their runner gets SIGTERM and
      records them cancelled. That stops everything the runner runs, so it
      is done only when all its unfinished experiments are to be cancelled.
    """
    refused: list[tuple[str, str]] = []
    slurm_ids: list[str] = []
    local: list[Experiment] = []
    done: list[str] = []
    for experiment_id in ids:
        experiment = Experiment(store, experiment_id)
        status = experiment.status
        if status in (QUEUED, RUNNING) and slurm_of(experiment.metadata):
            slurm_ids.append(experiment_id)
        elif status == STAGED:
            lifecycle.mark_not_started(
                store, experiment_id, _CANCELLED_BEFORE_START, expect=(STAGED,)
            )
            done.append(experiment_id)
        elif status in (CREATED, RUNNING):
            local.append(experiment)
        else:
            refused.append((experiment_id, f"it is {status}"))
    if slurm_ids:
        from yanex.executors.slurm.executor import cancel as cancel_on_slurm

        done += cancel_on_slurm(store, slurm_ids, _CANCELLED_BEFORE_START)
    local_done, local_refused = _cancel_local(store, local)
    return Report(done + local_done, refused + local_refused)


_CANCELLED_BEFORE_START = "not started: cancelled with yanex cancel"


def _cancel_local(
    store: Store, experiments: Sequence[Experiment]
) -> tuple[list[str], list[tuple[str, str]]]:
    """Signal the runners whose every unfinished experiment is chosen."""
    done: list[str] = []
    refused: list[tuple[str, str]] = []
    chosen = {e.id for e in experiments}
    by_runner: dict[str, list[Experiment]] = {}
    for experiment in experiments:
        key = json.dumps(experiment.metadata.get("runner"), sort_keys=True)
        by_runner.setdefault(key, []).append(experiment)
    for group in by_runner.values():
        runner = group[0].metadata.get("runner") or {}
        why = _runner_refusal(store, runner, chosen)
        if why is None:
            why = _signal(runner)
        if why is None:
            done += [e.id for e in group]
        else:
            refused += [(e.id, why) for e in group]
    return done, refused


def _runner_refusal(
    store: Store, runner: dict[str, Any], chosen: set[str]
) -> str | None:
    if not host.is_same_boot(runner):
        return f"it runs on {runner.get('host') or 'another host'}; cancel it there"
    from yanex import query

    unfinished = query.select(store, query.Filters(statuses=(CREATED, RUNNING)))
    others = [
        row["id"]
        for row in unfinished.rows
        if row.get("runner") == runner and row["id"] not in chosen
    ]
    if others:
        return (
            f"its runner (pid {runner.get('pid')}) also runs {len(others)} other"
            " experiment(s); cancel them together or stop that yanex run"
        )
    return None


def _signal(runner: dict[str, Any]) -> str | None:
    try:
        os.kill(int(runner["pid"]), signal.SIGTERM)
    except (OSError, KeyError, TypeError, ValueError) as error:
        return f"cannot signal its runner: {error}"
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
