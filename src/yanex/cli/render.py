"""Listings in the four formats: table, JSON, CSV and Markdown.

A listing is a list of column names and rows of plain values. ``table`` and
``markdown`` format the values for reading (user text escaped); ``json``
and ``csv`` keep them as data: real numbers, ``null`` (JSON) or an empty
field (CSV) for what is missing, and nothing but the data on stdout.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Sequence
from typing import Any

import click

from yanex.cli import table

FORMATS = ("table", "json", "csv", "markdown")

format_option = click.option(
    "-F",
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="How to print the listing.",
)


def emit(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    output_format: str,
    right: Sequence[bool] | None = None,
) -> None:
    """Print a listing to stdout in the chosen format."""
    if output_format == "json":
        records = [dict(zip(columns, row, strict=True)) for row in rows]
        echo_json(records)
    elif output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_csv_cell(value) for value in row] for row in rows])
        click.echo(buffer.getvalue(), nl=False)
    elif output_format == "markdown":
        for line in _markdown(columns, rows):
            click.echo(line)
    else:
        cells = [[table.format_value(value) for value in row] for row in rows]
        for line in table.render(columns, cells, table.terminal_width(), right):
            click.echo(line)


def _json_safe(value: Any) -> Any:
    """Replace NaN and infinities, which JSON has no numbers for, by null."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def _markdown(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    def cell(value: Any) -> str:
        return table.format_value(value).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(c) for c in columns) + " |"]
    lines.append("|" + "|".join(" --- " for _ in columns) + "|")
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def echo_json(document: Any) -> None:
    """Print one JSON document to stdout.

    JSON escapes the C0 control characters itself; the others a terminal
    may obey (DEL, C1, line separators, bidirectional overrides) are
    escaped too, which leaves the data the same.
    """
    text = json.dumps(_json_safe(document), ensure_ascii=False, indent=2)
    click.echo(_TERMINAL_CONTROLS.sub(_escape_json_char, text))


_TERMINAL_CONTROLS = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape_json_char(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"
