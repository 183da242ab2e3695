"""Running a batch of experiments on a Slurm cluster as one job array.

yanex drives Slurm through its own commands and keeps no daemon:

1. **submit**: the members, recorded ``staged``, are listed in a batch file
   under ``<store>/.slurm/<batch>/``, and one ``sbatch --array=0-(N-1)%P``
   submits a job whose task *i* runs ``python -m yanex.executors.task`` for
   the *i*-th member. Each member is then recorded ``queued`` with the job
   id and its array index.
2. **run**: the task claims its member (``queued`` to ``running``) and runs it
   through the same supervisor as a local run: same capture, heartbeat and
   final record. A requeued task (``--slurm-requeue``) resumes the same
   experiment and counts a restart.
3. **watch**: unless detached, yanex follows the members' records and
   ``squeue`` until every member has ended, drawing the same progress as a
   local sweep. Ctrl-C cancels the array with ``scancel``.
4. **reconcile**: a task Slurm killed before yanex could write its end
   (time limit, memory, node failure, cancelled while pending) is recorded
   from Slurm's own account (``squeue``, or ``sacct`` where accounting
   exists), e.g. ``failed: TIMEOUT``. ``yanex list`` reconciles too.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from yanex import diagnostics, layout, lifecycle
from yanex.errors import UsageError, YanexError
from yanex.launch import RunReport
from yanex.runner import Events, Outcome
from yanex.store import (
    CANCELLED,
    COMPLETED,
    FAILED,
    FINAL_STATUSES,
    QUEUED,
    RUNNING,
    STAGED,
    Store,
)

logger = diagnostics.get_logger(__name__)

BATCH_DIR = ".slurm"
_POLL_SECONDS = 1.0
_CANCEL_WAIT_SECONDS = 30.0

#: Slurm job states that mean a task has ended, and the status they give.
_ENDED = {
    "COMPLETED": COMPLETED,
    "FAILED": FAILED,
    "TIMEOUT": FAILED,
    "OUT_OF_MEMORY": FAILED,
    "NODE_FAIL": FAILED,
    "BOOT_FAIL": FAILED,
    "DEADLINE": FAILED,
    "PREEMPTED": CANCELLED,
    "CANCELLED": CANCELLED,
}
#: States in which Slurm itself ended a task, overriding what yanex saw.
_SLURM_VERDICTS = {"TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE"}

# Where compute nodes are unlikely to see the same files as the login node.
_LOCAL_ONLY = ("/tmp", "/var/tmp", "/dev/shm", "/run")


class SlurmError(YanexError):
    """Slurm is missing, or refused what yanex asked of it."""


class SlurmOptions(NamedTuple):
    """Resources for every task of the array, in sbatch's terms."""

    partition: str | None = None
    time: str | None = None
    gpus: int | None = None
    cpus: int | None = None
    mem: str | None = None
    account: str | None = None
    qos: str | None = None
    extra: Sequence[str] = ()
    requeue: bool = False

    def sbatch_arguments(self) -> list[str]:
        """The sbatch options these settings stand for."""
        mapping = [
            ("--partition", self.partition),
            ("--time", self.time),
            ("--gpus-per-task", self.gpus),
            ("--cpus-per-task", self.cpus),
            ("--mem", self.mem),
            ("--account", self.account),
            ("--qos", self.qos),
        ]
        arguments = [f"{flag}={value}" for flag, value in mapping if value is not None]
        arguments.append("--requeue" if self.requeue else "--no-requeue")
        return arguments + list(self.extra)

    def merged_over(self, defaults: Mapping[str, Any]) -> SlurmOptions:
        """These options, with ``defaults`` filling what was not given."""
        known = set(self._fields)
        unknown = sorted(set(defaults) - known)
        if unknown:
            raise UsageError(
                f"unknown slurm default(s) in yanex.yaml: {', '.join(unknown)}"
            )
        values = {name: getattr(self, name) for name in self._fields}
        for name, value in defaults.items():
            if values[name] in (None, (), False):
                values[name] = list(value) if name == "extra" else value
        return SlurmOptions(**values)


def project_defaults(cwd: str) -> dict[str, Any]:
    """The ``slurm:`` section of ``yanex.yaml`` in ``cwd``, if any."""
    from yanex import values

    path = Path(cwd) / "yanex.yaml"
    if not path.is_file():
        return {}
    document = values.load_yaml(path.read_text(encoding="utf-8"), str(path)) or {}
    section = document.get("slurm") if isinstance(document, dict) else None
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise UsageError(f"{path}: 'slurm' must be a mapping of sbatch settings")
    return section


def store_warning(store: Store) -> str | None:
    """A warning when the store is on a path compute nodes may not see."""
    root = str(store.root.resolve())
    for prefix in _LOCAL_ONLY:
        if root == prefix or root.startswith(prefix + os.sep):
            return (
                f"the store {root} is under {prefix}, which compute nodes usually"
                " do not share; set YANEX_EXPERIMENTS_DIR to a shared filesystem"
            )
    return None


class Submission(NamedTuple):
    """A submitted array: its job id and the members in task order."""

    job_id: str
    batch: Path
    ids: list[str]


class SlurmExecutor:
    """Submits experiments as one job array and, unless detached, watches it."""

    name = "slurm"

    def __init__(
        self, options: SlurmOptions | None = None, detach: bool = False
    ) -> None:
        self.options = options or SlurmOptions()
        self.detach = detach
        self.submission: Submission | None = None

    def run(
        self,
        store: Store,
        ids: Sequence[str],
        parallel: int,
        events: Events | None = None,
    ) -> RunReport:
        submission = submit(store, ids, parallel, self.options)
        self.submission = submission
        if self.detach:
            return RunReport([], None, [])
        return watch(store, submission, events)


def submit(
    store: Store, ids: Sequence[str], parallel: int, options: SlurmOptions
) -> Submission:
    """Submit ``ids`` (recorded ``staged``) as one throttled job array."""
    sbatch = _command("sbatch")
    batch = store.root / BATCH_DIR / layout.new_id()
    batch.mkdir(parents=True)
    (batch / "ids").write_text("".join(f"{i}\n" for i in ids))
    script = batch / "task.sh"
    script.write_text(_task_script(store, batch))
    throttle = f"%{parallel}" if parallel > 0 else ""
    command = [
        sbatch, "--parsable", f"--array=0-{len(ids) - 1}{throttle}",
        f"--job-name=yanex-{batch.name}", f"--output={batch}/task-%a.out",
        *options.sbatch_arguments(), str(script),
    ]  # fmt: skip
    logger.debug("submitting: %s", shlex.join(command))
    done = subprocess.run(
        command, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if done.returncode != 0:
        shutil.rmtree(batch, ignore_errors=True)
        message = _first_line(done.stderr) or f"exit status {done.returncode}"
        raise SlurmError(f"sbatch refused the job: {message}")
    job_id = done.stdout.strip().split(";")[0]
    for index, experiment_id in enumerate(ids):
        _mark_queued(store, experiment_id, job_id, index, batch.name)
    return Submission(job_id, batch, list(ids))


def _task_script(store: Store, batch: Path) -> str:
    python = shlex.quote(sys.executable)
    return (
        "#!/bin/sh\n"
        "# One task of a yanex job array: runs the member at this array index.\n"
        f"exec {python} -m yanex.executors.task {shlex.quote(str(store.root))}"
        f" {shlex.quote(str(batch / 'ids'))}\n"
    )


def _mark_queued(
    store: Store, experiment_id: str, job_id: str, index: int, batch: str
) -> None:
    slurm = {"job_id": job_id, "array_index": index, "batch": batch}

    def change(metadata: dict[str, Any]) -> bool | None:
        metadata["slurm"] = {**slurm, **(metadata.get("slurm") or {})}
        if metadata.get("status") == STAGED:
            metadata["status"] = QUEUED
        return None

    store.update_metadata(experiment_id, change)


def _command(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SlurmError(f"{name} is not on PATH: run this where Slurm's commands are")
    return path


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0].removeprefix("sbatch: error: ") if lines else ""


# Watching.


class _Cancel:
    """Notes SIGINT/SIGTERM while watching, restoring the handlers after."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Cancel:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._note)
        return self

    def _note(self, signum: int, frame: Any) -> None:
        self.signal = self.signal or signum

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def watch(
    store: Store, submission: Submission, events: Events | None = None
) -> RunReport:
    """Follow an array until every member has ended; Ctrl-C cancels it."""
    seen_running: set[str] = set()
    outcomes: dict[str, Outcome] = {}
    cancel_deadline: float | None = None
    with _Cancel() as cancel:
        while len(outcomes) < len(submission.ids):
            if cancel.signal is not None and cancel_deadline is None:
                cancel_job(submission.job_id)
                cancel_deadline = time.monotonic() + _CANCEL_WAIT_SECONDS
            reconcile(store, submission.ids)
            _report_changes(store, submission.ids, seen_running, outcomes, events)
            if cancel_deadline is not None and time.monotonic() > cancel_deadline:
                _give_up(store, submission.ids, outcomes, events)
            if events is not None:
                events.tick()
            if len(outcomes) < len(submission.ids):
                time.sleep(_POLL_SECONDS)
    ordered = [outcomes[i] for i in submission.ids]
    return RunReport(ordered, cancel.signal, [])


def _report_changes(
    store: Store,
    ids: Sequence[str],
    seen_running: set[str],
    outcomes: dict[str, Outcome],
    events: Events | None,
) -> None:
    for experiment_id in ids:
        if experiment_id in outcomes:
            continue
        metadata = store.read_metadata(experiment_id)
        status = metadata.get("status")
        if status == RUNNING and experiment_id not in seen_running:
            seen_running.add(experiment_id)
            if events is not None:
                events.started(experiment_id)
        if status in FINAL_STATUSES:
            if experiment_id not in seen_running and events is not None:
                events.started(experiment_id)
            outcome = outcome_of(metadata)
            outcomes[experiment_id] = outcome
            if events is not None:
                events.finished(outcome)


def _give_up(
    store: Store,
    ids: Sequence[str],
    outcomes: dict[str, Outcome],
    events: Events | None,
) -> None:
    for experiment_id in ids:
        if experiment_id not in outcomes:
            metadata = lifecycle.mark_finished(
                store,
                experiment_id,
                CANCELLED,
                reason="cancelled: no answer from Slurm",
            )
            outcomes[experiment_id] = outcome_of(metadata)
            if events is not None:
                events.finished(outcomes[experiment_id])


def outcome_of(metadata: dict[str, Any]) -> Outcome:
    """An outcome as the final record tells it."""
    summary = metadata.get("metrics_summary") or {}
    return Outcome(
        str(metadata.get("id")),
        str(metadata.get("status")),
        metadata.get("exit_code"),
        metadata.get("reason"),
        metadata.get("duration_s"),
        summary.get("final") or {},
    )


def cancel_job(job: str) -> None:
    """Cancel a job, an array or one task of it (``123``, ``123_4``)."""
    done = subprocess.run(
        [_command("scancel"), job],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise SlurmError(f"scancel {job} failed: {_first_line(done.stderr)}")


# Reconciling records with Slurm's own account.


def task_states(job_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Slurm's state and reason of every task, keyed ``<job>_<index>``."""
    wanted = sorted(set(job_ids))
    if not wanted or shutil.which("squeue") is None:
        return {}
    states: dict[str, tuple[str, str]] = {}
    done = subprocess.run(
        ["squeue", "-h", "-r", "-t", "all", "-j", ",".join(wanted), "-o", "%i|%T|%r"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if done.returncode == 0:
        for line in done.stdout.splitlines():
            task, _, rest = line.strip().partition("|")
            state, _, reason = rest.partition("|")
            states[task] = (state, reason)
    missing = [
        job for job in wanted if not any(t.startswith(f"{job}_") for t in states)
    ]
    if missing:
        states.update(_sacct_states(missing))
    return states


def _sacct_states(job_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    if shutil.which("sacct") is None:
        return {}
    done = subprocess.run(
        ["sacct", "-n", "-P", "-X", "-j", ",".join(job_ids), "-o", "JobID,State"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if done.returncode != 0:
        return {}
    states = {}
    for line in done.stdout.splitlines():
        task, _, state = line.partition("|")
        states[task] = (state.split()[0] if state else "", "")
    return states


def reconcile(store: Store, ids: Sequence[str]) -> list[str]:
    """Record what Slurm did that yanex could not; returns changed ids.

    Records not final yet, and failed or cancelled ones (which may hide a
    time limit or memory kill) not checked yet, are compared with Slurm's
    state of their task.
    """
    pending = {}
    for experiment_id in ids:
        metadata = store.read_metadata(experiment_id)
        slurm = metadata.get("slurm")
        if isinstance(slurm, dict) and _may_need_reconciling(metadata):
            pending[experiment_id] = (metadata, slurm)
    if not pending:
        return []
    states = task_states(str(slurm["job_id"]) for _, slurm in pending.values())
    changed = []
    for experiment_id, (metadata, slurm) in pending.items():
        state = states.get(f"{slurm['job_id']}_{slurm['array_index']}", ("", ""))[0]
        if _apply(store, experiment_id, metadata, state.split(" ")[0]):
            changed.append(experiment_id)
    return changed


def _may_need_reconciling(metadata: dict[str, Any]) -> bool:
    status = metadata.get("status")
    if status not in FINAL_STATUSES:
        return True
    checked = (metadata.get("slurm") or {}).get("reconciled")
    return status in (FAILED, CANCELLED) and not checked


def _apply(
    store: Store, experiment_id: str, metadata: dict[str, Any], state: str
) -> bool:
    """Bring one record in line with Slurm's ``state``; True if it changed."""
    status = metadata.get("status")
    is_final = status in FINAL_STATUSES
    if state in _SLURM_VERDICTS:
        lifecycle.mark_finished(
            store, experiment_id, FAILED, metadata.get("exit_code"), f"failed: {state}"
        )
        _note_reconciled(store, experiment_id)
        return True
    if state not in _ENDED:
        if is_final and not state:
            _note_reconciled(store, experiment_id)
        return False
    if is_final:
        _note_reconciled(store, experiment_id)
        return False
    final = _ENDED[state]
    reason = (
        "cancelled by Slurm"
        if final == CANCELLED
        else f"ended as {state} in Slurm before yanex recorded its end"
    )
    lifecycle.mark_finished(
        store, experiment_id, final, metadata.get("exit_code"), reason
    )
    _note_reconciled(store, experiment_id)
    return True


def _note_reconciled(store: Store, experiment_id: str) -> None:
    def change(metadata: dict[str, Any]) -> None:
        metadata["slurm"] = {**(metadata.get("slurm") or {}), "reconciled": True}

    store.update_metadata(experiment_id, change)
