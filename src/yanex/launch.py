"""From a run request to recorded experiments: plan, then create, then run.

:func:`plan_run` checks everything a request depends on (the script, config
files, parameters, sweeps, the git state) and has no side effect at all, so
that a mistake anywhere leaves nothing behind. :func:`create_experiments`
records the planned members; :func:`run_experiments` hands them to a
:class:`yanex.runner.Supervisor`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from yanex import gitstate, params, sweep
from yanex.errors import ScriptError
from yanex.runner import Events, Launch, Outcome, Supervisor
from yanex.store import CREATED, ExperimentSpec, Store


class RunRequest(NamedTuple):
    """What the user asked ``yanex run`` to do, in the directory ``cwd``."""

    script: str
    cwd: str
    script_args: Sequence[str] = ()
    configs: Sequence[str] = ()
    params: Sequence[str] = ()
    name: str | None = None
    description: str | None = None
    tags: Sequence[str] = ()
    ignore_dirty: bool = False
    command: Sequence[str] = ()
    #: Parameters beneath every other source (a rerun's recorded ones).
    base_params: Mapping[str, Any] = MappingProxyType({})
    #: Whether ./config.yaml applies when no config file is named.
    default_config: bool = True


class Plan(NamedTuple):
    """A checked request: the members to record and the code state they share."""

    request: RunRequest
    script_path: Path
    members: list[sweep.Member]
    git: gitstate.GitState
    patch: gitstate.Patch | None
    warnings: Sequence[str] = ()

    @property
    def is_sweep(self) -> bool:
        return len(self.members) > 1 or bool(self.members[0].swept)


def plan_run(request: RunRequest, environ: Mapping[str, str] | None = None) -> Plan:
    """Check a request and work out its members, touching nothing."""
    script_path = check_script(request.script, request.cwd)
    configs = params.config_files(request.configs, request.cwd)
    if not request.default_config and not request.configs:
        configs = []
    tree = params.resolve(configs, request.params, environ, base=request.base_params)
    members = sweep.expand(tree)
    git = gitstate.capture(request.cwd)
    warnings = []
    if not git.is_repo:
        warnings.append("not in a git repository: the code state is not recorded")
    elif not request.ignore_dirty:
        gitstate.ensure_clean(git)
    wants_patch = request.ignore_dirty and gitstate.has_changes(git)
    patch = gitstate.make_patch(git) if wants_patch else None
    if patch is not None and patch.untracked_skipped:
        skipped = ", ".join(path for path, _ in patch.untracked_skipped[:3])
        warnings.append(f"untracked files left out of the patch: {skipped}")
    return Plan(request, script_path, members, git, patch, warnings)


def check_script(script: str, cwd: str) -> Path:
    """The script's absolute path, if it is a readable file."""
    path = Path(cwd, script).absolute()
    if not path.exists():
        raise ScriptError(f"script {script!r} does not exist")
    if not path.is_file():
        raise ScriptError(f"script {script!r} is not a file")
    if not os.access(path, os.R_OK):
        raise ScriptError(f"script {script!r} is not readable")
    return path


def member_specs(plan: Plan, sweep_id: str | None = None) -> list[ExperimentSpec]:
    """The experiment records a plan asks for, one per member."""
    request = plan.request
    git_record = gitstate.record_of(plan.git, plan.patch)
    specs = []
    for index, member in enumerate(plan.members):
        sweep_record = None
        if plan.is_sweep:
            sweep_record = {
                "id": sweep_id,
                "index": index,
                "size": len(plan.members),
                "swept": member.swept,
            }
        specs.append(
            ExperimentSpec(
                params=member.params,
                script=str(plan.script_path),
                script_args=list(request.script_args),
                name=member_name(plan, member),
                description=request.description,
                tags=list(request.tags),
                command=list(request.command),
                cwd=request.cwd,
                git=git_record,
                patch=plan.patch.data if plan.patch is not None else None,
                sweep=sweep_record,
            )
        )
    return specs


def member_name(plan: Plan, member: sweep.Member) -> str | None:
    """The name of one member: the run's name followed by its swept values."""
    return sweep.member_name(plan.request.name, member.swept)


def create_experiments(store: Store, plan: Plan, status: str = CREATED) -> list[str]:
    """Record every member of ``plan``; returns their ids in member order."""
    from yanex import layout

    sweep_id = layout.new_id() if plan.is_sweep else None
    return [store.create(spec, status) for spec in member_specs(plan, sweep_id)]


def launches(plan: Plan, ids: Sequence[str]) -> list[Launch]:
    """Launches for freshly created members, running the script as named."""
    request = plan.request
    argv = [sys.executable, request.script, *request.script_args]
    return [Launch(experiment_id, list(argv), request.cwd) for experiment_id in ids]


def launch_from_record(store: Store, experiment_id: str) -> Launch:
    """How to start a recorded experiment's script, as its record says."""
    metadata = store.read_metadata(experiment_id)
    script = metadata.get("script") or {}
    argv = [sys.executable, str(script.get("path")), *script.get("args", [])]
    return Launch(experiment_id, argv, str(metadata.get("cwd")))


def shared_params(plan: Plan) -> dict[str, Any]:
    """Parameters every member has in common, flattened to dotted keys."""
    swept = set(plan.members[0].swept)
    flat = params.flatten(plan.members[0].params)
    return {key: value for key, value in flat.items() if key not in swept}


class RunReport(NamedTuple):
    """What running a batch did: outcomes in launch order, and what it skipped."""

    outcomes: list[Outcome]
    cancelled_by: int | None
    skipped: list[str]


def run_experiments(
    store: Store,
    runs: Sequence[Launch],
    parallel: int = 1,
    echo: bool = True,
    events: Events | None = None,
) -> RunReport:
    """Run launches through one supervisor and report how each ended."""
    supervisor = Supervisor(store, parallel=parallel, echo=echo, events=events)
    outcomes = supervisor.run(runs)
    return RunReport(outcomes, supervisor.cancelled_by, supervisor.skipped)
