"""Plain-text tables for the terminal.

Every cell goes through :func:`clean` first: names, tags and parameters are
user text, and a control character in one (an escape sequence, say) must be
shown, never obeyed by the terminal. Columns shrink, widest first, to fit
the terminal; a cut cell ends in ``…``.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Sequence
from typing import Any

_ELLIPSIS = "…"
_GAP = "  "
_MIN_WIDTH = 4


def clean(text: str) -> str:
    """Make text safe to print: control characters become visible escapes."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable() or char == " ":
            out.append(char)
        elif char in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char])
        else:
            out.append(
                f"\\x{ord(char):02x}" if ord(char) < 256 else f"\\u{ord(char):04x}"
            )
    return "".join(out)


def format_value(value: Any) -> str:
    """A short, readable rendering of one parameter, metric or field value."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list | dict):
        return clean(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
    return clean(str(value))


def _format_float(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-4):
        return f"{value:.4g}"
    text = f"{value:.6f}".rstrip("0")
    # A float keeps its point ("1.0"), so a table shows the value's type too.
    return "0.0" if text in ("0.", "-0.") else text + "0" * text.endswith(".")


def terminal_width() -> int:
    """Columns of the terminal ($COLUMNS first), or 160 when there is none.

    The rule of ``shutil.get_terminal_size``, whose module (with the
    compression modules it loads) would cost every ``yanex`` start a few
    milliseconds.
    """
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    if sys.__stdout__ is None:
        return 160
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 160
    except (ValueError, OSError):
        return 160


def render(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int | None = None,
    right: Sequence[bool] | None = None,
) -> list[str]:
    """Lay out cells (already formatted) under headers, fitting ``width``."""
    headers = [clean(header) for header in headers]
    right = list(right) if right is not None else [False] * len(headers)
    widths = [
        max([len(header), *(len(row[i]) for row in rows)])
        for i, header in enumerate(headers)
    ]
    if width is not None:
        _shrink(widths, width - len(_GAP) * (len(headers) - 1))
    lines = [_line(headers, widths, [False] * len(headers))]
    lines += [_line(row, widths, right) for row in rows]
    return [line.rstrip() for line in lines]


def _shrink(widths: list[int], room: int) -> None:
    while sum(widths) > room:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        if widths[widest] <= _MIN_WIDTH:
            return
        widths[widest] -= 1


def _line(cells: Sequence[str], widths: Sequence[int], right: Sequence[bool]) -> str:
    parts = []
    for cell, width, is_right in zip(cells, widths, right, strict=True):
        if len(cell) > width:
            cell = cell[: max(0, width - 1)] + _ELLIPSIS
        parts.append(cell.rjust(width) if is_right else cell.ljust(width))
    return _GAP.join(parts)
