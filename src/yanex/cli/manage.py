"""``yanex delete``, ``archive``, ``unarchive`` and ``update``."""

from __future__ import annotations

import sys
from typing import Any

import click

from yanex import manage, query
from yanex.cli import output
from yanex.cli.filters import filter_options, has_any, pop_filters
from yanex.store import Store


def _selected(
    store: Store, experiments: tuple[str, ...], options: dict[str, Any], archived: str
) -> list[dict[str, Any]]:
    ids = tuple(query.resolve_many(store, experiments))
    filters = pop_filters(options, ids)
    if not ids and not has_any(filters):
        raise click.UsageError("name experiments by id or select them with filters")
    if archived != query.EXCLUDE:
        filters = filters._replace(archived=archived)
    return query.select(store, filters).rows


def _confirm(verb: str, rows: list[dict[str, Any]], yes: bool) -> bool:
    if not rows:
        output.note("no experiment matches")
        return False
    noun = "experiment" if len(rows) == 1 else "experiments"
    if yes:
        return True
    shown = ", ".join(row["id"] for row in rows[:5])
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    if not sys.stdin.isatty():
        raise click.UsageError(f"{verb} {len(rows)} {noun}? pass --yes to confirm")
    return click.confirm(f"{verb} {len(rows)} {noun} ({shown}{more})?", err=True)


_yes = click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")


@click.command("delete", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("experiments", nargs=-1)
@filter_options
@_yes
def delete_command(experiments: tuple[str, ...], yes: bool, **options: Any) -> int:
    """Delete experiments and everything they recorded."""
    store = Store()
    rows = _selected(store, experiments, options, query.INCLUDE)
    if not _confirm("delete", rows, yes):
        return 0
    report = manage.delete(store, [row["id"] for row in rows])
    _say("deleted", report)
    return 0


@click.command("archive", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("experiments", nargs=-1)
@filter_options
@_yes
def archive_command(experiments: tuple[str, ...], yes: bool, **options: Any) -> int:
    """Hide experiments from default listings; nothing is removed."""
    store = Store()
    rows = _selected(store, experiments, options, query.EXCLUDE)
    if not _confirm("archive", rows, yes):
        return 0
    _say("archived", manage.set_archived(store, [row["id"] for row in rows], True))
    return 0


@click.command("unarchive", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("experiments", nargs=-1)
@filter_options
@_yes
def unarchive_command(experiments: tuple[str, ...], yes: bool, **options: Any) -> int:
    """Bring archived experiments back into default listings."""
    store = Store()
    rows = _selected(store, experiments, options, query.ONLY)
    if not _confirm("unarchive", rows, yes):
        return 0
    _say("unarchived", manage.set_archived(store, [row["id"] for row in rows], False))
    return 0


def _say(verb: str, report: manage.Report) -> None:
    count = len(report.done)
    noun = "experiment" if count == 1 else "experiments"
    output.note(f"{verb} {count} {noun}")
    for experiment_id, why in report.refused:
        output.warn(f"{experiment_id} not {verb}: {why}")


@click.command("update", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("experiment")
@click.option("--name", help="A new name.")
@click.option("--description", help="A new description.")
@click.option("--add-tag", "add_tags", multiple=True, help="Add a tag (repeatable).")
@click.option("--remove-tag", "remove_tags", multiple=True, help="Remove a tag.")
def update_command(
    experiment: str,
    name: str | None,
    description: str | None,
    add_tags: tuple[str, ...],
    remove_tags: tuple[str, ...],
) -> int:
    """Change an experiment's name, description or tags."""
    if name is None and description is None and not add_tags and not remove_tags:
        raise click.UsageError("nothing to update; see 'yanex update --help'")
    store = Store()
    experiment_id = query.resolve(store, experiment)
    manage.update(store, experiment_id, name, description, add_tags, remove_tags)
    output.note(f"updated {experiment_id}")
    return 0


@click.command("cancel", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("experiments", nargs=-1)
@filter_options
def cancel_command(experiments: tuple[str, ...], **options: Any) -> int:
    """Cancel experiments that have not ended: running, queued or staged.

    \b
    Examples:
      yanex cancel --sweep 3fa2      # a whole sweep, here or on Slurm
      yanex cancel 7b9e1c2d
    """
    store = Store()
    rows = _selected(store, experiments, options, query.EXCLUDE)
    active = [r["id"] for r in rows if r["status"] in _ACTIVE]
    if not active:
        output.note("nothing to cancel")
        return 0
    _say("cancelled", manage.cancel(store, active))
    return 0


_ACTIVE = ("created", "staged", "queued", "running")
