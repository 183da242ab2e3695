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
from collections.abc import Sequence
from typing import Any, NamedTuple

from yanex import layout
from yanex.errors import StoreError
from yanex.experiment import Experiment
from yanex.store import CREATED, RUNNING, Store

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
