"""Submitting members as one Slurm job array, and watching it.

1. **Queue.** Each member is claimed for Slurm (``created`` or ``staged``
   to ``queued``, under its lock, so a staged experiment is run once
   however many runners reach for it). A staged one's code state is
   compared with the current one here, on the submitting machine, where
   git is.
2. **Submit.** The members' ids are written, in task order, to a batch
   folder under ``<store>/.slurm/``, and one ``sbatch --array=0-(N-1)%P``
   submits it. Task *i* runs ``python -m yanex.executors.slurm.task`` for
   member *i* (see :mod:`.task`). Each member then records the job id and
   its array index. When sbatch refuses, every member is released to the
   status it had and the batch folder is removed.
3. **Watch** (unless detached). The members' records are followed until
   each has ended, reporting to the same :class:`~yanex.runner.Events` as a
   local run, with ``squeue`` asked now and then for what the records
   cannot tell (see :mod:`.settle`). SIGINT or SIGTERM cancels the array
   with ``scancel`` and records the members not started as cancelled; the
   running ones record their own end. A second signal, or SIGHUP (the
   terminal went away), stops watching and leaves Slurm to it.
"""

from __future__ import annotations

import os
import selectors
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from yanex import diagnostics, layout, lifecycle, liveness, staging
from yanex.errors import SlurmError, YanexError
from yanex.executors.slurm import commands
from yanex.executors.slurm.options import SlurmOptions
from yanex.executors.slurm.record import (
    batch_directory,
    needs_settling,
    slurm_of,
    task_name,
)
from yanex.executors.slurm.settle import settle
from yanex.launch import RunReport
from yanex.runner import Events, Outcome, SignalCatcher
from yanex.store import (
    CREATED,
    FINAL_STATUSES,
    QUEUED,
    RUNNING,
    STAGED,
    Store,
    utc_now,
)

logger = diagnostics.get_logger(__name__)

MEMBERS_FILE = "members"
TASK_SCRIPT = "task.sh"

#: Seconds between looks at the members' records while watching.
POLL_SECONDS = 0.5
#: Seconds between questions to Slurm while watching, and when an answer
#: is awaited (after cancelling, or for a member that ended by a signal).
SETTLE_SECONDS = 5.0
SOON_SETTLE_SECONDS = 1.0
#: Seconds to wait, after cancelling, for running members to record
#: their end before watching stops anyway.
CANCEL_WAIT_SECONDS = 90.0
#: Seconds a member that ended by a signal waits to be reported, for Slurm
#: to say whether that signal was its time limit, a cancellation...
VERDICT_WAIT_SECONDS = 15.0


class Submission(NamedTuple):
    """A submitted array: its job id, batch and members in task order."""

    job_id: str
    batch: str
    ids: list[str]
    #: Staged experiments another runner had taken first.
    skipped: list[str]


class SlurmExecutor:
    """Runs experiments as one Slurm job array and, unless detached,
    watches it to the end."""

    name = "slurm"

    def __init__(
        self,
        options: SlurmOptions | None = None,
        detach: bool = False,
        on_submitted: Callable[[Submission], None] | None = None,
    ) -> None:
        self.options = options or SlurmOptions()
        self.detach = detach
        self.on_submitted = on_submitted
        self.submission: Submission | None = None

    def check(self) -> None:
        """Fail before anything is recorded when sbatch is not here."""
        commands.require("sbatch")

    def run(
        self,
        store: Store,
        ids: Sequence[str],
        parallel: int,
        events: Events | None = None,
    ) -> RunReport:
        """Submit ``ids`` as one array, at most ``parallel`` (0: any number)
        running at once, and watch them unless detached."""
        selector = selectors.DefaultSelector()
        try:
            with SignalCatcher(selector) as catcher:
                submission = submit(store, ids, parallel, self.options, events)
                self.submission = submission
                if self.on_submitted is not None:
                    self.on_submitted(submission)
                if not submission.ids or (self.detach and not catcher.received):
                    return RunReport([], None, submission.skipped)
                watch = _Watch(store, submission, events, catcher, selector)
                return watch.run()
        finally:
            selector.close()


def submit(
    store: Store,
    ids: Sequence[str],
    parallel: int,
    options: SlurmOptions,
    events: Events | None = None,
) -> Submission:
    """Queue the members and submit them as one throttled job array."""
    commands.require("sbatch")
    claims, skipped = _queue(store, ids, events)
    if not claims:
        return Submission("", "", [], skipped)
    queued = [claim.experiment_id for claim in claims]
    batch = layout.new_id()
    directory = batch_directory(store, batch)
    try:
        _write_batch(store, directory, queued)
        arguments = _array_arguments(directory, len(queued), parallel, batch)
        job_id = commands.submit(
            [*arguments, *options.sbatch_arguments()], str(directory / TASK_SCRIPT)
        )
    except BaseException:
        _release(store, claims)
        shutil.rmtree(directory, ignore_errors=True)
        raise
    _record_job(store, queued, job_id, batch)
    return Submission(job_id, batch, queued, skipped)


class _Claim(NamedTuple):
    experiment_id: str
    status: str
    runner: Any


def _queue(
    store: Store, ids: Sequence[str], events: Events | None
) -> tuple[list[_Claim], list[str]]:
    """Claim each member for Slurm; returns the claims and the ids skipped."""
    claims: list[_Claim] = []
    skipped: list[str] = []
    code_states: dict[str, Any] = {}
    try:
        for experiment_id in ids:
            metadata = store.read_metadata(experiment_id)
            extra, note = _code_check(store, metadata, code_states)
            take_over = partial(staging.is_abandoned, store, experiment_id)
            claimed = lifecycle.mark_queued(
                store, experiment_id, (CREATED, STAGED), take_over, **extra
            )
            if claimed is None:
                skipped.append(experiment_id)
                continue
            claims.append(
                _Claim(experiment_id, str(metadata["status"]), metadata.get("runner"))
            )
            if note is not None and events is not None:
                events.note(experiment_id, note)
    except BaseException:
        _release(store, claims)
        raise
    return claims, skipped


def _code_check(
    store: Store, metadata: dict[str, Any], code_states: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """For a staged member, how the code changed since it was staged.

    The code state of each working directory is captured once per batch.
    """
    if metadata.get("status") != STAGED and not metadata.get(staging.WAS_STAGED):
        return {}, None
    from yanex import gitstate

    cwd = str(metadata.get("cwd"))
    if cwd not in code_states:
        try:
            code_states[cwd] = gitstate.capture(cwd)
        except (YanexError, OSError):
            code_states[cwd] = None
    extra, note = staging.compare_code(
        store, str(metadata["id"]), cwd, code_states[cwd]
    )
    return {**extra, staging.WAS_STAGED: True}, note


def _release(store: Store, claims: Sequence[_Claim]) -> None:
    for claim in claims:
        lifecycle.release_queued(store, claim.experiment_id, claim.status, claim.runner)


def _write_batch(store: Store, directory: Path, ids: Sequence[str]) -> None:
    """The batch folder: the members in task order, and the task script."""
    try:
        directory.mkdir(parents=True)
        layout.write_atomic(
            str(directory / MEMBERS_FILE), "".join(f"{i}\n" for i in ids).encode()
        )
        script = directory / TASK_SCRIPT
        layout.write_atomic(str(script), _task_script(store, directory.name).encode())
    except OSError as error:
        raise SlurmError(f"cannot write the batch to {directory}: {error}") from None


def _task_script(store: Store, batch: str) -> str:
    python = shlex.quote(sys.executable)
    root = shlex.quote(str(store.root))
    return (
        "#!/bin/sh\n"
        "# One task of a yanex job array: runs the member at its array index.\n"
        f"exec {python} -m yanex.executors.slurm.task {root} {batch}\n"
    )


def _array_arguments(
    directory: Path, count: int, parallel: int, batch: str
) -> list[str]:
    throttle = f"%{parallel}" if 0 < parallel < count else ""
    return [
        f"--array=0-{count - 1}{throttle}",
        f"--job-name=yanex-{batch}",
        f"--output={directory}/task-%a.out",
        f"--chdir={directory}",
    ]


def _record_job(store: Store, ids: Sequence[str], job_id: str, batch: str) -> None:
    """Write the job id and array index into each member's record."""
    submitted = utc_now()
    for index, experiment_id in enumerate(ids):
        given = {
            "job_id": job_id,
            "array_index": index,
            "batch": batch,
            "submitted_at": submitted,
        }

        def change(metadata: dict[str, Any], given: dict[str, Any] = given) -> None:
            # A task that started first has written the same and more.
            metadata["slurm"] = {**given, **(metadata.get("slurm") or {})}

        store.update_metadata(experiment_id, change)


def cancel(store: Store, ids: Sequence[str], reason: str) -> list[str]:
    """Cancel Slurm members: scancel their tasks, and record the queued
    ones cancelled now (the running ones record their own end).

    Returns the ids whose tasks were cancelled.
    """
    tasks: dict[str, str] = {}
    for experiment_id in ids:
        record = slurm_of(store.read_metadata(experiment_id))
        if record is not None:
            tasks[experiment_id] = task_name(record)
    commands.cancel(sorted(set(tasks.values())))
    for experiment_id in tasks:
        lifecycle.mark_not_started(store, experiment_id, reason, expect=(QUEUED,))
    return list(tasks)


class _Watch:
    """Follows the members of one submission until each has ended."""

    def __init__(
        self,
        store: Store,
        submission: Submission,
        events: Events | None,
        catcher: SignalCatcher,
        selector: selectors.BaseSelector,
    ) -> None:
        self.store = store
        self.submission = submission
        self.events = events
        self.catcher = catcher
        self.selector = selector
        self.outcomes: dict[str, Outcome] = {}
        self.started: set[str] = set()
        self.tokens: dict[str, tuple[int, int, int]] = {}
        #: Members ended by a signal, awaiting Slurm's verdict, and since when.
        self.awaiting: dict[str, float] = {}
        self.cancelled_by: int | None = None
        self.stop = False
        self.cancel_deadline: float | None = None
        self.next_settle = time.monotonic() + SETTLE_SECONDS

    def run(self) -> RunReport:
        while len(self.outcomes) < len(self.submission.ids) and not self.stop:
            self._handle_signals()
            self._settle_now_and_then()
            self._read_changes()
            if self.events is not None:
                self.events.tick()
            self._wait()
        outcomes = [
            self.outcomes.get(i) or self._unfinished(i) for i in self.submission.ids
        ]
        return RunReport(outcomes, self.cancelled_by, self.submission.skipped)

    def _handle_signals(self) -> None:
        while self.catcher.received:
            signum = self.catcher.received.pop(0)
            if signum == signal.SIGHUP or self.cancelled_by is not None:
                logger.debug("signal %s: watching stops, Slurm carries on", signum)
                self.stop = True
                continue
            self.cancelled_by = signum
            self._cancel(signum)

    def _cancel(self, signum: int) -> None:
        name = signal.Signals(signum).name
        try:
            commands.cancel([self.submission.job_id])
        except SlurmError as error:
            if self.events is not None:
                self.events.note(self.submission.ids[0], str(error))
        reason = f"not started: cancelled by {name}"
        for experiment_id in self.submission.ids:
            lifecycle.mark_not_started(
                self.store, experiment_id, reason, expect=(QUEUED,)
            )
        self.cancel_deadline = time.monotonic() + CANCEL_WAIT_SECONDS
        self.next_settle = time.monotonic() + SOON_SETTLE_SECONDS

    def _settle_now_and_then(self) -> None:
        now = time.monotonic()
        if self.cancel_deadline is not None and now > self.cancel_deadline:
            self.stop = True
        if now < self.next_settle:
            return
        pending = [i for i in self.submission.ids if i not in self.outcomes]
        settle(self.store, pending)
        hurry = self.cancel_deadline is not None or self.awaiting
        interval = SOON_SETTLE_SECONDS if hurry else SETTLE_SECONDS
        self.next_settle = time.monotonic() + interval

    def _read_changes(self) -> None:
        for experiment_id in self.submission.ids:
            if experiment_id in self.outcomes:
                continue
            if (
                not self._has_changed(experiment_id)
                and experiment_id not in self.awaiting
            ):
                continue
            try:
                metadata = self.store.read_metadata(experiment_id)
            except YanexError as error:
                logger.debug("cannot read %s: %s", experiment_id, error)
                continue
            self._report(experiment_id, metadata)

    def _has_changed(self, experiment_id: str) -> bool:
        path = self.store.file(experiment_id, layout.METADATA_FILE)
        try:
            info = os.stat(path)
        except OSError:
            return False
        token = (info.st_ino, info.st_mtime_ns, info.st_size)
        if self.tokens.get(experiment_id) == token:
            return False
        self.tokens[experiment_id] = token
        return True

    def _report(self, experiment_id: str, metadata: dict[str, Any]) -> None:
        status = metadata.get("status")
        # A short member may end between two looks: its start still counts.
        ran = status == RUNNING or metadata.get("started_at")
        if ran and experiment_id not in self.started:
            self.started.add(experiment_id)
            if self.events is not None:
                self.events.started(experiment_id)
        outcome = None
        if status in FINAL_STATUSES:
            if not self._awaits_verdict(experiment_id, metadata):
                outcome = outcome_of(metadata)
        elif (slurm_of(metadata) or {}).get("gone"):
            verdict = liveness.judge(metadata, None)
            outcome = Outcome(experiment_id, verdict.status, reason=verdict.reason)
        if outcome is not None:
            self.outcomes[experiment_id] = outcome
            if self.events is not None:
                self.events.finished(outcome)

    def _awaits_verdict(self, experiment_id: str, metadata: dict[str, Any]) -> bool:
        """Whether Slurm may yet explain how this member ended."""
        if not needs_settling(str(metadata.get("status")), slurm_of(metadata)):
            self.awaiting.pop(experiment_id, None)
            return False
        now = time.monotonic()
        if experiment_id not in self.awaiting:
            self.awaiting[experiment_id] = now
            self.next_settle = min(self.next_settle, now + SOON_SETTLE_SECONDS)
        return now - self.awaiting[experiment_id] < VERDICT_WAIT_SECONDS

    def _unfinished(self, experiment_id: str) -> Outcome:
        try:
            metadata = self.store.read_metadata(experiment_id)
        except YanexError:
            return Outcome(experiment_id, QUEUED)
        return outcome_of(metadata)

    def _wait(self) -> None:
        if len(self.outcomes) >= len(self.submission.ids) or self.stop:
            return
        for key, _ in self.selector.select(POLL_SECONDS):
            if key.data is None:
                self.catcher.drain()


def outcome_of(metadata: dict[str, Any]) -> Outcome:
    """An outcome as a member's record tells it."""
    summary = metadata.get("metrics_summary") or {}
    return Outcome(
        str(metadata.get("id")),
        str(metadata.get("status")),
        metadata.get("exit_code"),
        metadata.get("reason"),
        metadata.get("duration_s"),
        summary.get("final") or {},
    )
