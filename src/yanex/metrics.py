"""Reading an experiment's metrics log back into steps and summaries.

The log is JSON Lines, appended by scripts (see :class:`yanex.context.
MetricsLog`): a header line, then ``{"step", "time", "metrics"}`` lines. The
same step may appear on several lines (values logged separately, or by
several processes); reading merges them, later lines winning for a repeated
name. A line cut short by a crash, or otherwise unreadable, is skipped and
counted, never fatal; a whole line another writer appended to a cut one is
still read.
"""

from __future__ import annotations

import json
import math
from typing import Any, NamedTuple


class MetricsHistory(NamedTuple):
    """Every step of one experiment's metrics, in step order."""

    steps: list[dict[str, Any]]
    damaged_lines: int = 0

    def final(self) -> dict[str, Any]:
        """The last value logged for each metric name."""
        values: dict[str, Any] = {}
        for row in self.steps:
            values.update(row["metrics"])
        return values

    def best(self, name: str, maximize: bool) -> Any:
        """The best numeric value of one metric, or None."""
        numbers = [
            row["metrics"][name]
            for row in self.steps
            if _is_number(row["metrics"].get(name))
        ]
        numbers = [n for n in numbers if not math.isnan(n)]
        if not numbers:
            return None
        return max(numbers) if maximize else min(numbers)

    def names(self) -> list[str]:
        """Metric names in the order they first appear."""
        seen: dict[str, None] = {}
        for row in self.steps:
            seen.update(dict.fromkeys(row["metrics"]))
        return list(seen)

    def summary(self) -> dict[str, Any]:
        """What listings need: final values and how many steps were logged."""
        return {"final": self.final(), "steps": len(self.steps)}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def read_history(path: str) -> MetricsHistory:
    """Read and merge a metrics log; a missing file is an empty history.

    A log that cannot be read (a folder or a link in its place) is
    :class:`~yanex.errors.DamagedRecordError`.
    """
    from yanex import layout

    try:
        with layout.open_inside(path) as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return MetricsHistory([])
    except OSError as error:
        raise layout.unreadable(path, error) from None
    return parse_lines(lines)


def parse_lines(lines: list[bytes]) -> MetricsHistory:
    """Merge metric lines by step, tolerating damaged lines."""
    by_step: dict[int, dict[str, Any]] = {}
    damaged = 0
    for line in lines:
        record = _parse_line(line)
        if record is None:
            damaged += line.strip() != b"" and not line.startswith(b'{"yanex_format"')
            record = _recover_line(line)
        if record is None:
            continue
        step, time, values = record
        row = by_step.get(step)
        if row is None:
            by_step[step] = {"step": step, "time": time, "metrics": dict(values)}
        else:
            row["metrics"].update(values)
            row["time"] = time
    steps = [by_step[step] for step in sorted(by_step)]
    return MetricsHistory(steps=steps, damaged_lines=damaged)


def _recover_line(line: bytes) -> tuple[int, Any, dict[str, Any]] | None:
    """The whole record at the end of a line that starts with a torn one.

    A writer killed in the middle of its line leaves it without a newline,
    and the next writer's line is appended to it. Every record starts with
    ``{"step":``, which inside a record could only appear escaped, so the
    last such start begins the record the next writer wrote whole.
    """
    start = line.rfind(_RECORD_START, 1)
    return _parse_line(line[start:]) if start > 0 else None


_RECORD_START = b'{"step":'


def _parse_line(line: bytes) -> tuple[int, Any, dict[str, Any]] | None:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict):
        return None
    step = record.get("step")
    values = record.get("metrics")
    if (
        not isinstance(step, int)
        or isinstance(step, bool)
        or not isinstance(values, dict)
    ):
        return None
    return step, record.get("time"), values
