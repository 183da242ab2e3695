"""Signals to the runner and its scripts: every experiment ends truthfully."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import Project, wait_for
from faultkit import figures, invariants
from faultkit.witness import WORK_SCRIPT, is_alive, read_witnesses

CANCELLING = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
LONG = ["--param", "rows=2000", "--param", "delay=0.01"]

#: What each mode runs, what it stages first, and how its experiments end
#: when a cancelling signal arrives while the first ones run.
MODES = {
    "single": (["run", "work.py", *LONG], [], {"cancelled": 1}),
    "sweep": (
        ["run", "work.py", *LONG, "--param", "seed=range(0, 3)"],
        [],
        {"cancelled": 3},
    ),
    "parallel": (
        ["run", "work.py", *LONG, "--param", "seed=range(0, 4)", "-j", "2"],
        [],
        {"cancelled": 4},
    ),
    "staged": (
        ["run", "--staged", "-j", "2"],
        ["run", "work.py", *LONG, "--param", "seed=range(0, 4)", "--stage"],
        {"cancelled": 2, "staged": 2},
    ),
}


@pytest.fixture
def work(project: Project, tmp_path: Path) -> Project:
    """A project with the fault trials' work script and a witness folder."""
    project.write("work.py", WORK_SCRIPT)
    witness = tmp_path / "witness"
    witness.mkdir()
    project.env["FAULT_WITNESS_DIR"] = str(witness)
    return project


def witness_dir(project: Project) -> Path:
    return Path(project.env["FAULT_WITNESS_DIR"])


def started_with_rows(project: Project, count: int) -> bool:
    """Whether ``count`` experiments have acknowledged metric rows."""
    witnesses = read_witnesses(witness_dir(project)).values()
    return sum(1 for w in witnesses if w.rows) >= count


def all_pids_gone(pids: list[int]) -> bool:
    return not any(is_alive(pid) for pid in pids)


def witnessed_pids(project: Project) -> list[int]:
    return [
        pid for w in read_witnesses(witness_dir(project)).values() for pid in w.pids
    ]


@pytest.mark.parametrize("signum", CANCELLING, ids=lambda signum: signum.name)
@pytest.mark.parametrize("mode", list(MODES))
def test_a_cancelling_signal_leaves_every_experiment_truthful(
    work: Project, mode: str, signum: signal.Signals
) -> None:
    args, prepare, expected = MODES[mode]
    if prepare:
        assert work.yanex(*prepare).returncode == 0
    runner = work.popen(*args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: started_with_rows(work, 2 if "-j" in args else 1))

    runner.send_signal(signum)

    assert runner.wait(timeout=30) == 128 + signum
    wait_for(lambda: all_pids_gone(witnessed_pids(work)), timeout=10)
    findings = invariants.check(
        work.store, read_witnesses(witness_dir(work)), 2000, ("cancelled", "staged")
    )
    assert findings.violations == []
    read_back = {
        status: findings.counts[f"experiments read back {status}"]
        for status in ("cancelled", "staged")
    }
    assert read_back == {"cancelled": 0, "staged": 0, **expected}
    reasons = {work.metadata(work.store / i)["reason"] for i in work.experiment_ids()}
    name = signum.name
    assert reasons - {None} <= {
        f"cancelled by {name}",
        f"not started: cancelled by {name}",
    }
    figures.record("signals", f"{name} to the runner ({mode})")
    acknowledged = findings.counts["metric rows acknowledged"]
    figures.record(
        "signals", "metric rows acknowledged before the signal", acknowledged
    )


def test_a_script_killed_by_sigkill_is_recorded_failed(work: Project) -> None:
    runner = work.popen("run", "work.py", *LONG, stderr=subprocess.DEVNULL)
    wait_for(lambda: started_with_rows(work, 1))
    [script_pid] = witnessed_pids(work)

    subprocess.run(["kill", "-KILL", str(script_pid)], check=True)

    assert runner.wait(timeout=30) == 137
    metadata = work.metadata(work.only_experiment())
    assert metadata["status"] == "failed"
    assert metadata["reason"] == "killed by SIGKILL"
    assert metadata["exit_code"] == 137
    findings = invariants.check(
        work.store, read_witnesses(witness_dir(work)), 2000, ("failed",)
    )
    assert findings.violations == []
    figures.record("signals", "SIGKILL to the script")


IGNORES_SIGTERM = """\
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("up", flush=True)
time.sleep(600)
"""


def test_scripts_ignoring_sigterm_are_still_stopped(work: Project) -> None:
    work.write("stubborn.py", IGNORES_SIGTERM)
    runner = work.popen(
        "run",
        "stubborn.py",
        "--param",
        "seed=list(1, 2)",
        "-j",
        "2",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(
        lambda: (
            len(work.experiment_ids()) == 2
            and all(
                work.metadata(work.store / i)["script_pid"]
                for i in work.experiment_ids()
            )
        )
    )
    wait_for(
        lambda: all(
            (work.store / i / "stdout.log").read_text() == "up\n"
            for i in work.experiment_ids()
        )
    )
    pids = [work.metadata(work.store / i)["script_pid"] for i in work.experiment_ids()]
    signalled = time.monotonic()

    runner.send_signal(signal.SIGTERM)

    assert runner.wait(timeout=30) == 143
    assert time.monotonic() - signalled < 15
    assert all_pids_gone(pids)
    statuses = {work.metadata(work.store / i)["status"] for i in work.experiment_ids()}
    assert statuses == {"cancelled"}
    figures.record("signals", "SIGTERM ignored by the script")
