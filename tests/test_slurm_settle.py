"""What each of Slurm's answers makes of a member's record.

The cluster tests (``test_slurm.py``) reach the time limit, cancellations
and requeues for real; ends that a single-node test cluster cannot produce
(out of memory, a node failure, a task forgotten by Slurm) are checked here
by handing :func:`yanex.executors.slurm.settle.apply` the answer Slurm gives
in those cases.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from yanex import host, lifecycle, liveness
from yanex.executors.slurm.commands import TaskState
from yanex.executors.slurm.settle import apply
from yanex.experiment import Experiment
from yanex.store import ExperimentSpec, Store

DEAD_RUNNER = {"host": "gone", "boot_id": "gone", "pid": 1, "start_ticks": 1}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def member(store: Store, **fields: Any) -> str:
    """A Slurm member whose record holds ``fields``."""
    experiment_id = store.create(ExperimentSpec(params={}), status="queued")
    slurm = {"job_id": "812", "array_index": 3, "batch": "5e0c1a2b"}
    record = {"slurm": slurm, "runner": DEAD_RUNNER, **fields}
    store.update_metadata(experiment_id, lambda m: m.update(record))
    return experiment_id


def settled(store: Store, experiment_id: str, state: TaskState | None) -> bool:
    return apply(store, experiment_id, store.read_metadata(experiment_id), state)


def judged(store: Store, experiment_id: str) -> str:
    """The truthful status from the record alone, without asking Slurm."""
    return liveness.judge(store.read_metadata(experiment_id), None).status


def started(**fields: Any) -> dict[str, Any]:
    return {"started_at": "2026-12-04T06:00:00.000000+00:00", **fields}


def test_a_time_limit_explains_a_runner_cancelled_by_sigterm(store: Store) -> None:
    ended = "2026-12-04T06:01:00.000000+00:00"
    experiment_id = member(
        store,
        **started(status="cancelled", reason="cancelled by SIGTERM", ended_at=ended),
    )

    assert settled(store, experiment_id, TaskState("TIMEOUT", "TimeLimit"))

    record = store.read_metadata(experiment_id)
    assert (record["status"], record["reason"]) == (
        "failed",
        "TIMEOUT: Slurm stopped it at its time limit",
    )
    assert (record["ended_at"], record["slurm"]["settled"]) == (ended, True)


def test_a_time_limit_is_known_while_the_task_is_still_stopping(
    store: Store,
) -> None:
    experiment_id = member(
        store, **started(status="cancelled", reason="cancelled by SIGTERM")
    )

    settled(store, experiment_id, TaskState("COMPLETING", "TimeLimit"))

    assert store.read_metadata(experiment_id)["status"] == "failed"


def test_out_of_memory_explains_a_script_killed_by_sigkill(store: Store) -> None:
    experiment_id = member(
        store, **started(status="failed", exit_code=137, reason="killed by SIGKILL")
    )

    settled(store, experiment_id, TaskState("OUT_OF_MEMORY", "OutOfMemory"))

    assert store.read_metadata(experiment_id)["reason"] == (
        "OUT_OF_MEMORY: Slurm stopped it for exceeding its memory"
    )


def test_a_node_failure_ends_a_member_left_running(store: Store) -> None:
    ended = "2026-12-04T06:05:00.000000+00:00"
    experiment_id = member(store, **started(status="running"))

    settled(store, experiment_id, TaskState("NODE_FAIL", "", 0, ended))

    record = store.read_metadata(experiment_id)
    assert (record["status"], record["reason"], record["ended_at"]) == (
        "failed",
        "NODE_FAIL: its node failed",
        ended,
    )
    assert record["duration_s"] == 300.0


def test_a_member_cancelled_while_pending_never_started(store: Store) -> None:
    experiment_id = member(store, status="queued")

    settled(store, experiment_id, TaskState("CANCELLED"))

    record = store.read_metadata(experiment_id)
    assert (record["status"], record["reason"]) == (
        "cancelled",
        "CANCELLED: cancelled in Slurm before it started",
    )


def test_a_task_that_failed_before_its_member_started_points_at_its_output(
    store: Store,
) -> None:
    experiment_id = member(store, status="queued")

    settled(store, experiment_id, TaskState("FAILED", "NonZeroExitCode"))

    output = store.root / ".slurm" / "5e0c1a2b" / "task-3.out"
    assert store.read_metadata(experiment_id)["reason"] == (
        f"FAILED: the Slurm task ended without running it (see {output})"
    )


def test_a_pending_task_keeps_its_member_queued(store: Store) -> None:
    experiment_id = member(store, status="queued")

    assert not settled(store, experiment_id, TaskState("PENDING", "Priority"))
    assert judged(store, experiment_id) == "queued"


def test_a_started_member_pending_again_was_requeued(store: Store) -> None:
    experiment_id = member(store, **started(status="running"))

    settled(store, experiment_id, TaskState("PENDING", "BeginTime", 1))

    record = store.read_metadata(experiment_id)
    assert (record["status"], record["reason"], record["started_at"]) == (
        "queued",
        "requeued by Slurm; it resumes when Slurm starts it again",
        started()["started_at"],
    )


def test_a_member_slurm_no_longer_knows_reads_lost(store: Store) -> None:
    experiment_id = member(store, **started(status="running"))

    settled(store, experiment_id, None)

    experiment = Experiment(store, experiment_id)
    assert (experiment.status, experiment.status_reason) == (
        "lost",
        "Slurm no longer knows task 812_3, and no end was recorded",
    )


def test_an_end_slurm_can_add_nothing_to_is_only_marked_settled(
    store: Store,
) -> None:
    experiment_id = member(
        store, **started(status="failed", exit_code=3, reason="exit code 3")
    )

    settled(store, experiment_id, TaskState("FAILED", "NonZeroExitCode"))

    record = store.read_metadata(experiment_id)
    assert (record["status"], record["reason"]) == ("failed", "exit code 3")
    assert record["slurm"]["settled"] is True


def test_a_record_changed_since_it_was_read_is_left_to_its_writer(
    store: Store,
) -> None:
    experiment_id = member(store, **started(status="running"))
    read_before = store.read_metadata(experiment_id)
    lifecycle.mark_finished(store, experiment_id, "completed", 0)

    changed = apply(store, experiment_id, read_before, TaskState("CANCELLED"))

    assert not changed
    assert store.read_metadata(experiment_id)["status"] == "completed"


def test_a_queued_member_is_not_lost_when_its_submitter_is_gone(
    store: Store,
) -> None:
    experiment_id = member(store, status="queued")

    assert judged(store, experiment_id) == "queued"


def test_a_submission_that_never_reached_slurm_reads_lost(store: Store) -> None:
    experiment_id = store.create(ExperimentSpec(params={}), status="queued")
    finished = subprocess.Popen(["true"])
    finished.wait()
    submitter = {**host.runner_identity(), "pid": finished.pid, "start_ticks": 1}
    store.update_metadata(experiment_id, lambda m: m.update(runner=submitter))

    experiment = Experiment(store, experiment_id)
    assert (experiment.status, experiment.status_reason) == (
        "lost",
        f"its runner (pid {finished.pid} on this host) is gone",
    )


def test_a_requeued_member_whose_restart_failed_is_failed(store: Store) -> None:
    experiment_id = member(
        store, **started(status="queued", reason="requeued by Slurm")
    )

    settled(store, experiment_id, TaskState("FAILED", "NonZeroExitCode"))

    record = store.read_metadata(experiment_id)
    assert (record["status"], record["reason"]) == (
        "failed",
        "FAILED: the Slurm task failed",
    )
