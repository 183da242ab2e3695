"""Kill trials: SIGKILL a runner at a random moment, then check the store.

Each trial kind is a small scenario (a single run, a sweep, staged work
with two runners...). A trial starts its runners, kills the chosen ones
after a delay drawn from the seed, waits for everything to end, runs what
is still staged, and checks every invariant (:mod:`faultkit.invariants`).
The same kind and seed always draw the same choices, so a failure can be
replayed with::

    .venv/bin/python tests/faultkit/replay.py KIND SEED
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from faultkit import invariants
from faultkit.witness import is_alive, read_witnesses
from faultkit.workbench import Site, Workbench

ROWS = 20
ROW_DELAY = 0.01
SETTLE_SECONDS = 30.0
_WORK = ["run", "work.py", "--param", f"rows={ROWS}", "--param", f"delay={ROW_DELAY}"]


@dataclass(frozen=True)
class Kind:
    """One scenario: what is prepared, what runs (and may be killed), what follows."""

    name: str
    summary: str
    runners: tuple[tuple[str, ...], ...]
    prepare: tuple[tuple[str, ...], ...] = ()
    drain: bool = False


KINDS = {
    kind.name: kind
    for kind in (
        Kind("single", "a single run", ((*_WORK,),)),
        Kind(
            "writers",
            "a single run whose script logs from three processes",
            ((*_WORK, "--param", "writers=2"),),
        ),
        Kind(
            "sweep",
            "a sequential sweep of three",
            ((*_WORK, "--param", "seed=range(0, 3)"),),
        ),
        Kind(
            "parallel",
            "a sweep of four, two at a time",
            ((*_WORK, "--param", "seed=range(0, 4)", "-j", "2"),),
        ),
        Kind(
            "stage",
            "staging a sweep of eight",
            ((*_WORK, "--param", "seed=range(0, 8)", "--stage"),),
            drain=True,
        ),
        Kind(
            "staged",
            "two concurrent --staged runners over five staged experiments",
            (("run", "--staged"), ("run", "--staged", "-j", "2")),
            prepare=((*_WORK, "--param", "seed=range(0, 5)", "--stage"),),
            drain=True,
        ),
    )
}


@dataclass
class Outcome:
    """What one trial did and found."""

    kind: str
    seed: int
    kills: int = 0
    findings: invariants.Findings = field(default_factory=invariants.Findings)

    @property
    def replay(self) -> str:
        return f".venv/bin/python tests/faultkit/replay.py {self.kind} {self.seed}"

    def describe(self) -> str:
        problems = "; ".join(self.findings.violations)
        return (
            f"trial {self.kind} seed={self.seed}: {problems}\n  replay: {self.replay}"
        )


@dataclass(frozen=True)
class Timing:
    """How long a kind's runners take undisturbed, and when the first
    experiment of the trial appears in the store."""

    lifetime: float
    first_record: float

    def draw_delay(self, draw: random.Random) -> float:
        """A kill delay: over the whole life, or more often past start-up."""
        start = 0.0 if draw.random() < 0.4 else self.first_record
        return draw.uniform(start, self.lifetime)


class Trials:
    """Runs trials on one workbench, timing kills by each kind's lifetime."""

    def __init__(self, bench: Workbench) -> None:
        self.bench = bench
        self._timings: dict[str, Timing] = {}

    def timing(self, kind: Kind) -> Timing:
        """The kind's timing, measured on its second undisturbed run."""
        if kind.name not in self._timings:
            for _ in range(2):
                outcome = Outcome(kind.name, seed=0)
                timing = self._play(kind, outcome, random.Random(0), kill=False)
                if outcome.findings.violations:
                    raise AssertionError(outcome.describe())
            self._timings[kind.name] = timing
        return self._timings[kind.name]

    def run(self, kind_name: str, seed: int) -> Outcome:
        """Play one trial of a kind with a seed and check the store after it."""
        kind = KINDS[kind_name]
        timing = self.timing(kind)
        outcome = Outcome(kind.name, seed)
        self._play(kind, outcome, random.Random(seed), kill=True, timing=timing)
        return outcome

    def _play(
        self,
        kind: Kind,
        outcome: Outcome,
        draw: random.Random,
        kill: bool,
        timing: Timing | None = None,
    ) -> Timing:
        """Play a kind once; returns how long its runners took."""
        site = self.bench.site(kind.name)
        for args in kind.prepare:
            _expect_success(site, list(args))
        known = set(_experiment_dirs(site.store))
        runners = [site.popen(list(args)) for args in kind.runners]
        started = time.monotonic()
        if kill:
            assert timing is not None
            victims = _choose_victims(len(runners), draw)
            deadlines = {i: started + timing.draw_delay(draw) for i in victims}
            outcome.kills = _kill_on_time(runners, deadlines)
        first_record = _wait_for_runners(runners, site.store, known) - started
        lived = time.monotonic() - started
        _wait_for_scripts(site.witness)
        if kind.drain:
            _expect_success(site, ["run", "--staged"])
            _wait_for_scripts(site.witness)
        outcome.findings = _judge(kind, site, kill)
        return Timing(lived, min(first_record, lived))


def _judge(kind: Kind, site: Site, killed: bool) -> invariants.Findings:
    """Check the store of a trial; undisturbed, everything must complete."""
    allowed = invariants.SETTLED if killed else ("completed",)
    findings = invariants.check(site.store, read_witnesses(site.witness), ROWS, allowed)
    still = findings.counts["experiments read back staged"]
    if kind.drain and still:
        findings.fail(f"{still} staged experiments were left after draining")
    return findings


def _experiment_dirs(store: Path) -> list[str]:
    if not store.is_dir():
        return []
    return [p.name for p in store.iterdir() if (p / "metadata.json").exists()]


def _wait_for_runners(
    runners: list[subprocess.Popen[bytes]], store: Path, known: set[str]
) -> float:
    """Wait for every runner to end; returns when a new experiment, or a
    change to a prepared one, was first seen."""
    deadline = time.monotonic() + SETTLE_SECONDS
    first_seen = None
    while any(runner.poll() is None for runner in runners):
        if time.monotonic() > deadline:
            raise AssertionError(f"runners still alive after {SETTLE_SECONDS} s")
        if first_seen is None and _has_news(store, known):
            first_seen = time.monotonic()
        time.sleep(0.002)
    return first_seen if first_seen is not None else time.monotonic()


def _has_news(store: Path, known: set[str]) -> bool:
    """Whether an experiment was added, or a prepared one has started."""
    if set(_experiment_dirs(store)) - known:
        return True
    return any((store / name / "stdout.log").exists() for name in known)


def _choose_victims(count: int, draw: random.Random) -> list[int]:
    """Which runners to kill: one of them, or now and then all."""
    if count == 1 or draw.random() < 0.3:
        return list(range(count))
    return [draw.randrange(count)]


def _kill_on_time(
    runners: list[subprocess.Popen[bytes]], deadlines: dict[int, float]
) -> int:
    """SIGKILL each chosen runner at its deadline; returns how many were alive."""
    kills = 0
    for index, deadline in sorted(deadlines.items(), key=lambda item: item[1]):
        time.sleep(max(0.0, deadline - time.monotonic()))
        runner = runners[index]
        if runner.poll() is None:
            runner.send_signal(signal.SIGKILL)
            kills += 1
    return kills


def _wait_for_scripts(witness: Path) -> None:
    """Wait until no process a script (or its writers) started is alive."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        pids = [pid for w in read_witnesses(witness).values() for pid in w.pids]
        if not any(is_alive(pid) for pid in pids):
            return
        time.sleep(0.02)
    raise AssertionError(f"scripts still alive {SETTLE_SECONDS} s after the trial")


def _expect_success(site: Site, args: list[str]) -> None:
    done = site.yanex(args, timeout=SETTLE_SECONDS * 2)
    if done.returncode != 0:
        raise AssertionError(f"yanex {' '.join(args)} failed: {done.stderr.strip()}")
