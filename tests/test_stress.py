"""Many yanex processes on one store at once, for a bounded time.

Sweeps run two at a time, a stager keeps staging, two ``--staged`` runners
keep running what is staged, scripts log metrics from several processes
each, and readers list, compare and show throughout, while further
listings are killed part-way through updating the index. When the time is up,
whatever is still staged is run, and the store is checked: every
experiment ran exactly once and completed, every acknowledged metric row
is there, every record parses, the index agrees with the directories,
every reader succeeded, and every process ended within its bound.
"""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from faultkit import figures, invariants
from faultkit.witness import read_witnesses
from faultkit.workbench import Site, Workbench

BUDGETS = [
    pytest.param(12.0, id="ci"),
    pytest.param(60.0, id="full", marks=pytest.mark.slow),
]

ROWS = 10
WORK = ["run", "work.py", "--param", f"rows={ROWS}", "--param", "delay=0.005"]
#: No single command may take longer than this, or it counts as a deadlock.
BOUND_SECONDS = 120.0


class Load:
    """Loops of yanex commands on one site until a deadline, and what they did."""

    def __init__(self, site: Site, seconds: float) -> None:
        self.site = site
        self.deadline = time.monotonic() + seconds
        self.counts: Counter[str] = Counter()
        self.failures: list[str] = []
        self._lock = threading.Lock()

    def command(self, label: str, args: list[str]) -> str:
        """Run one command within the bound; note a failure or a hang."""
        try:
            done = self.site.yanex(args, timeout=BOUND_SECONDS)
        except subprocess.TimeoutExpired:
            self._fail(f"{label} did not end within {BOUND_SECONDS} s")
            return ""
        with self._lock:
            self.counts[label] += 1
        if done.returncode != 0:
            self._fail(
                f"{label} exited {done.returncode}: {done.stderr.strip()[-300:]}"
            )
        return done.stdout

    def loop(self, label: str, make_args: Callable[[random.Random], list[str]]) -> None:
        draw = random.Random(label)
        while time.monotonic() < self.deadline:
            self.command(label, make_args(draw))

    def read(self, label: str, args: list[str], parse: Callable[[str], object]) -> None:
        while time.monotonic() < self.deadline:
            output = self.command(label, args)
            try:
                parse(output)
            except ValueError as error:
                self._fail(f"{label} printed what does not parse: {error}")

    def _fail(self, message: str) -> None:
        with self._lock:
            self.failures.append(message)


def sweep_args(draw: random.Random) -> list[str]:
    writers = draw.choice([0, 0, 2])
    size = draw.randint(2, 4)
    return [
        *WORK,
        "--param",
        f"writers={writers}",
        "--param",
        f"seed=range(0, {size})",
        "-j",
        "2",
    ]


def stage_args(draw: random.Random) -> list[str]:
    return [*WORK, "--param", f"seed=range(0, {draw.randint(1, 4)})", "--stage"]


def kill_readers(load: Load) -> None:
    """Start listings and SIGKILL them part-way, index updates and all."""
    draw = random.Random("kill")
    while time.monotonic() < load.deadline:
        reader = load.site.popen(["list", "--limit", "0"])
        time.sleep(draw.uniform(0.0, 0.2))
        reader.kill()
        reader.wait(timeout=BOUND_SECONDS)
        load.counts["list, killed part-way"] += 1


def show_latest(load: Load) -> None:
    while time.monotonic() < load.deadline:
        ids = [
            p.name
            for p in load.site.store.glob("????????")
            if (p / "metadata.json").exists()
        ]
        if ids:
            load.command("show", ["show", random.choice(ids), "-F", "json"])
        time.sleep(0.05)


@pytest.mark.parametrize("seconds", BUDGETS)
def test_many_writers_and_readers_on_one_store_lose_nothing(
    tmp_path: Path, seconds: float
) -> None:
    site = Workbench(tmp_path).site("stress")
    load = Load(site, seconds)
    workers = [
        *(lambda n=n: load.loop(f"sweep {n}", sweep_args) for n in range(2)),
        lambda: load.loop("stage", stage_args),
        *(
            lambda n=n: load.loop(f"staged {n}", lambda _: ["run", "--staged"])
            for n in range(2)
        ),
        lambda: load.read(
            "list", ["list", "-F", "json", "--limit", "0", "--all"], json.loads
        ),
        lambda: load.read("compare", ["compare", "-F", "csv"], _csv_rows),
        lambda: show_latest(load),
        lambda: kill_readers(load),
    ]
    threads = [threading.Thread(target=work, daemon=True) for work in workers]
    started = time.monotonic()

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + BOUND_SECONDS)

    assert not any(thread.is_alive() for thread in threads), "a worker is stuck"
    load.command("drain", ["run", "--staged"])
    findings = invariants.check(
        site.store, read_witnesses(site.witness), ROWS, ("completed",)
    )
    runs = Counter(w.starts for w in read_witnesses(site.witness).values())
    record(load, findings, time.monotonic() - started)
    assert load.failures == []
    assert findings.violations == []
    assert set(runs) == {1}
    assert findings.counts["experiments checked"] == sum(runs.values())


def _csv_rows(text: str) -> int:
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    if rows and rows[0][:3] != ["id", "name", "status"]:
        raise ValueError(f"unexpected header {rows[0][:3]}")
    return len(rows)


def record(load: Load, findings: invariants.Findings, elapsed: float) -> None:
    section = "stress"
    figures.record(section, "stress runs")
    figures.record(section, "seconds under load", round(elapsed))
    for label, count in load.counts.items():
        figures.record(section, f"commands: {label.rstrip('0123456789 ')}", count)
    figures.record(section, "experiments run", findings.counts["experiments checked"])
    for label in (
        "metric rows acknowledged",
        "metric rows lost",
        "duplicate runs",
        "records parsed",
    ):
        figures.record(section, label, findings.counts[label])
    figures.record(section, "failures and hangs", len(load.failures))
