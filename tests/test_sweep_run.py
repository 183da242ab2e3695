"""Sweeps run now, one at a time or in parallel, through the real CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

from conftest import Project, wait_for

SLEEPER = """\
import sys, time, yanex
print("member", yanex.get_param("i"), flush=True)
time.sleep(yanex.get_param("sleep", default=0))
if yanex.get_param("i") == yanex.get_param("fail_on", default=-1):
    sys.exit(4)
yanex.log_metrics({"score": yanex.get_param("i") * 10})
"""


def members(project: Project) -> list[dict]:
    found = [project.metadata(project.store / i) for i in project.experiment_ids()]
    return sorted(found, key=lambda m: m["sweep"]["index"] if m["sweep"] else -1)


def intervals(project: Project) -> list[tuple[datetime, datetime]]:
    return [
        (datetime.fromisoformat(m["started_at"]), datetime.fromisoformat(m["ended_at"]))
        for m in members(project)
    ]


def most_at_once(spans: list[tuple[datetime, datetime]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


def test_sweep_makes_one_experiment_per_grid_point(project: Project) -> None:
    project.write("train.py", "import yanex\nprint(yanex.get_params())\n")

    result = project.yanex(
        "run",
        "train.py",
        "--name",
        "base",
        "--param",
        "lr=logspace(-4, -1, 4)",
        "--param",
        "batch_size=list(32, 64)",
        "--param",
        "epochs=3",
    )

    assert result.returncode == 0, result.stderr
    found = members(project)
    assert len(found) == 8
    assert [m["sweep"]["swept"] for m in found[:3]] == [
        {"lr": 0.0001, "batch_size": 32},
        {"lr": 0.0001, "batch_size": 64},
        {"lr": 0.001, "batch_size": 32},
    ]
    assert found[0]["name"] == "base lr=0.0001 batch_size=32"
    assert len({m["sweep"]["id"] for m in found}) == 1
    assert {m["sweep"]["size"] for m in found} == {8}
    assert {m["status"] for m in found} == {"completed"}
    params = project.params(project.store / found[7]["id"])
    assert params == {"lr": 0.1, "batch_size": 64, "epochs": 3}


def test_sequential_sweep_streams_each_members_output(project: Project) -> None:
    project.write("train.py", SLEEPER)

    result = project.yanex("run", "train.py", "--param", "i=range(0, 3)")

    assert result.stdout == "member 0\nmember 1\nmember 2\n"
    assert most_at_once(intervals(project)) == 1


def test_parallel_sweep_runs_members_at_once_up_to_the_limit(project: Project) -> None:
    project.write("train.py", SLEEPER)

    result = project.yanex(
        "run", "train.py", "--param", "i=range(0, 6)", "--param", "sleep=1", "-j", "3"
    )

    assert result.returncode == 0, result.stderr
    peak = most_at_once(intervals(project))
    assert 2 <= peak <= 3


def test_parallel_output_goes_to_files_not_the_terminal(project: Project) -> None:
    project.write("train.py", SLEEPER)

    result = project.yanex("run", "train.py", "--param", "i=range(0, 4)", "-j", "2")

    assert "member" not in result.stdout
    outputs = sorted(
        (project.store / m["id"] / "stdout.log").read_text() for m in members(project)
    )
    assert outputs == [f"member {i}\n" for i in range(4)]


def test_summary_lists_each_member_with_its_final_metrics(project: Project) -> None:
    project.write("train.py", SLEEPER)

    result = project.yanex("run", "train.py", "--param", "i=list(1, 2)", "-j", "2")

    rows = [
        line.split() for line in result.stderr.splitlines() if "completed  " in line
    ]
    assert [row[1:3] + row[-1:] for row in rows] == [
        ["1", "completed", "10"],
        ["2", "completed", "20"],
    ]


def test_a_failing_member_does_not_stop_the_others(project: Project) -> None:
    project.write("train.py", SLEEPER)

    result = project.yanex(
        "run", "train.py", "--param", "i=range(0, 4)", "--param", "fail_on=1", "-j", "2"
    )

    assert result.returncode == 1
    statuses = [m["status"] for m in members(project)]
    assert statuses == ["completed", "failed", "completed", "completed"]
    failed_id = members(project)[1]["id"]
    assert f"1 of 4 did not complete: {failed_id} (exit code 4)" in result.stderr


def test_ctrl_c_cancels_a_parallel_sweep_promptly(project: Project) -> None:
    project.write("train.py", SLEEPER)
    process = project.popen(
        "run",
        "train.py",
        "--param",
        "i=range(0, 6)",
        "--param",
        "sleep=60",
        "-j",
        "2",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wait_for(lambda: len([m for m in _all(project) if m["status"] == "running"]) == 2)
    started = time.monotonic()

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 130

    assert time.monotonic() - started < 10
    statuses = [m["status"] for m in members(project)]
    assert statuses == ["cancelled"] * 6
    reasons = sorted(m["reason"] for m in members(project))
    assert (
        reasons
        == ["cancelled by SIGINT"] * 2 + ["not started: cancelled by SIGINT"] * 4
    )
    assert process.stderr is not None
    assert "6 of 6 did not complete" in process.stderr.read().decode()
    for m in members(project):
        if m["script_pid"]:
            assert not Path(f"/proc/{m['script_pid']}/cmdline").exists()


def test_sigterm_cancels_a_sequential_sweep(project: Project) -> None:
    project.write("train.py", SLEEPER)
    process = project.popen(
        "run",
        "train.py",
        "--param",
        "i=range(0, 3)",
        "--param",
        "sleep=60",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: any(m["status"] == "running" for m in _all(project)))

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=20) == 143
    assert [m["status"] for m in members(project)] == ["cancelled"] * 3


def _all(project: Project) -> list[dict]:
    found = []
    for experiment_id in project.experiment_ids():
        try:
            found.append(project.metadata(project.store / experiment_id))
        except (json.JSONDecodeError, FileNotFoundError):
            continue
    return found


def test_dry_run_of_a_sweep_shows_the_grid_and_creates_nothing(
    project: Project,
) -> None:
    project.write("train.py", "raise SystemExit('must not run')\n")

    result = project.yanex(
        "run",
        "train.py",
        "--param",
        "lr=list(0.1, 0.2)",
        "--param",
        "opt=list(adam, sgd)",
        "--param",
        "epochs=5",
        "--dry-run",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "4 experiments would run:",
        "#  lr   opt",
        "1  0.1  adam",
        "2  0.1  sgd",
        "3  0.2  adam",
        "4  0.2  sgd",
        "shared by all: epochs=5",
    ]
    assert project.experiment_ids() == []


def test_parallel_with_a_single_run_is_harmless(project: Project) -> None:
    project.write("train.py", "print('one')\n")

    result = project.yanex("run", "train.py", "-j", "4")

    assert result.returncode == 0
    assert result.stdout == "one\n"
    assert len(project.experiment_ids()) == 1


def test_parallel_zero_means_one_per_cpu(project: Project) -> None:
    import os

    project.write("train.py", SLEEPER)

    result = project.yanex("run", "train.py", "--param", "i=range(0, 3)", "-j", "0")

    workers = min(os.cpu_count() or 1, 3)
    noun = "at a time" if workers > 1 else "one at a time"
    expected = f"{workers} {noun}" if workers > 1 else noun
    assert f"running 3 experiments, {expected}" in result.stderr


def test_sweeps_in_config_files_expand_too(project: Project) -> None:
    project.write("train.py", "")
    project.write(
        "sweep.yaml", 'model:\n  lr: "logspace(-2, -1, 2)"\n  depth: range(2, 4)\n'
    )

    result = project.yanex("run", "train.py", "--config", "sweep.yaml", "-j", "2")

    assert result.returncode == 0, result.stderr
    swept = [m["sweep"]["swept"] for m in members(project)]
    assert swept == [
        {"model.lr": 0.01, "model.depth": 2},
        {"model.lr": 0.01, "model.depth": 3},
        {"model.lr": 0.1, "model.depth": 2},
        {"model.lr": 0.1, "model.depth": 3},
    ]


def test_bad_sweep_is_a_one_line_usage_error_and_runs_nothing(project: Project) -> None:
    project.write("train.py", "raise SystemExit('must not run')\n")

    result = project.yanex("run", "train.py", "--param", "lr=linspace(0, 1, 0)")

    assert result.returncode == 2
    assert result.error_lines == [
        "Error: --param lr: linspace(0, 1, 0): num must be at least 1"
        " (at '0', column 16)"
    ]
    assert project.experiment_ids() == []


def test_unknown_sweep_function_is_reported(project: Project) -> None:
    project.write("train.py", "")

    result = project.yanex("run", "train.py", "--param", "lr=lnspace(0, 1, 5)")

    assert result.returncode == 2
    [line] = result.error_lines
    assert "unknown sweep function 'lnspace'" in line


def test_negative_parallel_is_a_usage_error(project: Project) -> None:
    project.write("train.py", "")

    result = project.yanex("run", "train.py", "-j", "-1")

    assert result.returncode == 2
    assert len(result.error_lines) == 1
