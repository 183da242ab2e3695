"""``yanex run``: run a script as tracked experiments, now or later."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

import click

from yanex import launch, staging
from yanex.cli import output, progress, table
from yanex.runner import Launch, Outcome
from yanex.store import COMPLETED, CREATED, STAGED, Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from yanex.executors.slurm import SlurmOptions


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("script", required=False)
@click.argument("script_args", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "-c",
    "--config",
    "configs",
    multiple=True,
    metavar="FILE",
    help="Config file of parameters (repeatable; merged left to right)."
    " Default: ./config.yaml if present.",
)
@click.option(
    "-p",
    "--param",
    "param_args",
    multiple=True,
    metavar="KEY=VALUE",
    help="Set a parameter (repeatable); dotted keys address nested ones."
    " A sweep such as 'lr=logspace(-4,-1,4)' makes one experiment per value.",
)
@click.option("-n", "--name", help="A name for the experiment.")
@click.option("-d", "--description", help="What the experiment is about.")
@click.option("-t", "--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option(
    "--ignore-dirty",
    is_flag=True,
    help="Run despite uncommitted changes; they are saved as a patch.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check everything and show what would run; run and record nothing.",
)
@click.option(
    "-j",
    "--parallel",
    type=click.IntRange(min=0),
    metavar="N",
    help="Run N experiments at once (0: one per CPU). Default: one at a time.",
)
@click.option("--stage", is_flag=True, help="Record the experiments; run them later.")
@click.option("--staged", is_flag=True, help="Run every staged experiment.")
@click.option(
    "--executor",
    type=click.Choice(["local", "slurm"]),
    default="local",
    show_default=True,
    help="Where to run: here, or as one Slurm job array.",
)
@click.option("--detach", is_flag=True, help="Slurm: return once submitted.")
@click.option("--slurm-partition", metavar="NAME", help="Slurm partition.")
@click.option("--slurm-time", metavar="TIME", help="Time limit per task, e.g. 2:00:00.")
@click.option("--slurm-gpus", type=click.IntRange(min=0), help="GPUs per task.")
@click.option("--slurm-cpus", type=click.IntRange(min=1), help="CPUs per task.")
@click.option("--slurm-mem", metavar="SIZE", help="Memory per task, e.g. 16G.")
@click.option("--slurm-account", metavar="NAME", help="Slurm account.")
@click.option("--slurm-qos", metavar="NAME", help="Slurm quality of service.")
@click.option(
    "--slurm-option",
    "slurm_extra",
    multiple=True,
    metavar="OPTION",
    help="Any other sbatch option, e.g. '--constraint=a100' (repeatable).",
)
@click.option(
    "--slurm-requeue",
    is_flag=True,
    help="Let Slurm requeue preempted tasks; they resume the same experiment.",
)
def run(
    script: str | None,
    script_args: tuple[str, ...],
    configs: tuple[str, ...],
    param_args: tuple[str, ...],
    name: str | None,
    description: str | None,
    tags: tuple[str, ...],
    ignore_dirty: bool,
    dry_run: bool,
    parallel: int | None,
    stage: bool,
    staged: bool,
    executor: str,
    detach: bool,
    **slurm_settings: Any,
) -> int:
    """Run SCRIPT as a tracked experiment; arguments after -- go to the script.

    \b
    Examples:
      yanex run train.py --param lr=0.01 --tag baseline
      yanex run train.py --config config.yaml -- --epochs 3
      yanex run train.py --param "lr=logspace(-4,-1,4)" -j 4
      yanex run train.py --param "seed=range(0,5)" --stage
      yanex run --staged -j 2
    """
    if staged:
        describing = [script, configs, param_args, name, description, tags, stage]
        if any(describing) or ignore_dirty:
            raise click.UsageError(
                "--staged runs experiments as they were staged;"
                " it takes no script, parameters or description"
            )
        return _run_staged(
            Store(), parallel, dry_run, _slurm(executor, detach, slurm_settings)
        )
    if script is None:
        raise click.UsageError("Missing argument 'SCRIPT'")
    if stage and parallel is not None:
        raise click.UsageError("--stage runs nothing, so --parallel does not apply")

    request = launch.RunRequest(
        script=script,
        cwd=os.getcwd(),
        script_args=script_args,
        configs=configs,
        params=param_args,
        name=name,
        description=description,
        tags=tags,
        ignore_dirty=ignore_dirty,
        command=["yanex", *sys.argv[1:]],
    )
    plan = launch.plan_run(request)
    for message in plan.warnings:
        output.warn(message)
    if dry_run:
        _show_plan(plan)
        return 0
    store = Store()
    if stage:
        return _stage(store, plan)
    return _run_now(store, plan, parallel, _slurm(executor, detach, slurm_settings))


class _SlurmChoice(NamedTuple):
    options: SlurmOptions
    detach: bool


def _slurm(
    executor: str, detach: bool, settings: dict[str, Any]
) -> _SlurmChoice | None:
    """The Slurm settings asked for, over the project's defaults, if any."""
    if executor != "slurm":
        given = [
            name for name, value in settings.items() if value not in (None, (), False)
        ]
        if given or detach:
            raise click.UsageError(
                "--detach and --slurm-* options need --executor slurm"
            )
        return None
    from yanex.executors.slurm import SlurmOptions, project_defaults

    options = SlurmOptions(
        partition=settings["slurm_partition"],
        time=settings["slurm_time"],
        gpus=settings["slurm_gpus"],
        cpus=settings["slurm_cpus"],
        mem=settings["slurm_mem"],
        account=settings["slurm_account"],
        qos=settings["slurm_qos"],
        extra=tuple(settings["slurm_extra"]),
        requeue=settings["slurm_requeue"],
    )
    return _SlurmChoice(options.merged_over(project_defaults(os.getcwd())), detach)


def _show_plan(plan: launch.Plan) -> None:
    if not plan.is_sweep:
        import yaml

        params = plan.members[0].params
        text = yaml.safe_dump(params, sort_keys=False, allow_unicode=True)
        click.echo(text.rstrip() if params else "{}")
        return
    count = len(plan.members)
    click.echo(f"{count} experiments would run:")
    keys = list(plan.members[0].swept)
    rows = [
        [str(index), *(table.format_value(member.swept[key]) for key in keys)]
        for index, member in enumerate(plan.members, start=1)
    ]
    for line in table.render(["#", *keys], rows, table.terminal_width()):
        click.echo(line)
    shared = launch.shared_params(plan)
    if shared:
        pairs = ", ".join(f"{k}={table.format_value(v)}" for k, v in shared.items())
        click.echo(f"shared by all: {pairs}")


def _stage(store: Store, plan: launch.Plan) -> int:
    ids = launch.create_experiments(store, plan, status=STAGED)
    for experiment_id in ids:
        click.echo(experiment_id)
    noun = "experiment" if len(ids) == 1 else "experiments"
    output.note(f"staged {len(ids)} {noun}; run them with 'yanex run --staged'")
    return 0


def _run_now(
    store: Store, plan: launch.Plan, parallel: int | None, slurm: _SlurmChoice | None
) -> int:
    status = STAGED if slurm is not None else CREATED
    ids = launch.create_experiments(store, plan, status=status)
    names = [launch.member_name(plan, member) or "" for member in plan.members]
    labels = dict(zip(ids, names, strict=True))
    swept = {i: member.swept for i, member in zip(ids, plan.members, strict=True)}
    if slurm is not None:
        return _run_on_slurm(store, ids, labels, swept, parallel, slurm, fresh=True)
    runs = launch.launches(plan, ids)
    if not plan.is_sweep:
        return _run_single(store, runs[0])
    return _run_batch(store, runs, labels, swept, parallel)


def _run_on_slurm(
    store: Store,
    ids: list[str],
    labels: dict[str, str],
    swept: dict[str, Any],
    parallel: int | None,
    slurm: _SlurmChoice,
    fresh: bool,
) -> int:
    from yanex.executors import slurm as slurm_executor

    warning = slurm_executor.store_warning(store)
    if warning is not None:
        output.warn(warning)
    throttle = parallel or 0
    executor = slurm_executor.SlurmExecutor(slurm.options, detach=slurm.detach)
    events = progress.Progress(labels, throttle or len(ids), streaming=False)
    try:
        report = executor.run(store, ids, throttle, events)
    except slurm_executor.SlurmError:
        if fresh:
            from yanex import manage

            manage.delete(store, ids)
        raise
    finally:
        events.close()
    submission = executor.submission
    assert submission is not None
    limit = f", at most {throttle} at once" if throttle else ""
    output.note(f"submitted Slurm job {submission.job_id}: {len(ids)} tasks{limit}")
    if slurm.detach:
        click.echo(submission.job_id)
        follow = _follow_hint(store, ids)
        output.note(
            f"follow it with 'yanex list {follow}'; cancel with 'yanex cancel {follow}'"
        )
        return 0
    _print_summary(report.outcomes, swept)
    if report.cancelled_by is not None:
        return 128 + int(report.cancelled_by)
    return 0 if all(o.status == COMPLETED for o in report.outcomes) else 1


def _follow_hint(store: Store, ids: list[str]) -> str:
    sweep = store.read_metadata(ids[0]).get("sweep") or {}
    if sweep.get("id") and len(ids) > 1:
        return f"--sweep {sweep['id']}"
    return " ".join(ids)


def _run_single(store: Store, run: Launch) -> int:
    experiment_id = run.experiment_id
    output.note(
        f"experiment {experiment_id} started ({store.directory(experiment_id)})"
    )
    report = launch.run_experiments(store, [run])
    outcome = report.outcomes[0]
    output.note(_outcome_line(outcome))
    if report.cancelled_by is not None:
        return 128 + int(report.cancelled_by)
    if outcome.status == COMPLETED:
        return 0
    return outcome.exit_code or 1


def _run_batch(
    store: Store,
    runs: Sequence[Launch],
    labels: dict[str, str],
    swept: dict[str, Any],
    parallel: int | None,
) -> int:
    workers = _workers(parallel, len(runs))
    mode = f"{workers} at a time" if workers > 1 else "one at a time"
    output.note(f"running {len(runs)} experiments, {mode}")
    events = progress.Progress(labels, workers, streaming=workers == 1)
    report = launch.run_experiments(
        store, runs, parallel=workers, echo=workers == 1, events=events
    )
    events.close()
    _print_summary(report.outcomes, swept)
    if report.skipped:
        count = len(report.skipped)
        output.note(f"{count} of them were run by another runner first")
    if report.cancelled_by is not None:
        return 128 + int(report.cancelled_by)
    return 0 if all(o.status == COMPLETED for o in report.outcomes) else 1


def _run_staged(
    store: Store, parallel: int | None, dry_run: bool, slurm: _SlurmChoice | None
) -> int:
    ids = staging.staged_ids(store)
    if not ids:
        output.note("nothing is staged")
        return 0
    metadata = {i: store.read_metadata(i) for i in ids}
    labels = {i: str(m.get("name") or "") for i, m in metadata.items()}
    if dry_run:
        _show_staged(metadata, labels)
        return 0
    swept = {i: (m.get("sweep") or {}).get("swept") or {} for i, m in metadata.items()}
    if slurm is not None:
        return _run_on_slurm(store, ids, labels, swept, parallel, slurm, fresh=False)
    runs = [staging.staged_launch(store, i) for i in ids]
    return _run_batch(store, runs, labels, swept, parallel)


def _show_staged(metadata: dict[str, dict[str, Any]], labels: dict[str, str]) -> None:
    click.echo(f"{len(metadata)} staged experiments would run:")
    rows = [
        [i, labels[i], table.format_value((m.get("script") or {}).get("path"))]
        for i, m in metadata.items()
    ]
    width = table.terminal_width()
    for line in table.render(["id", "name", "script"], rows, width):
        click.echo(line)


def _workers(parallel: int | None, count: int) -> int:
    if parallel is None:
        return 1
    wanted = parallel if parallel > 0 else (os.cpu_count() or 1)
    return max(1, min(wanted, count))


def _print_summary(outcomes: Sequence[Outcome], swept: dict[str, Any]) -> None:
    if not outcomes:
        return
    lines = progress.summary(outcomes, swept)
    click.echo("", err=True)
    for line in lines:
        click.echo(line, err=True)
    failures = progress.failure_line(outcomes)
    if failures is not None:
        output.note(failures)


def _outcome_line(outcome: Outcome) -> str:
    duration = output.format_duration(outcome.duration_s)
    detail = f": {outcome.reason}" if outcome.reason else ""
    return f"experiment {outcome.experiment_id} {outcome.status} in {duration}{detail}"


@click.command("rerun", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("experiment")
@click.option(
    "-p",
    "--param",
    "param_args",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a recorded parameter (repeatable; sweeps allowed).",
)
@click.option("-n", "--name", help="A name for the new experiment.")
@click.option("--ignore-dirty", is_flag=True, help="Run despite uncommitted changes.")
@click.option("-j", "--parallel", type=click.IntRange(min=0), metavar="N")
@click.option("--dry-run", is_flag=True, help="Show what would run; run nothing.")
def rerun(
    experiment: str,
    param_args: tuple[str, ...],
    name: str | None,
    ignore_dirty: bool,
    parallel: int | None,
    dry_run: bool,
) -> int:
    """Run an experiment again: same script, arguments, params and tags."""
    from yanex import query

    store = Store()
    original = store.read_metadata(query.resolve(store, experiment))
    script = original.get("script") or {}
    if not script.get("path"):
        raise click.UsageError(f"experiment {original['id']} has no script to run")
    request = launch.RunRequest(
        script=str(script["path"]),
        cwd=str(original.get("cwd") or os.getcwd()),
        script_args=tuple(script.get("args") or ()),
        params=param_args,
        name=name if name is not None else original.get("name"),
        description=original.get("description"),
        tags=tuple(original.get("tags") or ()),
        ignore_dirty=ignore_dirty,
        command=["yanex", *sys.argv[1:]],
        base_params=store.read_params(original["id"]),
        default_config=False,
    )
    plan = launch.plan_run(request)
    for message in plan.warnings:
        output.warn(message)
    if dry_run:
        _show_plan(plan)
        return 0
    return _run_now(store, plan, parallel, None)
