"""``yanex list`` and ``yanex compare``: many experiments at a glance."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import click

from yanex import query
from yanex.cli import output, render
from yanex.cli.filters import filter_options, pop_filters
from yanex.store import Store

DEFAULT_LIMIT = 50


@click.command("list", context_settings={"help_option_names": ["-h", "--help"]})
@filter_options
@click.option(
    "-l",
    "--limit",
    type=click.IntRange(min=0),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="Show at most this many (0: all).",
)
@render.format_option
def list_command(limit: int, output_format: str, **options: Any) -> int:
    """List experiments, newest first.

    \b
    Examples:
      yanex list --status failed --started-after "2 days ago"
      yanex list --tag cifar --where "lr<0.01" --where "acc>=0.9"
      yanex list --sweep 3fa2 -F csv
    """
    filters = pop_filters(options)
    selection = query.select(Store(), filters, limit=limit or None)
    columns = ["id", "name", "status", "script", "tags", "started", "duration"]
    rows = [_list_row(row, output_format) for row in selection.rows]
    render.emit(columns, rows, output_format)
    warn_damaged(selection.damaged)
    hidden = selection.total - len(selection.rows)
    if output_format == "table":
        if hidden > 0:
            output.note(f"{hidden} more match; use --limit 0 to see them all")
        elif not selection.rows:
            output.note("no experiment matches")
    return 0


def warn_damaged(damaged: Mapping[str, str]) -> None:
    """Say which experiments were left out because their records are damaged."""
    if not damaged:
        return
    shown = "; ".join(damaged[i] for i in sorted(damaged)[:3])
    more = f"; and {len(damaged) - 3} more" if len(damaged) > 3 else ""
    noun = "experiment is" if len(damaged) == 1 else "experiments are"
    output.warn(f"{len(damaged)} {noun} left out, damaged: {shown}{more}")


def _list_row(row: dict[str, Any], output_format: str) -> list[Any]:
    readable = output_format in ("table", "markdown")
    tags = ", ".join(row["tags"]) if readable else row["tags"]
    started = _local_time(row["started_at"]) if readable else row["started_at"]
    duration = output.format_duration(row["duration"]) if readable else row["duration"]
    if readable and row["duration"] is None:
        duration = "-"
    return [
        row["id"],
        row["name"],
        row["status"],
        row["script_name"],
        tags,
        started,
        duration,
    ]


def _local_time(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return text


@click.command("compare", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("experiments", nargs=-1)
@filter_options
@click.option("--sort", "sort_key", metavar="KEY", help="Sort by a metric or param.")
@click.option("--desc", is_flag=True, help="Sort in descending order.")
@click.option(
    "--all-params",
    is_flag=True,
    help="Show every param, not only those that differ.",
)
@click.option(
    "-l",
    "--limit",
    type=click.IntRange(min=0),
    default=0,
    help="Compare at most this many (0: all).",
)
@render.format_option
def compare_command(
    experiments: tuple[str, ...],
    sort_key: str | None,
    desc: bool,
    all_params: bool,
    limit: int,
    output_format: str,
    **options: Any,
) -> int:
    """Compare experiments: one row each, params that differ and final metrics.

    Name experiments by id, prefix or name, or select them with filters.

    \b
    Examples:
      yanex compare --sweep 3fa2 --sort acc --desc
      yanex compare 3fa2c1d0 7b9e -F csv
    """
    store = Store()
    ids = tuple(query.resolve_many(store, experiments))
    filters = pop_filters(options, ids)
    selection = query.select(store, filters)
    chosen = selection.rows if not limit else selection.rows[:limit]
    params, metrics = query.params_and_metrics(store, [r["id"] for r in chosen])
    param_keys = _columns_of(params, chosen, only_differing=not all_params)
    metric_keys = _columns_of(metrics, chosen, only_differing=False)
    lines = [
        [
            row["id"],
            row["name"],
            row["status"],
            *(params.get(row["id"], {}).get(k) for k in param_keys),
            *(metrics.get(row["id"], {}).get(k) for k in metric_keys),
        ]
        for row in chosen
    ]
    if sort_key is not None:
        lines = _sorted(lines, sort_key, param_keys, metric_keys, desc)
    columns = ["id", "name", "status", *param_keys, *metric_keys]
    right = [False] * 3 + [True] * (len(param_keys) + len(metric_keys))
    render.emit(columns, lines, output_format, right)
    warn_damaged(selection.damaged)
    if not chosen and output_format == "table":
        output.note("no experiment matches")
    return 0


def _columns_of(
    values: dict[str, dict[str, Any]],
    chosen: list[dict[str, Any]],
    only_differing: bool,
) -> list[str]:
    keys: dict[str, None] = {}
    for row in chosen:
        keys.update(dict.fromkeys(values.get(row["id"], {})))
    if not only_differing or len(chosen) < 2:
        return list(keys)
    return [
        key
        for key in keys
        if len({_hashable(values.get(r["id"], {}).get(key)) for r in chosen}) > 1
    ]


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, list | dict) else value


def _sorted(
    lines: list[list[Any]],
    key: str,
    param_keys: list[str],
    metric_keys: list[str],
    desc: bool,
) -> list[list[Any]]:
    columns = ["id", "name", "status", *param_keys, *metric_keys]
    wanted = key.removeprefix("metrics.").removeprefix("params.")
    if wanted not in columns:
        raise click.UsageError(f"--sort {key}: no such metric or param among these")
    position = len(columns) - 1 - columns[::-1].index(wanted)

    def order(line: list[Any]) -> tuple[int, float, str]:
        # Numbers first (in the asked direction), then text, missing last.
        value = line[position]
        if value is None or isinstance(value, bool):
            return (2, 0.0, "")
        if isinstance(value, int | float):
            if math.isnan(value):
                return (2, 0.0, "")
            return (0, -value if desc else value, "")
        return (1, 0.0, str(value))

    return sorted(lines, key=order)
