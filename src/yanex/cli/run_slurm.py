"""``yanex run --executor slurm``: the options, submission and watching.

The Slurm executor is imported only when it is asked for, so a local
``yanex run`` pays nothing for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

import click

from yanex.cli import output, progress
from yanex.launch import RunReport
from yanex.store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from yanex.executors.slurm.executor import Submission
    from yanex.executors.slurm.options import SlurmOptions

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = [
    click.option(
        "--executor",
        type=click.Choice(["local", "slurm"]),
        default="local",
        show_default=True,
        help="Where to run: here, or as one Slurm job array (see docs/slurm.md).",
    ),
    click.option(
        "--detach", is_flag=True, help="Slurm: return as soon as it is submitted."
    ),
    click.option("--slurm-partition", metavar="NAME", help="Slurm partition."),
    click.option(
        "--slurm-time", metavar="TIME", help="Time limit per task, e.g. 2:00:00."
    ),
    click.option("--slurm-gpus", type=click.IntRange(min=0), help="GPUs per task."),
    click.option("--slurm-cpus", type=click.IntRange(min=1), help="CPUs per task."),
    click.option("--slurm-mem", metavar="SIZE", help="Memory per task, e.g. 16G."),
    click.option("--slurm-account", metavar="NAME", help="Slurm account."),
    click.option("--slurm-qos", metavar="NAME", help="Slurm quality of service."),
    click.option(
        "--slurm-option",
        "slurm_options",
        multiple=True,
        metavar="OPTION",
        help="Any other sbatch option, e.g. --slurm-option=--constraint=a100"
        " (repeatable).",
    ),
    click.option(
        "--slurm-requeue/--slurm-no-requeue",
        default=None,
        help="Let Slurm requeue preempted or failed-node tasks; they resume the"
        " same experiment.",
    ),
]

_SETTINGS = {
    "slurm_partition": "partition",
    "slurm_time": "time",
    "slurm_gpus": "gpus",
    "slurm_cpus": "cpus",
    "slurm_mem": "mem",
    "slurm_account": "account",
    "slurm_qos": "qos",
    "slurm_options": "options",
    "slurm_requeue": "requeue",
}


def executor_options(function: F) -> F:
    """Add ``--executor``, ``--detach`` and the ``--slurm-*`` options."""
    for option in reversed(_OPTIONS):
        function = option(function)
    return function


class SlurmChoice(NamedTuple):
    """Run on Slurm with these options, watching or detached."""

    options: SlurmOptions
    detach: bool


def slurm_choice(settings: dict[str, Any]) -> SlurmChoice | None:
    """The Slurm run asked for, over the project's defaults; None for local."""
    given = [
        name
        for name in ("detach", *_SETTINGS)
        if settings.get(name) not in (None, (), False)
    ]
    if settings.get("executor") != "slurm":
        if given:
            flags = ", ".join(_flag(name) for name in given)
            verb = "needs" if len(given) == 1 else "need"
            raise click.UsageError(f"{flags} {verb} --executor slurm")
        return None
    from yanex.executors.slurm.options import (
        SlurmOptions,
        check_pass_through,
        project_defaults,
    )

    chosen: dict[str, Any] = {
        field: settings.get(name) for name, field in _SETTINGS.items()
    }
    chosen["options"] = check_pass_through(chosen["options"], "--slurm-option")
    options = SlurmOptions(**chosen).over(project_defaults(os.getcwd()))
    return SlurmChoice(options, bool(settings.get("detach")))


def _flag(name: str) -> str:
    flag = "--" + name.replace("_", "-")
    return "--slurm-option" if flag == "--slurm-options" else flag


def check_available() -> None:
    """Fail before anything is recorded when sbatch is not here."""
    from yanex.executors.slurm.executor import SlurmExecutor

    SlurmExecutor().check()


def run_on_slurm(
    store: Store,
    ids: Sequence[str],
    labels: dict[str, str],
    parallel: int | None,
    choice: SlurmChoice,
    discard_on_error: bool,
) -> RunReport | None:
    """Submit ``ids`` as one array; watch it unless detached.

    Returns the report to summarise, or None when detached. On a refused
    submission, experiments this command created are removed again.
    """
    from yanex.errors import SlurmError
    from yanex.executors.slurm.executor import SlurmExecutor
    from yanex.executors.slurm.options import store_warning

    warning = store_warning(store.root)
    if warning is not None:
        output.warn(warning)
    throttle = parallel or 0
    events = progress.Progress(labels, throttle or len(ids), streaming=False)

    def submitted(submission: Submission) -> None:
        _say_submitted(store, submission, throttle, choice.detach)

    executor = SlurmExecutor(choice.options, choice.detach, submitted)
    try:
        report = executor.run(store, ids, throttle, events)
    except SlurmError:
        if discard_on_error:
            from yanex import manage

            manage.discard(store, ids)
        raise
    finally:
        events.close()
    if choice.detach and report.cancelled_by is None:
        submission = executor.submission
        for experiment_id in submission.ids if submission is not None else []:
            click.echo(experiment_id)
        return None
    return report


def _say_submitted(
    store: Store, submission: Submission, throttle: int, detach: bool
) -> None:
    if not submission.ids:
        return
    count = len(submission.ids)
    tasks = "1 task" if count == 1 else f"{count} tasks"
    limit = f", at most {throttle} at once" if 0 < throttle < count else ""
    output.note(f"submitted Slurm job {submission.job_id}: {tasks}{limit}")
    if detach:
        follow = _selection(store, submission.ids)
        output.note(
            f"follow it with 'yanex list {follow}'; cancel it with"
            f" 'yanex cancel {follow}'"
        )
    else:
        output.note("watching it; Ctrl-C cancels it, --detach would not wait")


def _selection(store: Store, ids: Sequence[str]) -> str:
    """How to name these members on the command line, shortly."""
    sweeps = {(store.read_metadata(i).get("sweep") or {}).get("id") for i in ids}
    if len(ids) > 1 and len(sweeps) == 1 and None not in sweeps:
        return f"--sweep {sweeps.pop()}"
    if len(ids) <= 5:
        return " ".join(ids)
    return "--status queued --status running"
