"""The behaviour every executor shares, checked against each one.

Each test runs for the local executor and for the Slurm executor (against
the real cluster; see ``slurm_support``). A new executor joins by adding
its name to ``EXECUTORS``.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from conftest import Project, most_at_once
from yanex import launch, manage
from yanex.executors import Executor
from yanex.runner import Outcome
from yanex.store import STAGED, Store

EXECUTORS = ["local", "slurm"]

MEMBER = """\
import os, sys, time, yanex
i = yanex.get_param("i")
print("member", i, "in", os.getcwd(), "as", yanex.get_experiment_id(), flush=True)
time.sleep(yanex.get_param("sleep", default=0))
if i == yanex.get_param("fail_on", default=-1):
    print("giving up", file=sys.stderr)
    sys.exit(3)
yanex.log_metrics({"score": i * 10})
"""


@pytest.fixture(params=EXECUTORS)
def executor(request: pytest.FixtureRequest) -> Executor:
    if request.param == "slurm":
        request.getfixturevalue("slurm_cluster")
        from yanex.executors.slurm.executor import SlurmExecutor

        return SlurmExecutor()
    from yanex.executors.local import LocalExecutor

    return LocalExecutor()


@pytest.fixture
def store(store_env: Path) -> Store:
    return Store(store_env)


class Recorder:
    """Events as an executor reports them; may interrupt on a first start."""

    def __init__(self, interrupt: bool = False) -> None:
        self.interrupt = interrupt
        self.starts: list[str] = []
        self.ends: list[Outcome] = []

    def started(self, experiment_id: str) -> None:
        if self.interrupt and not self.starts:
            os.kill(os.getpid(), signal.SIGINT)
        self.starts.append(experiment_id)

    def finished(self, outcome: Outcome) -> None:
        self.ends.append(outcome)

    def tick(self) -> None:
        pass

    def note(self, experiment_id: str, message: str) -> None:
        pass


def record(
    project: Project, store: Store, params: Sequence[str], status: str = "created"
) -> list[str]:
    """Record a sweep of MEMBER as ``yanex run`` (or ``--stage``) would."""
    project.write("member.py", MEMBER)
    request = launch.RunRequest(
        script="member.py", cwd=str(project.root), params=list(params)
    )
    plan = launch.plan_run(request)
    return launch.create_experiments(store, plan, status=status)


def metadata(store: Store, experiment_id: str) -> dict[str, Any]:
    return store.read_metadata(experiment_id)


def test_every_member_completes_with_its_parameters(
    executor: Executor, project: Project, store: Store
) -> None:
    ids = record(project, store, ["i=range(0, 3)"])

    report = executor.run(store, ids, parallel=0)

    assert [o.status for o in report.outcomes] == ["completed"] * 3
    assert [store.read_params(i)["i"] for i in ids] == [0, 1, 2]
    assert [metadata(store, i)["status"] for i in ids] == ["completed"] * 3


def test_outcomes_come_in_the_order_given_with_final_metrics(
    executor: Executor, project: Project, store: Store
) -> None:
    ids = record(project, store, ["i=list(2, 0, 1)"])

    report = executor.run(store, ids, parallel=0)

    assert [o.experiment_id for o in report.outcomes] == ids
    assert [dict(o.final_metrics) for o in report.outcomes] == [
        {"score": 20},
        {"score": 0},
        {"score": 10},
    ]


def test_output_is_captured_in_the_experiment(
    executor: Executor, project: Project, store: Store
) -> None:
    [experiment_id] = record(project, store, ["i=7"])

    executor.run(store, [experiment_id], parallel=0)

    stdout = (store.directory(experiment_id) / "stdout.log").read_text()
    assert stdout == f"member 7 in {project.root} as {experiment_id}\n"


def test_a_failing_member_does_not_stop_the_others(
    executor: Executor, project: Project, store: Store
) -> None:
    ids = record(project, store, ["i=range(0, 3)", "fail_on=1"])

    report = executor.run(store, ids, parallel=0)

    assert [o.status for o in report.outcomes] == ["completed", "failed", "completed"]
    failed = metadata(store, ids[1])
    assert (failed["exit_code"], failed["reason"]) == (3, "exit code 3")
    assert failed["stderr_tail"] == "giving up"


def test_no_more_than_parallel_members_run_at_once(
    executor: Executor, project: Project, store: Store
) -> None:
    ids = record(project, store, ["i=range(0, 4)", "sleep=1.5"])

    report = executor.run(store, ids, parallel=2)

    assert {o.status for o in report.outcomes} == {"completed"}
    assert most_at_once([metadata(store, i) for i in ids]) == 2


def test_each_start_and_end_is_reported(
    executor: Executor, project: Project, store: Store
) -> None:
    ids = record(project, store, ["i=range(0, 2)"])
    events = Recorder()

    executor.run(store, ids, parallel=0, events=events)

    assert sorted(events.starts) == sorted(ids)
    assert sorted(o.experiment_id for o in events.ends) == sorted(ids)


def test_staged_members_are_claimed_and_ones_taken_already_skipped(
    executor: Executor, project: Project, store: Store
) -> None:
    ids = record(project, store, ["i=range(0, 3)"], status=STAGED)
    manage.cancel(store, [ids[1]])

    report = executor.run(store, ids, parallel=0)

    assert report.skipped == [ids[1]]
    assert [o.experiment_id for o in report.outcomes] == [ids[0], ids[2]]
    assert [metadata(store, i)["status"] for i in ids] == [
        "completed",
        "cancelled",
        "completed",
    ]


def test_an_interrupt_cancels_running_and_waiting_members(
    executor: Executor, project: Project, store: Store
) -> None:
    ids = record(project, store, ["i=range(0, 3)", "sleep=60"])

    report = executor.run(store, ids, parallel=1, events=Recorder(interrupt=True))

    assert report.cancelled_by == signal.SIGINT
    assert [metadata(store, i)["status"] for i in ids] == ["cancelled"] * 3
    waiting = metadata(store, ids[2])
    assert (waiting["started_at"], waiting["reason"]) == (
        None,
        "not started: cancelled by SIGINT",
    )
