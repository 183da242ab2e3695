"""Slurm's own commands, run and read: the one place yanex talks to Slurm.

yanex keeps no daemon and no connection: it submits with ``sbatch``, asks
``squeue`` (and ``sacct`` where the cluster keeps accounting) what became of
tasks, and cancels with ``scancel``. Each is a short subprocess in a session
of its own, so a Ctrl-C meant for yanex never kills one half-way.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from yanex import diagnostics
from yanex.errors import SlurmError

logger = diagnostics.get_logger(__name__)

#: Seconds to wait for a submission or a cancellation.
COMMAND_TIMEOUT = 60.0
#: Seconds to wait for squeue or sacct before answering without them.
QUERY_TIMEOUT = 20.0

_SQUEUE_FIELDS = "JobArrayID:|,State:|,Reason:|,RestartCnt:|,EndTime:|"
_UNKNOWN_JOB = "Invalid job id specified"


def require(name: str) -> str:
    """The path of one of Slurm's commands, or a clear error."""
    path = shutil.which(name)
    if path is None:
        raise SlurmError(
            f"{name} is not on PATH: run this where Slurm's commands are installed"
            " (e.g. a login node)"
        )
    return path


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str] | None:
    """Run a command to completion; None when it could not run in time."""
    logger.debug("running %s", " ".join(argv))
    try:
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        logger.debug("%s did not answer: %s", argv[0], error)
        return None


def error_line(stderr: str) -> str:
    """Slurm's complaint on one line, without the command's own prefixes."""
    messages: list[str] = []
    for line in stderr.splitlines():
        text = line.strip()
        for prefix in ("sbatch: error: ", "scancel: error: ", "error: "):
            text = text.removeprefix(prefix)
        text = text.removeprefix("Batch job submission failed: ")
        if text and text not in messages:
            messages.append(text)
    return "; ".join(messages)


def submit(arguments: Sequence[str], script: str) -> str:
    """Submit ``script`` with sbatch ``arguments``; returns the job id."""
    command = [require("sbatch"), "--parsable", *arguments, script]
    started = time.perf_counter()
    done = _run(command, COMMAND_TIMEOUT)
    logger.debug("sbatch answered in %.3f s", time.perf_counter() - started)
    if done is None:
        raise SlurmError("sbatch did not answer; the job may or may not exist")
    if done.returncode != 0:
        message = error_line(done.stderr) or f"exit status {done.returncode}"
        raise SlurmError(f"sbatch refused the job: {message}")
    job_id = done.stdout.strip().split(";")[0]
    if not job_id.isdigit():
        raise SlurmError(f"sbatch gave no job id: {done.stdout.strip()!r}")
    return job_id


def cancel(targets: Sequence[str]) -> None:
    """Cancel jobs, arrays or single tasks (``812``, ``812_3``)."""
    if not targets:
        return
    done = _run([require("scancel"), *targets], COMMAND_TIMEOUT)
    if done is None:
        raise SlurmError("scancel did not answer")
    if done.returncode != 0:
        message = error_line(done.stderr) or f"exit status {done.returncode}"
        raise SlurmError(f"scancel refused: {message}")


class TaskState(NamedTuple):
    """What Slurm says about one array task."""

    state: str
    reason: str = ""
    restarts: int = 0
    ended_at: str | None = None


class Account(NamedTuple):
    """Slurm's answer about some jobs' tasks, by task name (``812_3``).

    ``reached`` is False when Slurm could not be asked (no command, no
    answer); a task missing from ``tasks`` of a reached account is one that
    Slurm no longer knows.
    """

    tasks: dict[str, TaskState]
    reached: bool


def task_states(job_ids: Iterable[str]) -> Account:
    """The state of every task of the given array jobs.

    squeue knows jobs until a few minutes after they end (``MinJobAge``);
    tasks it has forgotten are looked up with sacct, which answers only on
    clusters that keep accounting.
    """
    wanted = sorted(set(job_ids), key=int)
    if not wanted:
        return Account({}, True)
    tasks = _squeue(wanted)
    if tasks is None:
        return Account({}, False)
    missing = [job for job in wanted if not _has_tasks(tasks, job)]
    if missing:
        tasks.update(_sacct(missing))
    return Account(tasks, True)


def _has_tasks(tasks: dict[str, TaskState], job_id: str) -> bool:
    prefix = f"{job_id}_"
    return any(name.startswith(prefix) for name in tasks)


def _squeue(job_ids: list[str]) -> dict[str, TaskState] | None:
    squeue = shutil.which("squeue")
    if squeue is None:
        return None
    command = [squeue, "-h", "-r", "-t", "all", "-j", ",".join(job_ids)]
    done = _run([*command, "-O", _SQUEUE_FIELDS], QUERY_TIMEOUT)
    if done is None:
        return None
    if done.returncode != 0:
        # Asked only about jobs it has forgotten, squeue says so and fails.
        return {} if _UNKNOWN_JOB in done.stderr else None
    tasks = {}
    for line in done.stdout.splitlines():
        fields = line.split("|")
        if len(fields) < 5:
            continue
        name, state, reason, restarts, ended = (f.strip() for f in fields[:5])
        known = TaskState(state, reason, _int(restarts), _timestamp(ended))
        for task in expand_tasks(name):
            tasks[task] = known
    return tasks


def expand_tasks(name: str) -> list[str]:
    """Task names from squeue's notation: ``812_3``, or tasks that share a
    state folded into one line, as in ``812_[4-6,9%2]``."""
    job, _, tasks = name.partition("_")
    if not tasks.startswith("["):
        return [name]
    names = []
    for part in tasks.strip("[]").split("%")[0].split(","):
        first, _, last = part.partition("-")
        if not first.isdigit() or not (last or first).isdigit():
            continue
        names += [f"{job}_{i}" for i in range(int(first), int(last or first) + 1)]
    return names


def _sacct(job_ids: list[str]) -> dict[str, TaskState]:
    sacct = shutil.which("sacct")
    if sacct is None:
        return {}
    command = [sacct, "-n", "-P", "-X", "-j", ",".join(job_ids)]
    done = _run([*command, "-o", "JobID,State,Reason,End"], QUERY_TIMEOUT)
    if done is None or done.returncode != 0:
        return {}
    tasks = {}
    for line in done.stdout.splitlines():
        fields = line.split("|")
        if len(fields) < 4:
            continue
        # "CANCELLED by 0": the state is the first word.
        state = fields[1].split(" ")[0] if fields[1] else ""
        known = TaskState(state, fields[2], 0, _timestamp(fields[3]))
        for task in expand_tasks(fields[0]):
            tasks[task] = known
    return tasks


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def _timestamp(text: str) -> str | None:
    """A time Slurm printed (local, without offset) as ISO 8601 in UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
