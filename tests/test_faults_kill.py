"""SIGKILL to the runner at random moments: the store must stay truthful.

Every trial kills one or more runners (``yanex run`` of a single
experiment, of sweeps, while staging, and two concurrent ``--staged``
runners) after a delay drawn from its seed, then checks every record,
status, acknowledged metric row, staged experiment and the index (see
``faultkit``). A failing trial names its seed and the command that replays
it. ``YANEX_FAULT_SEED`` fixes the first seed; otherwise it is drawn.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from faultkit import figures
from faultkit.trials import KINDS, Outcome, Trials
from faultkit.workbench import Workbench

BUDGETS = [
    pytest.param(48, id="ci"),
    pytest.param(240, id="full", marks=pytest.mark.slow),
]


def first_seed() -> int:
    configured = os.environ.get("YANEX_FAULT_SEED")
    return int(configured) if configured else random.SystemRandom().randrange(10**9)


@pytest.mark.parametrize("trials", BUDGETS)
def test_sigkill_at_any_moment_leaves_a_truthful_store(
    tmp_path: Path, trials: int
) -> None:
    seed = first_seed()
    print(f"{trials} kill trials from seed {seed}")
    figures.note("kill trials", f"{trials} trials from seed {seed} (YANEX_FAULT_SEED)")
    runner = Trials(Workbench(tmp_path))
    kinds = list(KINDS)
    failures = []

    for index in range(trials):
        outcome = runner.run(kinds[index % len(kinds)], seed + index)
        record(outcome)
        if outcome.findings.violations:
            failures.append(outcome.describe())

    assert failures == []


def record(outcome: Outcome) -> None:
    counts = outcome.findings.counts
    figures.record("kill trials", "trials")
    figures.record(
        "kill trials", f"SIGKILL to {KINDS[outcome.kind].summary}", outcome.kills
    )
    figures.record("kill trials", f"kill landed: {landing(outcome)}")
    for label in (
        "experiments checked",
        "records parsed",
        "index rows compared",
        "metric rows acknowledged",
        "metric rows lost",
        "duplicate runs",
        "runs taken over after their runner died",
        "leftover temporary files",
        "unfinished experiments left in .new",
    ):
        figures.record("kill trials", label, counts[label])
    for label, count in counts.items():
        if label.startswith("experiments read back"):
            figures.record("kill trials", label, count)


def landing(outcome: Outcome) -> str:
    """Where in the lifecycle the kill landed, as the store tells it."""
    counts = outcome.findings.counts
    if not outcome.kills:
        return "after the runners ended (no kill)"
    if counts["experiments read back lost"]:
        return "while experiments ran"
    if not counts["experiments checked"]:
        return "before any experiment was recorded"
    return "before a start or after the last end"
