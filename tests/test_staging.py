"""Staging experiments now and running them later, exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from conftest import Project, wait_for

RECORDING = """\
import os, time, yanex
with open(os.environ["RUN_LOG"], "a") as log:
    log.write(yanex.get_experiment_id() + "\\n")
time.sleep(yanex.get_param("sleep", default=0))
print("ran", yanex.get_param("seed"))
"""


def stage(project: Project, *args: str) -> list[str]:
    result = project.yanex("run", "train.py", *args, "--stage")
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def statuses(project: Project, ids: list[str]) -> list[str]:
    return [project.metadata(project.store / i)["status"] for i in ids]


def test_stage_records_experiments_and_runs_nothing(
    project: Project, tmp_path: Path
) -> None:
    project.write("train.py", RECORDING)
    log = tmp_path / "runs.log"

    ids = stage(project, "--param", "seed=range(0, 3)", "--tag", "night")

    assert len(ids) == 3
    assert statuses(project, ids) == ["staged"] * 3
    assert not log.exists()
    metadata = project.metadata(project.store / ids[0])
    assert metadata["tags"] == ["night"]
    assert metadata["name"] == "seed=0"
    assert project.params(project.store / ids[2]) == {"seed": 2}
    git = json.loads((project.store / ids[0] / "git.json").read_text())
    assert git["commit"] == project.git("rev-parse", "HEAD").strip()


def test_stage_keeps_the_patch_of_a_dirty_tree(project: Project) -> None:
    project.write("train.py", "print(1)\n")
    project.write("train.py", "print(2)\n", commit=False)

    [experiment_id] = stage(project, "--ignore-dirty")

    patch = (project.store / experiment_id / "git.patch").read_text()
    assert "+print(2)" in patch


def test_stage_with_parallel_is_a_usage_error(project: Project) -> None:
    project.write("train.py", "")

    result = project.yanex("run", "train.py", "--stage", "-j", "2")

    assert result.returncode == 2
    assert result.error_lines == [
        "Error: --stage runs nothing, so --parallel does not apply"
        " (see 'yanex run --help')"
    ]
    assert project.experiment_ids() == []


def test_staged_takes_no_script(project: Project) -> None:
    project.write("train.py", "")

    result = project.yanex("run", "train.py", "--staged")

    assert result.returncode == 2
    assert "--staged runs experiments as they were staged" in result.error_lines[0]


def test_staged_runs_everything_in_staging_order(
    project: Project, tmp_path: Path
) -> None:
    project.write("train.py", RECORDING)
    log = tmp_path / "runs.log"
    first = stage(project, "--param", "seed=list(1, 2)")
    second = stage(project, "--param", "seed=3")

    result = project.yanex("run", "--staged", env={"RUN_LOG": str(log)})

    assert result.returncode == 0, result.stderr
    assert log.read_text().split() == first + second
    assert result.stdout == "ran 1\nran 2\nran 3\n"
    assert statuses(project, first + second) == ["completed"] * 3


def test_nothing_staged_is_said_plainly(project: Project) -> None:
    result = project.yanex("run", "--staged")

    assert result.returncode == 0
    assert result.error_lines == ["yanex: nothing is staged"]


def test_concurrent_staged_runners_run_each_experiment_once(
    project: Project, tmp_path: Path
) -> None:
    project.write("train.py", RECORDING)
    log = tmp_path / "runs.log"
    ids = stage(project, "--param", "seed=range(0, 10)", "--param", "sleep=0.2")
    env = {**project.env, "RUN_LOG": str(log)}

    runners = [
        start_staged_runner(project, env, *extra) for extra in ([], ["-j", "2"], [])
    ]

    assert [runner.wait(timeout=120) for runner in runners] == [0, 0, 0]
    ran = log.read_text().split()
    assert sorted(ran) == sorted(ids)
    assert statuses(project, ids) == ["completed"] * 10
    runners_seen = {project.metadata(project.store / i)["runner"]["pid"] for i in ids}
    assert len(runners_seen) >= 2


def start_staged_runner(
    project: Project, env: dict[str, str], *extra: str
) -> subprocess.Popen[bytes]:
    """A ``yanex run --staged`` in the background, its output discarded."""
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "yanex", "run", "--staged", *extra],
        cwd=project.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_killed_runner_leaves_unstarted_work_staged(
    project: Project, tmp_path: Path
) -> None:
    project.write("train.py", RECORDING)
    log = tmp_path / "runs.log"
    ids = stage(project, "--param", "seed=range(0, 3)", "--param", "sleep=60")
    env = {**project.env, "RUN_LOG": str(log)}
    runner = start_staged_runner(project, env)
    wait_for(lambda: statuses(project, ids)[0] == "running")

    runner.kill()
    runner.wait(timeout=20)

    assert statuses(project, ids) == ["running", "staged", "staged"]
    shown = project.yanex("show", ids[0])
    assert "lost" in shown.stdout


def kill_runner_mid_run(project: Project, log: Path) -> list[str]:
    """Stage two experiments and kill the runner while it runs the first."""
    ids = stage(project, "--param", "seed=range(0, 2)", "--param", "sleep=60")
    env = {**project.env, "RUN_LOG": str(log)}
    runner = start_staged_runner(project, env)
    wait_for(lambda: log.exists() and log.read_text().split() == ids[:1])
    runner.kill()
    runner.wait(timeout=20)
    project.write("train.py", RECORDING.replace("time.sleep", "0 and time.sleep"))
    return ids


def test_the_next_runner_takes_over_work_whose_runner_died(
    project: Project, tmp_path: Path
) -> None:
    project.write("train.py", RECORDING)
    log = tmp_path / "runs.log"
    ids = kill_runner_mid_run(project, log)

    result = project.yanex("run", "--staged", env={"RUN_LOG": str(log)})

    assert result.returncode == 0, result.stderr
    assert log.read_text().split() == [ids[0], ids[0], ids[1]]
    assert statuses(project, ids) == ["completed", "completed"]
    assert project.metadata(project.store / ids[0])["restarts"] == 1
    note = f"yanex: {ids[0]}: its earlier run died with its runner; running it again"
    assert any(line.startswith(note) for line in result.error_lines)


def test_concurrent_runners_take_over_dead_work_once(
    project: Project, tmp_path: Path
) -> None:
    project.write("train.py", RECORDING)
    log = tmp_path / "runs.log"
    ids = kill_runner_mid_run(project, log)
    env = {**project.env, "RUN_LOG": str(log)}

    runners = [start_staged_runner(project, env) for _ in range(3)]

    assert [runner.wait(timeout=120) for runner in runners] == [0, 0, 0]
    ran = log.read_text().split()
    assert sorted(ran) == sorted([ids[0], ids[0], ids[1]])
    assert statuses(project, ids) == ["completed", "completed"]


def test_work_of_a_live_runner_is_not_taken_over(
    project: Project, tmp_path: Path
) -> None:
    project.write("train.py", RECORDING)
    log = tmp_path / "runs.log"
    [experiment_id] = stage(project, "--param", "sleep=60")
    env = {**project.env, "RUN_LOG": str(log)}
    runner = start_staged_runner(project, env)
    wait_for(lambda: statuses(project, [experiment_id]) == ["running"])

    result = project.yanex("run", "--staged", env={"RUN_LOG": str(log)})

    try:
        assert result.error_lines == ["yanex: nothing is staged"]
        assert runner.poll() is None
    finally:
        runner.send_signal(signal.SIGINT)
        runner.wait(timeout=20)


def test_ctrl_c_leaves_unstarted_staged_experiments_staged(
    project: Project, tmp_path: Path
) -> None:
    project.write("train.py", RECORDING)
    ids = stage(project, "--param", "seed=range(0, 3)", "--param", "sleep=60")
    env = {**project.env, "RUN_LOG": str(tmp_path / "runs.log")}
    runner = start_staged_runner(project, env)
    wait_for(lambda: statuses(project, ids)[0] == "running")

    runner.send_signal(signal.SIGINT)

    assert runner.wait(timeout=20) == 130
    assert statuses(project, ids) == ["cancelled", "staged", "staged"]


def test_code_changed_since_staging_is_reported_and_recorded(
    project: Project, tmp_path: Path
) -> None:
    project.write("train.py", "print('v1')\n")
    [experiment_id] = stage(project)
    project.write("train.py", "print('v2')\n")

    result = project.yanex("run", "--staged")

    assert result.stdout == "v2\n"
    [line] = [line for line in result.error_lines if "code changed" in line]
    staged_commit = project.git("rev-parse", "HEAD~1").strip()[:7]
    head = project.git("rev-parse", "HEAD").strip()
    assert line == (
        f"yanex: {experiment_id}: code changed since staging:"
        f" {staged_commit} clean then, {head[:7]} clean now"
    )
    metadata = project.metadata(project.store / experiment_id)
    assert metadata["code_changed"] is True
    assert metadata["git_at_start"]["commit"] == head
