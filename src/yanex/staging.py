"""Staged experiments: recorded now, run later by ``yanex run --staged``.

Staging records each member exactly as a run would (parameters, script,
arguments, name, tags, and the git state and patch of that moment) with the
status ``staged``. Running them claims each one at the moment it starts:
the claim is the change from ``staged`` to ``running``, made under the
experiment's lock, so any number of runners started at once run each staged
experiment exactly once. A runner that dies before claiming leaves the
experiment ``staged`` for the next runner. One that dies after claiming
leaves it ``running`` under a dead runner, which readers report as ``lost``
and the next runner of staged work takes over and runs again from the
start (see :func:`is_abandoned`): a claim does not outlive its runner.

The code may change between staging and running. Each run compares the git
state of its directory with the staged one, records both, and says so when
they differ.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from yanex import gitstate, liveness
from yanex.errors import GitError
from yanex.launch import launch_from_record
from yanex.runner import Launch
from yanex.store import LOST, RUNNING, STAGED, Store

#: The field that marks, in the running record, a run that was staged.
WAS_STAGED = "was_staged"


def staged_ids(store: Store) -> list[str]:
    """Ids of every experiment waiting to be run as staged, in the order they
    were staged: those still staged, and those whose run was cut short with
    its runner (see :func:`is_abandoned`)."""
    found = []
    for experiment_id in store.experiment_ids():
        try:
            metadata = store.read_metadata(experiment_id)
        except (OSError, ValueError, LookupError):
            continue
        if metadata.get("archived"):
            continue
        if metadata.get("status") == STAGED or is_abandoned(
            store, experiment_id, metadata
        ):
            found.append((str(metadata.get("created_at") or ""), experiment_id))
    return [experiment_id for _, experiment_id in sorted(found)]


def is_abandoned(store: Store, experiment_id: str, metadata: dict[str, Any]) -> bool:
    """Whether a staged experiment was claimed by a runner that then died.

    Such a record still says ``running``, under a runner that is gone (on
    this host, its process; elsewhere, its heartbeat has stopped): nothing
    will ever record its end. It may be claimed again, under the same lock
    as a first claim, so that of several runners exactly one takes it over.
    Experiments sent to a scheduler are left to it.
    """
    if metadata.get("status") != RUNNING or not metadata.get(WAS_STAGED):
        return False
    if metadata.get("slurm"):
        return False
    heartbeat = store.heartbeat_mtime(experiment_id)
    return liveness.judge(metadata, heartbeat).status == LOST


def staged_launch(store: Store, experiment_id: str) -> Launch:
    """A launch that claims a staged experiment and runs it as recorded.

    An experiment whose earlier claim died with its runner is taken over and
    run again from the start; its record counts the restart.
    """
    launch = launch_from_record(store, experiment_id)

    def observe() -> tuple[dict[str, Any], str | None]:
        extra, change = compare_code(store, experiment_id, launch.cwd)
        notes = [change] if change is not None else []
        if store.read_metadata(experiment_id).get("status") == RUNNING:
            notes.insert(0, "its earlier run died with its runner; running it again")
        return {**extra, WAS_STAGED: True}, "; ".join(notes) or None

    return launch._replace(
        expect=(STAGED,),
        observe=observe,
        take_over=partial(is_abandoned, store, experiment_id),
    )


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
