"""``yanex run``: run a script as tracked experiments, now or later."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from yanex import launch, runner, staging
from yanex.cli import output, progress, run_slurm, table
from yanex.cli.run_slurm import executor_options
from yanex.runner import Launch, Outcome
from yanex.store import COMPLETED, STAGED, Store


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
    help="Run N experiments at once (0: one per CPU). Default: one at a time."
    " On Slurm: at most N tasks at once, no limit by default.",
)
@click.option("--stage", is_flag=True, help="Record the experiments; run them later.")
@click.option("--staged", is_flag=True, help="Run every staged experiment.")
@executor_options
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
    **executor_settings: Any,
) -> int:
    """Run SCRIPT as a tracked experiment; arguments after -- go to the script.

    \b
    Examples:
      yanex run train.py --param lr=0.01 --tag baseline
      yanex run train.py --config config.yaml -- --epochs 3
      yanex run train.py --param "lr=logspace(-4,-1,4)" -j 4
      yanex run train.py --param "seed=range(0,5)" --stage
      yanex run --staged -j 2
      yanex run train.py --param "seed=range(0,8)" --executor slurm -j 4
    """
    slurm = run_slurm.slurm_choice(executor_settings)
    if staged:
        describing = [script, configs, param_args, name, description, tags, stage]
        if any(describing) or ignore_dirty:
            raise click.UsageError(
                "--staged runs experiments as they were staged;"
                " it takes no script, parameters or description"
            )
        return _run_staged(Store(), parallel, dry_run, slurm)
    if script is None:
        raise click.UsageError("Missing argument 'SCRIPT'")
    if stage and parallel is not None:
        raise click.UsageError("--stage runs nothing, so --parallel does not apply")
    if stage and slurm is not None:
        raise click.UsageError(
            "--stage runs nothing; send staged experiments to Slurm with"
            " 'yanex run --staged --executor slurm'"
        )

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
    if not (dry_run or stage) and slurm is None:
        runner.prepare()
    plan = launch.plan_run(request)
    for message in plan.warnings:
        output.warn(message)
    if dry_run:
        _show_plan(plan)
        return 0
    store = Store()
    if stage:
        return _stage(store, plan)
    return _run_now(store, plan, parallel, slurm)


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
    store: Store,
    plan: launch.Plan,
    parallel: int | None,
    slurm: run_slurm.SlurmChoice | None,
) -> int:
    if slurm is not None:
        run_slurm.check_available()
    ids = launch.create_experiments(store, plan)
    names = [launch.member_name(plan, member) or "" for member in plan.members]
    labels = dict(zip(ids, names, strict=True))
    swept = {i: member.swept for i, member in zip(ids, plan.members, strict=True)}
    if slurm is not None:
        report = run_slurm.run_on_slurm(
            store, ids, labels, parallel, slurm, discard_on_error=True
        )
        return _summarise(report, swept)
    if not plan.is_sweep:
        return _run_single(store, launch.launches(plan, ids)[0])
    runs = launch.launches(plan, ids)
    return _run_batch(store, ids, labels, swept, parallel, runs)


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
    ids: Sequence[str],
    labels: dict[str, str],
    swept: dict[str, Any],
    parallel: int | None,
    runs: Sequence[Launch] | None = None,
) -> int:
    """Run recorded experiments here; ``runs``, if given, are their launches."""
    from yanex.executors.local import LocalExecutor

    workers = _workers(parallel, len(ids))
    mode = f"{workers} at a time" if workers > 1 else "one at a time"
    output.note(f"running {len(ids)} experiments, {mode}")
    events = progress.Progress(labels, workers, streaming=workers == 1)
    executor = LocalExecutor(echo=workers == 1)
    if runs is None:
        report = executor.run(store, ids, workers, events)
    else:
        report = executor.run_launches(store, runs, workers, events)
    events.close()
    return _summarise(report, swept)


def _summarise(report: launch.RunReport | None, swept: dict[str, Any]) -> int:
    """The summary table and the exit code of a batch; None: detached."""
    if report is None:
        return 0
    _print_summary(report.outcomes, swept)
    if report.skipped:
        count = len(report.skipped)
        output.note(f"{count} of them were run by another runner first")
    if report.cancelled_by is not None:
        return 128 + int(report.cancelled_by)
    return 0 if all(o.status == COMPLETED for o in report.outcomes) else 1


def _run_staged(
    store: Store,
    parallel: int | None,
    dry_run: bool,
    slurm: run_slurm.SlurmChoice | None,
) -> int:
    if not dry_run and slurm is None:
        runner.prepare()
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
        run_slurm.check_available()
        report = run_slurm.run_on_slurm(
            store, ids, labels, parallel, slurm, discard_on_error=False
        )
        return _summarise(report, swept)
    return _run_batch(store, ids, labels, swept, parallel)


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
