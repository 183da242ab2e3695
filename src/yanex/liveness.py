"""Whether an experiment recorded as in progress still has a runner.

A record says ``running`` (or ``created``, for a member waiting its turn)
until its runner writes the end. A runner killed with SIGKILL, or whose
machine died, never does, so readers judge instead of trusting the record:

- recorded on this host since its last boot: the runner is alive if the
  process with the recorded pid exists *and* started at the recorded clock
  tick (so a recycled pid is not mistaken for it);
- recorded elsewhere: a running experiment is alive while its heartbeat
  (touched every 10 s) is younger than :func:`heartbeat_timeout`, counted
  from the start when there is no beat yet. A waiting member on another
  host cannot be judged and keeps its recorded status.

An experiment ``queued`` in Slurm waits for Slurm, not for a process of
ours, so it stays queued; readers first bring Slurm members' records up to
date with Slurm itself (see :mod:`yanex.executors.slurm.settle`). Only a
queued experiment whose submission never reached Slurm is judged by its
submitter, and one that Slurm no longer knows while yanex recorded no end
reads ``lost``.

An experiment judged dead reads back as ``lost``, with the reason, wherever
it is shown; the record itself is left as written.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any, NamedTuple

from yanex import host
from yanex.store import CREATED, LOST, QUEUED, RUNNING

#: Seconds without a heartbeat after which a runner on another host is
#: presumed dead, unless ``YANEX_HEARTBEAT_TIMEOUT`` says otherwise.
DEFAULT_HEARTBEAT_TIMEOUT = 120.0


class Verdict(NamedTuple):
    """An experiment's status as it truly is, and why when it differs."""

    status: str
    reason: str | None = None


def heartbeat_timeout() -> float:
    """The heartbeat age beyond which a remote runner counts as dead."""
    try:
        return float(os.environ.get("YANEX_HEARTBEAT_TIMEOUT", ""))
    except ValueError:
        return DEFAULT_HEARTBEAT_TIMEOUT


def judge(metadata: dict[str, Any], heartbeat_mtime: float | None) -> Verdict:
    """The truthful status of an experiment from its metadata and heartbeat."""
    recorded = str(metadata.get("status") or "")
    runner = metadata.get("runner")
    slurm = metadata.get("slurm")
    if isinstance(slurm, dict) and slurm.get("job_id"):
        verdict = _judge_slurm(recorded, slurm)
        if verdict is not None:
            return verdict
    if not needs_judging(recorded) or not isinstance(runner, dict):
        return Verdict(recorded, None)
    if host.is_same_boot(runner):
        if host.is_process_alive(runner):
            return Verdict(recorded, None)
        pid = runner.get("pid")
        return Verdict(LOST, f"its runner (pid {pid} on this host) is gone")
    if recorded != RUNNING:
        return Verdict(recorded, None)
    return _judge_remote(metadata, runner, heartbeat_mtime)


def _judge_slurm(recorded: str, slurm: dict[str, Any]) -> Verdict | None:
    """The verdict on a Slurm member, or None to judge its runner as usual."""
    if recorded not in (QUEUED, RUNNING):
        return None
    if slurm.get("gone"):
        task = f"{slurm.get('job_id')}_{slurm.get('array_index')}"
        return Verdict(
            LOST, f"Slurm no longer knows task {task}, and no end was recorded"
        )
    if recorded == QUEUED:
        return Verdict(QUEUED, None)
    return None


def _judge_remote(
    metadata: dict[str, Any], runner: dict[str, Any], heartbeat_mtime: float | None
) -> Verdict:
    last_sign = heartbeat_mtime
    started = _timestamp(metadata.get("started_at"))
    if last_sign is None or (started is not None and started > last_sign):
        last_sign = started
    if last_sign is None:
        return Verdict(RUNNING, None)
    silence = datetime.now(UTC).timestamp() - last_sign
    timeout = heartbeat_timeout()
    if silence <= timeout:
        return Verdict(RUNNING, None)
    where = runner.get("host") or "another host"
    return Verdict(LOST, f"no heartbeat from {where} for {silence:.0f} s")


def _timestamp(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def needs_judging(status: str) -> bool:
    """Whether a recorded status could be hiding a lost experiment."""
    return status in (CREATED, QUEUED, RUNNING)
