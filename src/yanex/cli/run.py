"""``yanex run``: run a script as a tracked experiment."""

from __future__ import annotations

import os
import signal
import sys

import click

from yanex import launch
from yanex.cli import output
from yanex.runner import Outcome
from yanex.store import COMPLETED, Store


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("script", required=True)
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
    help="Set a parameter (repeatable); dotted keys address nested ones.",
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
    help="Check everything and show the parameters; run and record nothing.",
)
def run(
    script: str,
    script_args: tuple[str, ...],
    configs: tuple[str, ...],
    param_args: tuple[str, ...],
    name: str | None,
    description: str | None,
    tags: tuple[str, ...],
    ignore_dirty: bool,
    dry_run: bool,
) -> int:
    """Run SCRIPT as a tracked experiment; arguments after -- go to the script.

    \b
    Examples:
      yanex run train.py --param lr=0.01 --tag baseline
      yanex run train.py --config config.yaml -- --epochs 3
    """
    request = launch.RunRequest(
        script=script,
        script_args=list(script_args),
        configs=list(configs),
        params=list(param_args),
        name=name,
        description=description,
        tags=list(tags),
        ignore_dirty=ignore_dirty,
        command=["yanex", *sys.argv[1:]],
        cwd=os.getcwd(),
    )
    plan = launch.plan_run(request)
    for message in plan.warnings:
        output.warn(message)
    if dry_run:
        _show_plan(plan)
        return 0
    store = Store()
    ids = launch.create_experiments(store, plan)
    for experiment_id in ids:
        output.note(
            f"experiment {experiment_id} started ({store.directory(experiment_id)})"
        )
    outcomes, cancelled_by = launch.run_experiments(
        store, launch.launches(store, plan, ids)
    )
    for outcome in outcomes:
        _report(outcome)
    if cancelled_by is not None:
        return 128 + int(
            cancelled_by if cancelled_by != signal.SIGHUP else signal.SIGHUP
        )
    last = outcomes[-1]
    if last.status == COMPLETED:
        return 0
    return last.exit_code if last.exit_code else 1


def _show_plan(plan: launch.Plan) -> None:
    import yaml

    for member in plan.members:
        text = yaml.safe_dump(member.params, sort_keys=False, allow_unicode=True)
        click.echo(text.rstrip() if member.params else "{}")


def _report(outcome: Outcome) -> None:
    duration = output.format_duration(outcome.duration_s)
    detail = f": {outcome.reason}" if outcome.reason else ""
    output.note(
        f"experiment {outcome.experiment_id} {outcome.status} in {duration}{detail}"
    )
