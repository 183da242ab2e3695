"""Staged experiments: recorded now, run later by ``yanex run --staged``.

Staging records each member exactly as a run would (parameters, script,
arguments, name, tags, and the git state and patch of that moment) with the
status ``staged``. Running them claims each one at the moment it starts:
the claim is the change from ``staged`` to ``running``, made under the
experiment's lock, so any number of runners started at once run each staged
experiment exactly once. A runner that dies after claiming leaves its
experiment ``running`` with a dead runner, which readers report as ``lost``;
one that dies before claiming leaves it ``staged`` for the next runner.

The code may change between staging and running. Each run compares the git
state of its directory with the staged one, records both, and says so when
they differ.
"""

from __future__ import annotations

from typing import Any

from yanex import gitstate
from yanex.errors import GitError
from yanex.launch import launch_from_record
from yanex.runner import Launch
from yanex.store import STAGED, Store


def staged_ids(store: Store) -> list[str]:
    """Ids of every staged experiment, in the order they were staged."""
    found = []
    for experiment_id in store.experiment_ids():
        try:
            metadata = store.read_metadata(experiment_id)
        except (OSError, ValueError, LookupError):
            continue
        if metadata.get("status") == STAGED and not metadata.get("archived"):
            found.append((str(metadata.get("created_at") or ""), experiment_id))
    return [experiment_id for _, experiment_id in sorted(found)]


def staged_launch(store: Store, experiment_id: str) -> Launch:
    """A launch that claims a staged experiment and runs it as recorded."""
    launch = launch_from_record(store, experiment_id)

    def observe() -> tuple[dict[str, Any], str | None]:
        return compare_code(store, experiment_id, launch.cwd)

    return launch._replace(expect=(STAGED,), observe=observe)


def compare_code(
    store: Store,
    experiment_id: str,
    cwd: str,
    current: gitstate.GitState | None = None,
) -> tuple[dict[str, Any], str | None]:
    """The code state now, to record, and a note if it differs from staging.

    ``current``, when given, is the code state of ``cwd`` captured already.
    """
    try:
        staged = store.read_git(experiment_id)
        current = current or gitstate.capture(cwd)
    except (GitError, OSError, ValueError, LookupError):
        return {}, None
    now = _summary(current.to_record())
    then = _summary(staged or {})
    extra = {"git_at_start": now, "code_changed": now != then}
    if now == then:
        return extra, None
    change = f"code changed since staging: {_describe(then)} then, {_describe(now)} now"
    return extra, change


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "commit": record.get("commit"),
        "branch": record.get("branch"),
        "dirty": bool(record.get("dirty")),
    }


def _describe(summary: dict[str, Any]) -> str:
    commit = summary.get("commit")
    if not commit:
        return "no git commit"
    state = "with uncommitted changes" if summary.get("dirty") else "clean"
    return f"{str(commit)[:7]} {state}"
