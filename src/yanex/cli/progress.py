"""What the terminal shows while several experiments run, and after.

While members run in parallel their output goes only to their files; stderr
shows one status line, redrawn in place on a terminal (done, failed,
running, queued, elapsed, ETA) and a line per finished member otherwise.
Run one at a time, each member's output streams live, framed by a line
when it starts and when it ends. Either way a summary table follows.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from yanex.cli import output, table
from yanex.runner import Outcome
from yanex.store import CANCELLED, COMPLETED, FAILED

_REDRAW_SECONDS = 0.2
_SUMMARY_METRICS = 6


class Progress:
    """Follows a batch of runs and reports it on stderr."""

    def __init__(
        self, labels: Mapping[str, str], parallel: int, streaming: bool
    ) -> None:
        self.labels = dict(labels)
        self.parallel = max(1, parallel)
        self.streaming = streaming
        self.live = not streaming and output.is_terminal()
        self.total = len(labels)
        self.running: set[str] = set()
        self.counts = {COMPLETED: 0, FAILED: 0, CANCELLED: 0}
        self.durations: list[float] = []
        self.started_at = time.monotonic()
        self._drawn_at = 0.0
        self._line_shown = False

    @property
    def finished_count(self) -> int:
        return sum(self.counts.values())

    def started(self, experiment_id: str) -> None:
        self.running.add(experiment_id)
        if self.streaming:
            position = self.finished_count + len(self.running)
            label = self._label(experiment_id)
            self._say(f"[{position}/{self.total}] {experiment_id} {label}")
        self._draw(force=True)

    def finished(self, outcome: Outcome) -> None:
        self.running.discard(outcome.experiment_id)
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        if outcome.duration_s is not None:
            self.durations.append(outcome.duration_s)
        if not self.live:
            self._say(_finish_line(outcome, self._label(outcome.experiment_id)))
        self._draw(force=True)

    def tick(self) -> None:
        self._draw(force=False)

    def note(self, experiment_id: str, message: str) -> None:
        self._say(f"{experiment_id}: {message}")
        self._draw(force=True)

    def close(self) -> None:
        """Remove the status line before the summary is printed."""
        self._clear()

    def _label(self, experiment_id: str) -> str:
        return table.clean(self.labels.get(experiment_id, ""))

    def _say(self, message: str) -> None:
        self._clear()
        output.note(message)

    def _draw(self, force: bool) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if not force and now - self._drawn_at < _REDRAW_SECONDS:
            return
        self._drawn_at = now
        line = self.status_line(now)
        width = table.terminal_width() - 1
        sys.stderr.write("\r\x1b[K" + line[:width])
        sys.stderr.flush()
        self._line_shown = True

    def _clear(self) -> None:
        if self._line_shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self._line_shown = False

    def status_line(self, now: float | None = None) -> str:
        """``3 done, 1 failed, 2 running, 6 queued · 0:42 elapsed · ETA 1:10``."""
        now = time.monotonic() if now is None else now
        elapsed = now - self.started_at
        queued = self.total - self.finished_count - len(self.running)
        parts = [
            f"{self.counts[COMPLETED]} done",
            f"{self.counts[FAILED]} failed",
            f"{len(self.running)} running",
            f"{queued} queued",
        ]
        if self.counts[CANCELLED]:
            parts.insert(2, f"{self.counts[CANCELLED]} cancelled")
        line = "yanex: " + ", ".join(parts) + f" · {_clock(elapsed)} elapsed"
        eta = self._eta(queued)
        return line + (f" · ETA {_clock(eta)}" if eta is not None else "")

    def _eta(self, queued: int) -> float | None:
        if not self.durations:
            return None
        mean = sum(self.durations) / len(self.durations)
        waves = math.ceil((queued + len(self.running)) / self.parallel)
        return mean * waves


def _finish_line(outcome: Outcome, label: str) -> str:
    duration = output.format_duration(outcome.duration_s)
    reason = f" ({outcome.reason})" if outcome.reason else ""
    return f"{outcome.experiment_id} {label} {outcome.status} in {duration}{reason}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def summary(
    outcomes: Sequence[Outcome], swept: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """The closing table: each member's swept values, status, time, metrics."""
    keys = _ordered_union(swept.get(o.experiment_id, {}) for o in outcomes)
    metrics = _ordered_union(o.final_metrics for o in outcomes)[:_SUMMARY_METRICS]
    headers = ["id", *keys, "status", "duration", *metrics]
    rows = []
    for outcome in outcomes:
        values = swept.get(outcome.experiment_id, {})
        rows.append(
            [
                outcome.experiment_id,
                *(table.format_value(values.get(key)) for key in keys),
                outcome.status,
                output.format_duration(outcome.duration_s),
                *(table.format_value(outcome.final_metrics.get(m)) for m in metrics),
            ]
        )
    right = [False] * (len(keys) + 3) + [True] * len(metrics)
    return table.render(headers, rows, table.terminal_width(), right)


def _ordered_union(mappings: Any) -> list[str]:
    seen: dict[str, None] = {}
    for mapping in mappings:
        seen.update(dict.fromkeys(mapping))
    return list(seen)


def failure_line(outcomes: Sequence[Outcome]) -> str | None:
    """One line naming the members that did not complete, if any."""
    bad = [o for o in outcomes if o.status != COMPLETED]
    if not bad:
        return None
    shown = ", ".join(f"{o.experiment_id} ({o.reason or o.status})" for o in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    return f"{len(bad)} of {len(outcomes)} did not complete: {shown}{more}"
