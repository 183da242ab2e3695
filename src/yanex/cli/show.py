"""``yanex show``, ``yanex get`` and ``yanex logs``: one experiment."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import click

from yanex import params, query
from yanex.cli import output, render, table
from yanex.experiment import Experiment
from yanex.store import CREATED, RUNNING, Store

_TAIL_LINES = 10
# What of the output ``yanex show`` looks at, and shows of each line.
_TAIL_BYTES = 64 * 1024
_LINE_CHARS = 500


def _experiment(text: str) -> Experiment:
    store = Store()
    return Experiment(store, query.resolve(store, text))


@click.command("show", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("experiment")
@click.option(
    "-F",
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Readable text or JSON.",
)
def show_command(experiment: str, output_format: str) -> int:
    """Everything about one experiment (by id, prefix or name)."""
    found = _experiment(experiment)
    if output_format == "json":
        render.echo_json(_as_json(found))
        return 0
    for line in _describe(found):
        click.echo(line)
    return 0


def _as_json(found: Experiment) -> dict[str, Any]:
    history = found.metrics_history()
    return {
        **found.to_dict(),
        "params": found.params,
        "git": found.git,
        "has_patch": found.has_patch,
        "metrics": {
            "final": history.final(),
            "steps": len(history.steps),
        },
        "artifacts": found.artifact_sizes(),
    }


def _describe(found: Experiment) -> list[str]:
    metadata = found.metadata
    status = found.status
    if found.status_reason:
        status += f" ({found.status_reason})"
    script = metadata.get("script") or {}
    lines = [
        f"experiment {found.id}"
        + (f"  {table.clean(found.name)}" if found.name else ""),
        _field("status", status),
        _field("description", found.description),
        _field("tags", ", ".join(found.tags) or None),
        _field("script", " ".join([str(script.get("path")), *script.get("args", [])])),
        _field("created", found.created_at),
        _field("started", found.started_at),
        _field("ended", found.ended_at),
        _field(
            "duration",
            output.format_duration(found.duration) if found.duration else None,
        ),
        _field("exit code", found.exit_code),
        _field("archived", "yes" if found.archived else None),
        _field("directory", str(found.directory)),
    ]
    sweep = metadata.get("sweep")
    if sweep:
        position = f"{sweep.get('index', 0) + 1} of {sweep.get('size')}"
        lines.append(_field("sweep", f"{sweep.get('id')} ({position})"))
    lines += _slurm_lines(metadata)
    lines += _section("params", params.flatten(found.params))
    lines += _git_lines(found)
    lines += _metric_lines(found)
    lines += _artifact_lines(found)
    for stream in ("stdout", "stderr"):
        lines += _output_lines(found, stream)
    return [line for line in lines if line is not None]


def _slurm_lines(metadata: dict[str, Any]) -> list[Any]:
    """Where Slurm ran it, and how often it was started again."""
    slurm = metadata.get("slurm")
    if not isinstance(slurm, dict) or not slurm.get("job_id"):
        return []
    task = f"task {slurm['job_id']}_{slurm.get('array_index')}"
    node = f" on {slurm['node']}" if slurm.get("node") else ""
    return [
        _field("slurm", task + node),
        _field("restarts", metadata.get("restarts") or None),
    ]


def _field(label: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    return f"  {label + ':':<13}{table.format_value(value)}"


def _section(title: str, values: dict[str, Any]) -> list[str]:
    if not values:
        return ["", f"{title}: none"]
    width = min(max(len(key) for key in values), 40)
    return ["", f"{title}:"] + [
        f"  {table.clean(key):<{width}}  {table.format_value(value)}"
        for key, value in values.items()
    ]


def _git_lines(found: Experiment) -> list[str]:
    git = found.git
    if not git or not git.get("is_repo"):
        return ["", "git: not recorded (not a git repository)"]
    branch = git.get("branch") or ("detached" if git.get("detached") else None)
    remotes = ", ".join(f"{k} {v}" for k, v in (git.get("remotes") or {}).items())
    dirty = "yes" if git.get("dirty") else "no"
    patch = f" (patch: {found.patch_path})" if found.has_patch else ""
    lines = ["", "git:"]
    lines += [
        line
        for line in (
            _field("commit", git.get("commit")),
            _field("branch", branch),
            _field("remotes", remotes or None),
            _field("dirty", dirty + patch),
            _field("untracked", len(git.get("untracked") or []) or None),
        )
        if line is not None
    ]
    return lines


def _metric_lines(found: Experiment) -> list[str]:
    history = found.metrics_history()
    if not history.steps:
        return ["", "metrics: none logged"]
    lines = ["", f"metrics ({len(history.steps)} steps):  final / min / max"]
    final = history.final()
    width = min(max(len(name) for name in final), 40)
    for name, value in final.items():
        low, high = (
            history.best(name, maximize=False),
            history.best(name, maximize=True),
        )
        extremes = ""
        if low is not None:
            extremes = f" / {table.format_value(low)} / {table.format_value(high)}"
        lines.append(
            f"  {table.clean(name):<{width}}  {table.format_value(value)}{extremes}"
        )
    return lines


def _artifact_lines(found: Experiment) -> list[str]:
    sizes = found.artifact_sizes()
    if not sizes:
        return ["", "artifacts: none"]
    return ["", "artifacts:"] + [
        f"  {table.clean(name)}  ({_size(size)})" for name, size in sizes.items()
    ]


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _output_lines(found: Experiment, stream: str) -> list[str]:
    text = found.output(stream, tail=_TAIL_LINES, within=_TAIL_BYTES)
    if not text:
        return ["", f"{stream}: empty"]
    return ["", f"{stream} (last lines):"] + [
        "  " + _cut(table.clean(line)) for line in text.splitlines()
    ]


def _cut(line: str) -> str:
    """A line of output short enough to read; a 50 MB line is not."""
    if len(line) <= _LINE_CHARS:
        return line
    return f"{line[:_LINE_CHARS]}… ({len(line) - _LINE_CHARS:,} more characters)"


@click.command("get", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("field")
@click.argument("experiment")
@click.option(
    "--tail", type=click.IntRange(min=0), help="With stdout/stderr: last N lines."
)
def get_command(field: str, experiment: str, tail: int | None) -> int:
    """Print one FIELD of an experiment, for scripts.

    \b
    FIELD is one of: id, name, description, status, tags, script, dir,
    created_at, started_at, ended_at, duration, exit_code, reason, sweep,
    params, params.KEY, metrics, metrics.NAME, git, git.KEY, stdout, stderr.
    """
    found = _experiment(experiment)
    if field in ("stdout", "stderr"):
        sys.stdout.write(found.output(field, tail=tail))
        return 0
    value = field_value(found, field)
    click.echo(
        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    )
    return 0


def field_value(found: Experiment, field: str) -> Any:
    """The value of one named field of an experiment."""
    simple: dict[str, Callable[[], Any]] = {
        "id": lambda: found.id,
        "name": lambda: found.name,
        "description": lambda: found.description,
        "status": lambda: found.status,
        "tags": lambda: found.tags,
        "script": lambda: str(found.script_path) if found.script_path else None,
        "dir": lambda: str(found.directory),
        "created_at": lambda: found.created_at,
        "started_at": lambda: found.started_at,
        "ended_at": lambda: found.ended_at,
        "duration": lambda: found.duration,
        "exit_code": lambda: found.exit_code,
        "reason": lambda: found.status_reason,
        "sweep": lambda: found.metadata.get("sweep"),
        "params": lambda: found.params,
        "metrics": lambda: found.final_metrics,
        "git": lambda: found.git,
    }
    if field in simple:
        return simple[field]()
    head, _, rest = field.partition(".")
    if head == "params" and rest:
        return _required(found.get_param(rest, _ABSENT), field)
    if head == "metrics" and rest:
        return _required(found.final_metrics.get(rest, _ABSENT), field)
    if head == "git" and rest:
        return _required((found.git or {}).get(rest, _ABSENT), field)
    if head == "sweep" and rest:
        sweep = found.metadata.get("sweep")
        return _required((sweep or {}).get(rest, _ABSENT), field)
    known = ", ".join([*simple, "stdout", "stderr"])
    raise click.UsageError(
        f"unknown field {field!r}; known: {known}, and params.KEY, metrics.KEY,"
        " git.KEY, sweep.KEY"
    )


_ABSENT = object()


def _required(value: Any, field: str) -> Any:
    if value is _ABSENT:
        raise click.UsageError(f"the experiment has no {field}")
    return value


@click.command("logs", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("experiment")
@click.option("--stderr", "use_stderr", is_flag=True, help="Print stderr, not stdout.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing until it ends.")
@click.option("--tail", type=click.IntRange(min=0), help="Start with the last N lines.")
def logs_command(
    experiment: str, use_stderr: bool, follow: bool, tail: int | None
) -> int:
    """Print an experiment's captured output, byte for byte."""
    found = _experiment(experiment)
    path = found.output_path("stderr" if use_stderr else "stdout")
    out = sys.stdout.buffer
    position = 0
    if tail is not None:
        from yanex.experiment import read_tail

        try:
            data = read_tail(path, tail)
            out.write(data)
            position = path.stat().st_size
        except FileNotFoundError:
            pass
    while True:
        position = _copy_from(path, position, out)
        if not follow:
            return 0
        fresh = Experiment(found.store, found.id)
        if fresh.status not in (CREATED, RUNNING):
            _copy_from(path, position, out)
            return 0
        time.sleep(0.2)


def _copy_from(path: Any, position: int, out: Any) -> int:
    from yanex import layout

    try:
        with layout.open_inside(str(path)) as handle:
            handle.seek(position)
            while chunk := handle.read(1 << 16):
                out.write(chunk)
                position += len(chunk)
    except FileNotFoundError:
        return position
    except OSError as error:
        raise layout.unreadable(str(path), error) from None
    out.flush()
    return position
