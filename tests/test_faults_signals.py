"""Signals to the runner and its scripts: every experiment ends truthfully,
and no process a script started outlives its run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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


def with_script(
    project: Project, name: str, script: str, folder_variable: str
) -> Project:
    """The project with a committed script and an empty folder for it to
    write to outside the store, named by an environment variable."""
    project.write(name, script)
    folder = project.root.parent / folder_variable.lower()
    folder.mkdir()
    project.env[folder_variable] = str(folder)
    return project


@pytest.fixture
def work(project: Project) -> Project:
    """A project with the fault trials' work script and a witness folder."""
    return with_script(project, "work.py", WORK_SCRIPT, "FAULT_WITNESS_DIR")


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


FAMILY = """\
import os, signal, time
import yanex

shapes = yanex.get_param("shapes")
pids_file = os.path.join(os.environ["FAMILY_DIR"], yanex.get_experiment_id())
expected = sum({"grandchild": 2}.get(shape, 1) for shape in shapes)


def note(pid):
    with open(pids_file, "a") as handle:
        handle.write(f"{pid}\\n")


def linger():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    note(os.getpid())
    while True:
        time.sleep(1)


def start(shape):
    if os.fork():
        return
    if shape in ("session", "daemon", "bare"):
        os.setsid()
    if shape in ("grandchild", "daemon", "bare") and os.fork():
        if shape == "grandchild":
            linger()
        os._exit(0)
    if shape == "bare":
        note(os.getpid())
        os.execve("/bin/sleep", ["sleep", "600"], {})
    linger()


for shape in shapes:
    start(shape)
while not os.path.exists(pids_file) or len(open(pids_file).read().split()) < expected:
    time.sleep(0.01)
print("ready", flush=True)
time.sleep(yanex.get_param("sleep"))
"""

#: A child, a grandchild, a child in its own session, a double-forked
#: daemon, and a daemon that also cleared its environment; all but the last
#: ignore SIGTERM.
SHAPES = '["child", "grandchild", "session", "daemon", "bare"]'


@pytest.fixture
def family(project: Project) -> Project:
    """A project whose script starts processes of every shape."""
    return with_script(project, "family.py", FAMILY, "FAMILY_DIR")


def family_pids(project: Project, experiment_id: str | None = None) -> list[int]:
    folder = Path(project.env["FAMILY_DIR"])
    files = [folder / experiment_id] if experiment_id else list(folder.iterdir())
    return [int(pid) for f in files if f.exists() for pid in f.read_text().split()]


def test_no_process_a_script_started_outlives_its_completed_run(
    family: Project,
) -> None:
    result = family.yanex(
        "run", "family.py", "--param", f"shapes={SHAPES}", "--param", "sleep=0"
    )

    assert result.returncode == 0, result.stderr
    assert len(family_pids(family)) == 6
    wait_for(lambda: all_pids_gone(family_pids(family)), timeout=5)
    assert family.metadata(family.only_experiment())["status"] == "completed"
    figures.record("signals", "runs leaving detached processes behind")


@pytest.mark.parametrize("signum", CANCELLING, ids=lambda signum: signum.name)
def test_no_process_a_script_started_outlives_a_cancelled_run(
    family: Project, signum: signal.Signals
) -> None:
    runner = family.popen(
        "run",
        "family.py",
        "--param",
        f"shapes={SHAPES}",
        "--param",
        "sleep=600",
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert runner.stdout is not None
    assert runner.stdout.readline() == b"ready\n"

    runner.send_signal(signum)

    assert runner.wait(timeout=30) == 128 + signum
    wait_for(lambda: all_pids_gone(family_pids(family)), timeout=5)
    assert family.metadata(family.only_experiment())["status"] == "cancelled"
    figures.record("signals", f"{signum.name} to a runner whose script forked")


def test_a_member_that_ends_stops_its_own_processes_and_no_others(
    family: Project,
) -> None:
    runner = family.popen(
        "run",
        "family.py",
        "--param",
        'shapes=["daemon"]',
        "--param",
        "sleep=list(0, 600)",
        "-j",
        "2",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: len(family_pids(family)) == 2)
    by_sleep = {
        family.params(family.store / i)["sleep"]: i for i in family.experiment_ids()
    }
    quick, slow = by_sleep[0], by_sleep[600]
    wait_for(lambda: family.metadata(family.store / quick)["status"] == "completed")

    wait_for(lambda: all_pids_gone(family_pids(family, quick)), timeout=5)
    assert not all_pids_gone(family_pids(family, slow))

    runner.send_signal(signal.SIGTERM)
    assert runner.wait(timeout=30) == 143
    wait_for(lambda: all_pids_gone(family_pids(family, slow)), timeout=5)


LEAVES_A_HOLDER = """\
import os, signal, time
if os.fork() == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(600)
print("leaving", flush=True)
"""


def test_the_runner_idles_while_a_leftover_holds_the_output(project: Project) -> None:
    project.write("leaver.py", LEAVES_A_HOLDER)
    started = time.monotonic()
    runner = project.popen(
        "run", "leaver.py", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    _, status, usage = os.wait4(runner.pid, 0)

    runner.returncode = os.waitstatus_to_exitcode(status)
    assert runner.returncode == 0
    assert time.monotonic() - started >= 1.0
    assert usage.ru_utime + usage.ru_stime < 0.6


HOST_PROGRAM = """\
import ctypes, subprocess, sys, time
from yanex import runner
from yanex.store import ExperimentSpec, Store

own = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
time.sleep(0.5)  # it has ended and waits for its exit status to be read
store = Store(sys.argv[1])
experiment_id = store.create(ExperimentSpec(params={}))
launch = runner.Launch(experiment_id, [sys.executable, "-c", "pass"], ".")
[outcome] = runner.Supervisor(store, echo=False).run([launch])
subreaper = ctypes.c_int(-1)
ctypes.CDLL(None).prctl(37, ctypes.byref(subreaper), 0, 0, 0)
print(outcome.status, own.wait(), subreaper.value)
"""


def test_a_program_running_experiments_is_left_as_it_was(project: Project) -> None:
    done = subprocess.run(
        [sys.executable, "-c", HOST_PROGRAM, str(project.store)],
        env=project.env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.stdout == "completed 3 0\n", done.stderr
