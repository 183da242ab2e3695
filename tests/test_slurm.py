"""``yanex run --executor slurm`` end to end, against the real cluster.

Nothing stands in for Slurm here: sbatch, squeue, scancel and scontrol are
the cluster's own (see ``slurm_support``). A member past its time limit is
submitted first, because Slurm counts limits in whole minutes and checks
them about every 30 s; the other tests run while it waits for its end.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Project, most_at_once, project_in, wait_for
from slurm_support import scontrol, squeue_state

pytestmark = pytest.mark.usefixtures("slurm_cluster")

SLEEPER = """\
import sys, time, yanex
i = yanex.get_param("i", default=0)
print("member", i, flush=True)
time.sleep(yanex.get_param("sleep", default=0))
if i == yanex.get_param("fail_on", default=-1):
    sys.exit(4)
yanex.log_metrics({"score": i * 10})
"""

REQUEUED = """\
import os, time
attempt = int(os.environ.get("SLURM_RESTART_COUNT") or 0)
print("attempt", attempt, flush=True)
time.sleep(120 if attempt == 0 else 2)
"""


@pytest.fixture(scope="module", autouse=True)
def time_limited(
    slurm_cluster: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Project, str]]:
    """A member that outlives its one-minute limit, submitted before the rest
    (and cancelled at the end if a selection of tests left it running)."""
    project = project_in(tmp_path_factory.mktemp("time-limit"))
    project.write("forever.py", "import time\nprint('working')\ntime.sleep(600)\n")
    result = project.yanex(
        "run", "forever.py", "--executor", "slurm", "--slurm-time", "1", "--detach"
    )
    assert result.returncode == 0, result.stderr
    experiment_id = result.stdout.strip()
    yield project, experiment_id
    project.yanex("cancel", experiment_id)


def on_slurm(*args: str) -> list[str]:
    return ["run", "sleeper.py", *args, "--executor", "slurm"]


def members(project: Project) -> list[dict[str, Any]]:
    found = [project.metadata(project.store / i) for i in project.experiment_ids()]
    return sorted(found, key=lambda m: m["sweep"]["index"] if m["sweep"] else -1)


def statuses(project: Project) -> list[str]:
    return [m["status"] for m in members(project)]


def listed(project: Project, *args: str) -> dict[str, dict[str, Any]]:
    """What ``yanex list`` says, by id."""
    result = project.yanex("list", "--limit", "0", "-F", "json", *args)
    assert result.returncode == 0, result.stderr
    return {row["id"]: row for row in json.loads(result.stdout)}


def start_watching(project: Project, *args: str) -> subprocess.Popen[bytes]:
    process = project.popen(
        *on_slurm(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    wait_for(lambda: statuses(project).count("running") >= 1, timeout=30)
    return process


def test_a_throttled_array_runs_no_more_than_p_members_at_once(
    project: Project,
) -> None:
    project.write("sleeper.py", SLEEPER)

    result = project.yanex(
        *on_slurm("--param", "i=range(0, 6)", "--param", "sleep=1.5", "-j", "2")
    )

    assert result.returncode == 0, result.stderr
    found = members(project)
    assert [m["status"] for m in found] == ["completed"] * 6
    assert len({m["slurm"]["job_id"] for m in found}) == 1
    assert [m["slurm"]["array_index"] for m in found] == list(range(6))
    assert most_at_once(found) == 2
    job = found[0]["slurm"]["job_id"]
    assert f"yanex: submitted Slurm job {job}: 6 tasks, at most 2 at once" in (
        result.error_lines
    )


def test_a_store_under_tmp_is_warned_about(project: Project) -> None:
    project.write("sleeper.py", SLEEPER)

    result = project.yanex(*on_slurm())

    assert result.returncode == 0, result.stderr
    warning = result.error_lines[0]
    assert warning.startswith(
        f"yanex: warning: the store {project.store.resolve()} is under /"
    )
    assert warning.endswith(
        ", which compute nodes usually do not share; set YANEX_EXPERIMENTS_DIR"
        " to a shared filesystem"
    )


def test_a_failing_member_is_recorded_and_the_others_complete(
    project: Project,
) -> None:
    project.write("sleeper.py", SLEEPER)

    result = project.yanex(
        *on_slurm("--param", "i=range(0, 3)", "--param", "fail_on=1")
    )

    assert result.returncode == 1
    found = members(project)
    assert [m["status"] for m in found] == ["completed", "failed", "completed"]
    assert (found[1]["exit_code"], found[1]["reason"]) == (4, "exit code 4")
    assert result.error_lines[-1] == (
        f"yanex: 1 of 3 did not complete: {found[1]['id']} (exit code 4)"
    )


def test_a_single_run_is_a_one_task_array(project: Project) -> None:
    project.write("sleeper.py", SLEEPER)

    result = project.yanex(*on_slurm("--param", "i=5"))

    assert result.returncode == 0, result.stderr
    [member] = members(project)
    assert member["status"] == "completed"
    assert member["slurm"]["array_index"] == 0
    assert (project.store / member["id"] / "stdout.log").read_text() == "member 5\n"


def test_staged_experiments_are_submitted_once(project: Project) -> None:
    project.write("sleeper.py", SLEEPER)
    project.yanex("run", "sleeper.py", "--param", "i=range(0, 3)", "--stage")

    first = project.yanex("run", "--staged", "--executor", "slurm", "-j", "2")
    second = project.yanex("run", "--staged", "--executor", "slurm")

    assert first.returncode == 0, first.stderr
    assert statuses(project) == ["completed"] * 3
    assert len({m["slurm"]["job_id"] for m in members(project)}) == 1
    assert second.error_lines == ["yanex: nothing is staged"]


def test_ctrl_c_while_watching_cancels_the_array(project: Project) -> None:
    project.write("sleeper.py", SLEEPER)
    process = start_watching(
        project, "--param", "i=range(0, 4)", "--param", "sleep=60", "-j", "2"
    )
    wait_for(lambda: statuses(project).count("running") == 2, timeout=30)

    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)

    assert process.returncode == 130
    found = members(project)
    assert [m["reason"] for m in found] == [
        "CANCELLED: cancelled in Slurm",
        "CANCELLED: cancelled in Slurm",
        "not started: cancelled by SIGINT",
        "not started: cancelled by SIGINT",
    ]
    assert {m["status"] for m in found} == {"cancelled"}
    assert squeue_state(f"{found[0]['slurm']['job_id']}_0") == "CANCELLED"


def test_scancel_from_another_process_is_recorded(project: Project) -> None:
    project.write("sleeper.py", SLEEPER)
    process = start_watching(
        project, "--param", "i=range(0, 3)", "--param", "sleep=60", "-j", "1"
    )

    job = members(project)[0]["slurm"]["job_id"]
    subprocess.run(["scancel", job], check=True)
    process.communicate(timeout=60)

    assert process.returncode == 1
    assert [m["reason"] for m in members(project)] == [
        "CANCELLED: cancelled in Slurm",
        "CANCELLED: cancelled in Slurm before it started",
        "CANCELLED: cancelled in Slurm before it started",
    ]


def test_detach_returns_at_once_and_list_follows_the_members(
    project: Project,
) -> None:
    project.write("sleeper.py", SLEEPER)

    result = project.yanex(
        *on_slurm("--param", "i=range(0, 3)", "--param", "sleep=3"),
        "-j",
        "1",
        "--detach",
    )

    assert result.returncode == 0, result.stderr
    found = members(project)
    assert result.stdout.split() == [m["id"] for m in found]
    sweep = found[0]["sweep"]["id"]
    assert result.error_lines[-1] == (
        f"yanex: follow it with 'yanex list --sweep {sweep}'; cancel it with"
        f" 'yanex cancel --sweep {sweep}'"
    )
    assert listed(project, "--sweep", sweep)[found[2]["id"]]["status"] == "queued"
    wait_for(
        lambda: {r["status"] for r in listed(project).values()} == {"completed"},
        timeout=60,
    )


def test_yanex_cancel_stops_a_detached_sweep(project: Project) -> None:
    project.write("sleeper.py", SLEEPER)
    project.yanex(
        *on_slurm("--param", "i=range(0, 3)", "--param", "sleep=60"),
        "-j",
        "1",
        "--detach",
    )
    wait_for(lambda: statuses(project)[0] == "running", timeout=30)
    sweep = members(project)[0]["sweep"]["id"]

    result = project.yanex("cancel", "--sweep", sweep)

    assert result.returncode == 0, result.stderr
    assert result.error_lines == ["yanex: cancelled 3 experiments"]
    wait_for(
        lambda: {r["status"] for r in listed(project).values()} == {"cancelled"},
        timeout=30,
    )
    assert [m["reason"] for m in members(project)] == [
        "CANCELLED: cancelled in Slurm",
        "not started: cancelled with yanex cancel",
        "not started: cancelled with yanex cancel",
    ]


def test_a_requeued_task_resumes_the_same_experiment(project: Project) -> None:
    project.write("again.py", REQUEUED)
    result = project.yanex(
        "run", "again.py", "--executor", "slurm", "--slurm-requeue", "--detach"
    )
    experiment_id = result.stdout.strip()
    directory = project.store / experiment_id
    stdout = directory / "stdout.log"
    wait_for(lambda: stdout.exists() and stdout.read_text() != "", timeout=30)
    slurm = project.metadata(directory)["slurm"]
    task = f"{slurm['job_id']}_{slurm['array_index']}"

    scontrol("requeue", task)
    wait_for(lambda: project.metadata(directory)["status"] == "queued", timeout=30)
    # Slurm holds a requeued job back for two minutes; start it sooner, but
    # not within the second of the requeue, when slurmd still refuses it
    # ("Job credential revoked").
    wait_for(lambda: squeue_state(task, "%T %r") == "PENDING BeginTime", timeout=30)
    time.sleep(2)
    scontrol("update", f"JobId={task}", "StartTime=now")

    wait_for(lambda: project.metadata(directory)["restarts"] == 1, timeout=30)
    assert listed(project)[experiment_id]["status"] == "running"
    wait_for(lambda: project.metadata(directory)["status"] == "completed", timeout=30)
    assert project.experiment_ids() == [experiment_id]
    assert project.metadata(directory)["slurm"]["restart_count"] == 1
    assert stdout.read_text() == "attempt 0\nattempt 1\n"
    shown = project.yanex("show", experiment_id).stdout.splitlines()
    assert f"  slurm:       task {task} on {slurm['node']}" in shown
    assert "  restarts:    1" in shown


def test_a_refused_submission_says_why_and_records_nothing(
    project: Project,
) -> None:
    project.write("sleeper.py", SLEEPER)

    result = project.yanex(
        *on_slurm("--param", "i=range(0, 3)", "--slurm-partition", "nope")
    )

    assert result.returncode == 1
    assert result.error_lines[-1] == (
        "Error: sbatch refused the job: invalid partition specified: nope;"
        " Invalid partition name specified"
    )
    assert project.experiment_ids() == []
    assert list((project.store / ".slurm").iterdir()) == []


def test_a_refused_submission_leaves_staged_experiments_staged(
    project: Project,
) -> None:
    project.write("sleeper.py", SLEEPER)
    project.yanex("run", "sleeper.py", "--param", "i=range(0, 2)", "--stage")

    result = project.yanex(
        "run", "--staged", "--executor", "slurm", "--slurm-partition", "nope"
    )

    assert result.returncode == 1
    assert statuses(project) == ["staged", "staged"]


def test_project_defaults_reach_sbatch_and_the_command_line_wins(
    project: Project,
) -> None:
    project.write("sleeper.py", SLEEPER)
    project.write(
        "yanex.yaml",
        "slurm:\n  time: '0:30:00'\n  qos: null\n  options: ['--comment=project']\n",
    )

    result = project.yanex(*on_slurm("--slurm-time", "0:20:00"))

    assert result.returncode == 0, result.stderr
    job = members(project)[0]["slurm"]["job_id"]
    done = subprocess.run(
        ["squeue", "-h", "-t", "all", "-j", job, "-o", "%l|%k"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["20:00|project"]


def test_list_asks_slurm_only_when_it_shows_slurm_members(
    project: Project,
) -> None:
    project.write("sleeper.py", SLEEPER)
    project.yanex("run", "sleeper.py")
    local_only = project.yanex("--verbose", "list")
    project.yanex(*on_slurm("--param", "sleep=60"), "--detach")

    with_slurm = project.yanex("--verbose", "list")

    assert "squeue" not in local_only.stderr
    assert "squeue" in with_slurm.stderr
    project.yanex("cancel", "--status", "queued", "--status", "running")


def test_a_task_past_its_time_limit_reads_back_failed_timeout(
    time_limited: tuple[Project, str],
) -> None:
    project, experiment_id = time_limited
    directory = project.store / experiment_id
    final = ("completed", "failed", "cancelled")
    wait_for(lambda: project.metadata(directory)["status"] in final, timeout=180)
    reason = "TIMEOUT: Slurm stopped it at its time limit"

    show = project.yanex("show", experiment_id)
    from_results = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from yanex import results;"
            " e = results.get_experiment(sys.argv[1]);"
            " print(e.status, e.status_reason, sep='|')",
            experiment_id,
        ],
        env=project.env,
        capture_output=True,
        text=True,
        check=True,
    )

    assert listed(project)[experiment_id]["status"] == "failed"
    assert f"  status:      failed ({reason})" in show.stdout.splitlines()
    assert from_results.stdout.strip() == f"failed|{reason}"


def test_a_member_whose_job_slurm_does_not_know_reads_lost(tmp_path: Path) -> None:
    from yanex.experiment import Experiment
    from yanex.store import ExperimentSpec, Store

    store = Store(tmp_path / "store")
    experiment_id = store.create(ExperimentSpec(params={}), status="queued")
    slurm = {"job_id": "99999999", "array_index": 0, "batch": "5e0c1a2b"}
    store.update_metadata(experiment_id, lambda m: m.update(slurm=slurm))

    experiment = Experiment(store, experiment_id)

    assert (experiment.status, experiment.status_reason) == (
        "lost",
        "Slurm no longer knows task 99999999_0, and no end was recorded",
    )
