"""Running experiment scripts: start, capture, forward signals, record the end.

A :class:`Supervisor` runs any number of experiments, at most ``parallel``
at a time, from one ``select`` loop in the calling process; there are no
threads. For each experiment it

1. starts the script with the interpreter running yanex, in its own
   process group, with the experiment directory in ``YANEX_EXPERIMENT_DIR``,
   and records the experiment ``running`` (with this process's identity, so
   a later reader can tell if the runner died); a staged experiment, which
   other runners may reach for too, is claimed before its script starts;
2. copies the script's stdout and stderr, byte for byte and in bounded
   chunks, to ``stdout.log``/``stderr.log`` and, when echoing, to the
   terminal;
3. touches the heartbeat while the script runs;
4. when the script ends, stops whatever it left behind in its process group
   and writes the final record, after starting the next script if one
   waits, so that records are written while that script starts up.

SIGINT, SIGTERM and SIGHUP cancel the run: each running script's process
group receives SIGINT (for SIGINT) or SIGTERM, and SIGKILL once a grace period
has passed or at a second signal; experiments not yet started are recorded as
cancelled without starting. The script is started so that the kernel kills
it if the runner itself dies.

Processes a script started outside its process group (a child that called
``setsid``, a double-forked daemon) are found through :mod:`yanex.processes`
and signalled with the group, so none outlives its experiment: they are
stopped when the script ends or is cancelled, and whatever is left when the
batch ends is killed then.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from yanex import diagnostics, layout, lifecycle, processes
from yanex.errors import StoreError
from yanex.store import (
    CANCELLED,
    COMPLETED,
    CREATED,
    FAILED,
    STAGED,
    Store,
    is_disk_full,
    utc_now,
)

logger = diagnostics.get_logger(__name__)

#: Seconds between SIGTERM/SIGINT and SIGKILL when a run is cancelled.
DEFAULT_GRACE = 5.0
#: Seconds between heartbeats of a running experiment.
HEARTBEAT_INTERVAL = 10.0
#: Seconds to wait, after a script exits, for processes it left to let go of
#: its output pipes.
_DRAIN_SECONDS = 2.0
_LEFTOVER_KILL_SECONDS = 1.0
_CHUNK = 1 << 16
_TAIL_BYTES = 4096
_TAIL_LINES = 20

_CANCEL_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Launch(NamedTuple):
    """One experiment to run: its id and the command that runs its script.

    The experiment starts only if its status is still one of ``expect`` when
    the runner claims it, or if ``take_over`` accepts its record then;
    ``observe``, if given, is called just before and returns extra fields
    for the running record and a note for the user.
    """

    experiment_id: str
    argv: list[str]
    cwd: str
    env: Mapping[str, str] = MappingProxyType({})
    expect: tuple[str, ...] = (CREATED,)
    observe: Callable[[], tuple[dict[str, Any], str | None]] | None = None
    take_over: Callable[[dict[str, Any]], bool] | None = None


class Outcome(NamedTuple):
    """How one experiment ended."""

    experiment_id: str
    status: str
    exit_code: int | None = None
    reason: str | None = None
    duration_s: float | None = None
    final_metrics: Mapping[str, Any] = MappingProxyType({})


class Events(Protocol):
    """What a supervisor reports while it works, e.g. to a progress display."""

    def started(self, experiment_id: str) -> None: ...

    def finished(self, outcome: Outcome) -> None: ...

    def tick(self) -> None: ...

    def note(self, experiment_id: str, message: str) -> None: ...


class _Stream:
    """One output pipe of a script and where its bytes go."""

    def __init__(self, pipe: int, capture: int, echo: int | None, tail: bool) -> None:
        self.pipe = pipe
        self.capture = capture
        self.echo = echo
        self.tail = bytearray() if tail else None
        self.capture_error: OSError | None = None

    def pump(self) -> bool:
        """Move one chunk from the pipe onward; False at end of file."""
        try:
            chunk = os.read(self.pipe, _CHUNK)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        self._capture(chunk)
        self._echo(chunk)
        if self.tail is not None:
            self.tail += chunk
            del self.tail[:-_TAIL_BYTES]
        return True

    def _capture(self, chunk: bytes) -> None:
        if self.capture_error is not None:
            return
        try:
            layout.write_all(self.capture, chunk)
        except OSError as error:
            self.capture_error = error
            logger.debug("capture failed: %s", error)

    def _echo(self, chunk: bytes) -> None:
        if self.echo is None:
            return
        try:
            layout.write_all(self.echo, chunk)
        except OSError:
            self.echo = None

    def close(self) -> None:
        for descriptor in (self.pipe, self.capture):
            try:
                os.close(descriptor)
            except OSError:
                pass

    def tail_text(self) -> str | None:
        if not self.tail:
            return None
        lines = bytes(self.tail).decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-_TAIL_LINES:])


class _Child:
    """A running script and the bookkeeping needed to finish it."""

    def __init__(
        self,
        launch: Launch,
        process: subprocess.Popen[bytes],
        extra: dict[str, Any],
        note: str | None,
    ) -> None:
        self.launch = launch
        self.process = process
        #: Fields for the running record, and a note for the user, from
        #: :attr:`Launch.observe`.
        self.extra = extra
        self.note = note
        self.streams: dict[int, _Stream] = {}
        self.all_streams: list[_Stream] = []
        self.pidfd: int | None = None
        self.started = time.monotonic()
        self.started_utc = utc_now()
        self.exited_at: float | None = None
        self.exited_utc: str | None = None
        self.cancel_signal: int | None = None
        self.kill_at: float | None = None
        self.leftover_kill_at: float | None = None

    @property
    def is_drained(self) -> bool:
        return not self.streams

    def signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


class Supervisor:
    """Runs experiments' scripts, ``parallel`` at a time, and records how they end."""

    def __init__(
        self,
        store: Store,
        *,
        parallel: int = 1,
        echo: bool = True,
        grace: float = DEFAULT_GRACE,
        events: Events | None = None,
    ) -> None:
        self.store = store
        self.parallel = max(1, parallel)
        self.echo = echo
        self.grace = grace
        self.events = events
        self.cancelled_by: int | None = None
        #: Ids of launches another runner claimed first; they were not run.
        self.skipped: list[str] = []
        self._children: list[_Child] = []
        #: Scripts that ended and were stopped, whose final record is due.
        self._ended: list[_Child] = []
        self._selector = selectors.DefaultSelector()
        self._signals: list[int] = []
        self._next_heartbeat = 0.0
        self._batch_ticks = 0

    def run(self, launches: Iterable[Launch]) -> list[Outcome]:
        """Run every launch and return their outcomes in the order given.

        Launches that another runner claimed first are left out (see
        :attr:`skipped`).
        """
        pending = deque(launches)
        order = [launch.experiment_id for launch in pending]
        outcomes: dict[str, Outcome] = {}
        self._batch_ticks = processes.now_ticks()
        with processes.subreaper():
            self._run_all(pending, outcomes)
            processes.kill_all(
                lambda: processes.tree(self._batch_orphans()), (), self._batch_ticks
            )
        self._selector.close()
        return [outcomes[i] for i in order if i in outcomes]

    def _run_all(self, pending: deque[Launch], outcomes: dict[str, Outcome]) -> None:
        """The loop: start, record, wait, handle signals, until all are done.

        A slot freed by a script that ended is filled before that script's
        final record is written, and a new script's running record is written
        after it has started: the records are written while the next script
        starts up, not in between.
        """
        with SignalCatcher(self._selector) as catcher:
            self._signals = catcher.received
            while True:
                started = self._start_while_room(pending, outcomes)
                self._record_ends(outcomes)
                self._record_starts(started, outcomes)
                if not pending and not self._children:
                    return
                self._wait_and_handle(catcher)
                self._handle_signals(pending, outcomes)
                self._stop_ended()
                self._beat_hearts()
                if self.events is not None:
                    self.events.tick()

    def _start_while_room(
        self, pending: deque[Launch], outcomes: dict[str, Outcome]
    ) -> list[_Child]:
        started = []
        while pending and len(self._children) < self.parallel and not self.cancelled_by:
            launch = pending.popleft()
            result = self._start(launch)
            if isinstance(result, _Child):
                started.append(result)
            elif result is not None:
                self._report(launch, result, outcomes)
        return started

    def _start(self, launch: Launch) -> _Child | Outcome | None:
        """Start one script.

        Returns the started child, an outcome if the script could not be
        started, or None if another runner claimed the experiment first.
        """
        experiment_id = launch.experiment_id
        directory = self.store.directory(experiment_id)
        extra, note = launch.observe() if launch.observe is not None else ({}, None)
        # Experiments others may run too are claimed before their script
        # starts; a fresh one belongs to this runner and is recorded running,
        # with its script's pid, in one write once the script has started.
        if _is_shared(launch):
            try:
                if not self._claim(launch, None, extra):
                    self.skipped.append(experiment_id)
                    return None
            except StoreError as error:
                reason = f"not started: cannot claim it ({error})"
                return Outcome(experiment_id, STAGED, reason=reason)
        try:
            streams, process = self._spawn(launch, str(directory))
        except OSError as error:
            return self._end_unstarted(experiment_id, f"cannot start script: {error}")
        child = _Child(launch, process, extra, note)
        self._watch(child, streams)
        self._children.append(child)
        return child

    def _record_starts(
        self, started: list[_Child], outcomes: dict[str, Outcome]
    ) -> None:
        """Record each started script running; kill those that cannot be."""
        for child in started:
            experiment_id = child.launch.experiment_id
            try:
                self._record_start(child)
            except StoreError as error:
                self._children.remove(child)
                self._abandon(child)
                reason = f"cannot record the start: {error}"
                self._report(
                    child.launch, self._end_unstarted(experiment_id, reason), outcomes
                )
                continue
            if self.events is not None:
                if child.note is not None:
                    self.events.note(experiment_id, child.note)
                self.events.started(experiment_id)

    def _record_start(self, child: _Child) -> None:
        pid = child.process.pid
        if _is_shared(child.launch):
            self.store.update_metadata(
                child.launch.experiment_id,
                lambda metadata: metadata.update(script_pid=pid),
            )
        else:
            self._claim(child.launch, pid, child.extra, child.started_utc)

    def _claim(
        self,
        launch: Launch,
        script_pid: int | None,
        extra: dict[str, Any],
        started_at: str | None = None,
    ) -> bool:
        claimed = lifecycle.mark_running(
            self.store,
            launch.experiment_id,
            script_pid,
            expect=launch.expect,
            started_at=started_at,
            take_over=launch.take_over,
            **extra,
        )
        return claimed is not None

    def _abandon(self, child: _Child) -> None:
        """Kill a script whose start could not be recorded, and forget it."""
        child.signal_group(signal.SIGKILL)
        child.process.wait()
        for descriptor, stream in list(child.streams.items()):
            self._selector.unregister(descriptor)
            stream.close()
        if child.pidfd is not None:
            self._selector.unregister(child.pidfd)
            os.close(child.pidfd)

    def _end_unstarted(self, experiment_id: str, reason: str) -> Outcome:
        """Record as failed an experiment whose script could not run."""
        problem = self._record_end(experiment_id, FAILED, None, reason)[1]
        return Outcome(experiment_id, FAILED, reason=_joined(reason, problem))

    def _record_end(
        self,
        experiment_id: str,
        status: str,
        exit_code: int | None,
        reason: str | None,
        tail: str | None = None,
        ended_at: str | None = None,
    ) -> tuple[dict[str, Any], str | None]:
        """Write the final record; returns it, or why it could not be written."""
        try:
            metadata = lifecycle.mark_finished(
                self.store, experiment_id, status, exit_code, reason, tail, ended_at
            )
        except (StoreError, OSError) as error:
            logger.debug("cannot write final record of %s: %s", experiment_id, error)
            return {}, f"final record not written: {error}"
        return metadata, None

    def _spawn(
        self, launch: Launch, directory: str
    ) -> tuple[list[_Stream], subprocess.Popen[bytes]]:
        out_path = os.path.join(directory, layout.STDOUT_FILE)
        err_path = os.path.join(directory, layout.STDERR_FILE)
        captures = [_open_capture(out_path), _open_capture(err_path)]
        pipes = [os.pipe(), os.pipe()]
        prefix, hook = _death_signal()
        try:
            process = subprocess.Popen(
                [*prefix, *launch.argv],
                cwd=launch.cwd,
                env=_child_environment(launch, directory),
                stdin=subprocess.DEVNULL if _stdin_is_terminal() else None,
                stdout=pipes[0][1],
                stderr=pipes[1][1],
                process_group=0,
                preexec_fn=hook,
            )
        except BaseException:
            for descriptor in [*captures, pipes[0][0], pipes[1][0]]:
                os.close(descriptor)
            raise
        finally:
            for _, write_end in pipes:
                _close_quietly(write_end)
        echoes = [1, 2] if self.echo else [None, None]
        streams = [
            _Stream(read_end, capture, echo, tail=index == 1)
            for index, ((read_end, _), capture, echo) in enumerate(
                zip(pipes, captures, echoes, strict=True)
            )
        ]
        return streams, process

    def _watch(self, child: _Child, streams: list[_Stream]) -> None:
        for stream in streams:
            os.set_blocking(stream.pipe, False)
            child.streams[stream.pipe] = stream
            child.all_streams.append(stream)
            self._selector.register(stream.pipe, selectors.EVENT_READ, child)
        try:
            child.pidfd = os.pidfd_open(child.process.pid)
        except (AttributeError, OSError):
            child.pidfd = None
        if child.pidfd is not None:
            self._selector.register(child.pidfd, selectors.EVENT_READ, child)

    def _wait_and_handle(self, catcher: SignalCatcher) -> None:
        for key, _ in self._selector.select(self._timeout()):
            if key.data is None:
                catcher.drain()
                continue
            child: _Child = key.data
            if key.fd == child.pidfd:
                self._note_exit(child)
            else:
                self._pump(child, key.fd)
        for child in self._children:
            if child.exited_at is None and child.pidfd is None:
                self._note_exit(child)

    def _timeout(self) -> float:
        now = time.monotonic()
        deadlines = [self._next_heartbeat]
        for child in self._children:
            deadlines += [
                d for d in (child.kill_at, child.leftover_kill_at) if d is not None
            ]
            if child.exited_at is not None:
                deadlines.append(child.exited_at + _DRAIN_SECONDS)
            if child.pidfd is None:
                deadlines.append(now + 0.05)
        return max(0.0, min(min(deadlines) - now, 1.0))

    def _pump(self, child: _Child, descriptor: int) -> None:
        stream = child.streams[descriptor]
        if not stream.pump():
            self._selector.unregister(descriptor)
            stream.close()
            del child.streams[descriptor]

    def _note_exit(self, child: _Child) -> None:
        if child.exited_at is not None or child.process.poll() is None:
            return
        child.exited_at = time.monotonic()
        child.exited_utc = utc_now()
        if child.pidfd is not None:
            self._selector.unregister(child.pidfd)
            os.close(child.pidfd)
            child.pidfd = None
        self._signal(child, signal.SIGTERM)
        child.leftover_kill_at = child.exited_at + _LEFTOVER_KILL_SECONDS

    def _handle_signals(
        self, pending: deque[Launch], outcomes: dict[str, Outcome]
    ) -> None:
        while self._signals:
            signum = self._signals.pop(0)
            if self.cancelled_by is None:
                self.cancelled_by = signum
                self._cancel_all(signum, pending, outcomes)
            else:
                logger.debug("second signal %s: killing every script", signum)
                for child in self._children:
                    child.kill_at = time.monotonic()

    def _cancel_all(
        self, signum: int, pending: deque[Launch], outcomes: dict[str, Outcome]
    ) -> None:
        forwarded = signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM
        deadline = time.monotonic() + self.grace
        for child in self._children:
            if child.exited_at is None:
                child.cancel_signal = signum
                self._signal(child, forwarded)
                child.kill_at = deadline
        reason = f"not started: cancelled by {signal.Signals(signum).name}"
        while pending:
            launch = pending.popleft()
            if STAGED in launch.expect:
                # Staged work stays staged for a later runner to pick up.
                continue
            try:
                lifecycle.mark_not_started(self.store, launch.experiment_id, reason)
            except StoreError as error:
                logger.debug(
                    "cannot record %s cancelled: %s", launch.experiment_id, error
                )
            self._report(
                launch,
                Outcome(launch.experiment_id, CANCELLED, reason=reason),
                outcomes,
            )

    def _stop_ended(self) -> None:
        """Stop what each script that ended left running, once its output is
        read, and queue its final record."""
        now = time.monotonic()
        for child in list(self._children):
            self._enforce_deadlines(child, now)
            if child.exited_at is None:
                continue
            if child.is_drained or now >= child.exited_at + _DRAIN_SECONDS:
                self._children.remove(child)
                self._stop(child)
                self._ended.append(child)

    def _record_ends(self, outcomes: dict[str, Outcome]) -> None:
        while self._ended:
            child = self._ended.pop(0)
            self._report(child.launch, self._finish(child), outcomes)

    def _enforce_deadlines(self, child: _Child, now: float) -> None:
        if child.kill_at is not None and now >= child.kill_at:
            self._signal(child, signal.SIGKILL)
            child.kill_at = None
        if child.leftover_kill_at is not None and now >= child.leftover_kill_at:
            self._signal(child, signal.SIGKILL)
            child.leftover_kill_at = None

    def _signal(self, child: _Child, signum: int) -> None:
        """Signal a script's process group; stop its processes outside it."""
        child.signal_group(signum)
        group = child.process.pid
        strays = [
            pid
            for pid in self._processes_of(child)
            if processes.process_group(pid) != group
        ]
        # A process that left the group never saw a terminal's Ctrl-C;
        # it is asked to stop the way daemons are.
        processes.send(
            strays, signal.SIGKILL if signum == signal.SIGKILL else signal.SIGTERM
        )

    def _processes_of(self, child: _Child) -> list[int]:
        """The script, if still running, and every live process it started.

        Processes orphaned below the runner are this script's when their
        environment names its experiment, or when no other script is
        running.
        """
        roots = [child.process.pid] if child.exited_at is None else []
        alone = all(other is child for other in self._children)
        mine = child.launch.experiment_id
        for orphan in self._batch_orphans():
            if alone or processes.experiment_of(orphan) == mine:
                roots.append(orphan)
        return processes.tree(roots)

    def _batch_orphans(self) -> list[int]:
        """Processes re-parented to the runner since this batch began."""
        scripts = self._script_pids()
        return [
            pid
            for pid in processes.children(os.getpid())
            if pid not in scripts
            and processes.started_at_or_after(pid, self._batch_ticks)
        ]

    def _script_pids(self) -> set[int]:
        return {child.process.pid for child in self._children}

    def _stop(self, child: _Child) -> None:
        """Kill what is left of an ended script and stop reading its output."""
        child.signal_group(signal.SIGKILL)
        processes.kill_all(
            lambda: self._processes_of(child), self._script_pids(), self._batch_ticks
        )
        for descriptor, stream in list(child.streams.items()):
            self._selector.unregister(descriptor)
            stream.close()
        child.streams.clear()

    def _finish(self, child: _Child) -> Outcome:
        """Write the final record of a stopped script."""
        status, exit_code, reason = _judge(child)
        tail = child.all_streams[-1].tail_text() if status == FAILED else None
        experiment_id = child.launch.experiment_id
        metadata, problem = self._record_end(
            experiment_id, status, exit_code, reason, tail, child.exited_utc
        )
        summary = metadata.get("metrics_summary") or {}
        ended = child.exited_at if child.exited_at is not None else time.monotonic()
        return Outcome(
            experiment_id,
            status,
            exit_code,
            _joined(reason, problem),
            round(ended - child.started, 6),
            summary.get("final") or {},
        )

    def _report(
        self, launch: Launch, outcome: Outcome, outcomes: dict[str, Outcome]
    ) -> None:
        outcomes[launch.experiment_id] = outcome
        if self.events is not None:
            self.events.finished(outcome)

    def _beat_hearts(self) -> None:
        now = time.monotonic()
        if now < self._next_heartbeat:
            return
        self._next_heartbeat = now + HEARTBEAT_INTERVAL
        for child in self._children:
            try:
                self.store.touch_heartbeat(child.launch.experiment_id)
            except OSError as error:
                logger.debug("heartbeat failed: %s", error)


def _is_shared(launch: Launch) -> bool:
    """Whether other runners may reach for this experiment too (it is staged),
    so that it must be claimed before its script starts."""
    return launch.expect != (CREATED,)


def _judge(child: _Child) -> tuple[str, int | None, str | None]:
    """Status, exit code and reason of a finished script.

    Output that could not be captured fails an experiment that otherwise
    completed, and is named beside any other reason.
    """
    returncode = child.process.returncode
    exit_code = 128 - returncode if returncode < 0 else returncode
    capture = _capture_problem(child)
    if child.cancel_signal is not None:
        name = signal.Signals(child.cancel_signal).name
        return CANCELLED, exit_code, _joined(f"cancelled by {name}", capture)
    if returncode < 0:
        reason = f"killed by {_signal_name(-returncode)}"
        return FAILED, exit_code, _joined(reason, capture)
    if returncode != 0:
        return FAILED, exit_code, _joined(f"exit code {returncode}", capture)
    if capture is not None:
        return FAILED, exit_code, capture
    return COMPLETED, exit_code, None


def _capture_problem(child: _Child) -> str | None:
    for stream in child.all_streams:
        error = stream.capture_error
        if error is not None:
            prefix = "disk full: " if is_disk_full(error) else ""
            return f"{prefix}output capture incomplete ({error.strerror})"
    return None


def _joined(reason: str | None, problem: str | None) -> str | None:
    """A reason with a further problem after it, either possibly missing."""
    if reason is None or problem is None:
        return reason or problem
    return f"{reason}; {problem}"


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _close_quietly(descriptor: int) -> None:
    try:
        os.close(descriptor)
    except OSError:
        pass


def _open_capture(path: str) -> int:
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | layout.NO_LINKS
    return os.open(path, flags, 0o644)


def _stdin_is_terminal() -> bool:
    """A script in its own process group cannot read the terminal, so it gets
    an empty stdin instead of being stopped when it tries; piped input is
    passed through."""
    try:
        return os.isatty(0)
    except OSError:
        return False


def _child_environment(launch: Launch, directory: str) -> dict[str, str]:
    environment = dict(os.environ)
    environment.update(launch.env)
    environment[layout.ENV_EXPERIMENT_DIR] = directory
    environment[layout.ENV_EXPERIMENT_ID] = launch.experiment_id
    environment["YANEX_CLI_ACTIVE"] = "1"
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


_DeathSignal = tuple[list[str], Callable[[], None] | None]
_death_signal_cache: list[_DeathSignal] = []
_PDEATHSIG = ["--pdeathsig", "KILL", "--"]
#: A setpriv probe started by :func:`prepare`, and the setpriv it runs.
_probes: list[tuple[str, subprocess.Popen[bytes]]] = []


def prepare() -> None:
    """Start, without waiting, the check that every script start needs.

    A caller about to run scripts calls this before its other preparations
    (reading the code's git state, recording experiments), so that the
    check runs beside them instead of delaying the first script.
    """
    if _death_signal_cache or _probes or not sys.platform.startswith("linux"):
        return
    setpriv = _on_path("setpriv")
    if setpriv is None:
        return
    try:
        probe = subprocess.Popen(
            [setpriv, *_PDEATHSIG, "true"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError as error:
        logger.debug("cannot run setpriv: %s", error)
        return
    _probes.append((setpriv, probe))


def _death_signal() -> _DeathSignal:
    """How to ask Linux to SIGKILL a script if its runner dies.

    Without this, a runner killed with SIGKILL would leave its script
    running, unrecorded. ``setpriv --pdeathsig`` (util-linux) makes the
    request and then executes the script, which keeps process creation on
    the fast vfork path; without it, a pre-exec hook makes the same request
    at the price of a full fork, several milliseconds per script. Older
    util-linux lacks the option, so it is tried once per process (see
    :func:`prepare`). Other systems have no such request.
    """
    if not _death_signal_cache:
        _death_signal_cache.append(_find_death_signal())
    return _death_signal_cache[0]


def _find_death_signal() -> _DeathSignal:
    if not sys.platform.startswith("linux"):
        return [], None
    prepare()
    if _probes:
        setpriv, probe = _probes.pop()
        if probe.wait() == 0:
            return [setpriv, *_PDEATHSIG], None
    return [], _prctl_hook(os.getpid())


def _on_path(name: str) -> str | None:
    """The executable ``name`` on PATH, as ``shutil.which`` finds it; that
    module would cost every run a few milliseconds to import."""
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(directory or os.curdir, name)
        if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
            return candidate
    return None


def _prctl_hook(parent_pid: int) -> Callable[[], None] | None:
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    set_parent_death_signal = 1

    def hook() -> None:
        prctl(set_parent_death_signal, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


class SignalCatcher:
    """Turns cancelling signals into entries of ``received`` and a wake-up.

    Handlers only note the signal; the supervisor's loop acts on it, so a
    signal can never interrupt a record half-way through being written. The
    previous handlers are restored on exit.
    """

    def __init__(self, selector: selectors.BaseSelector) -> None:
        self.selector = selector
        self.received: list[int] = []
        self._previous: dict[int, Any] = {}
        self._previous_wakeup = -1
        self._read = self._write = -1

    def __enter__(self) -> SignalCatcher:
        import threading

        if threading.current_thread() is not threading.main_thread():
            return self
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self.selector.register(self._read, selectors.EVENT_READ, None)
        self._previous_wakeup = signal.set_wakeup_fd(
            self._write, warn_on_full_buffer=False
        )
        for signum in _CANCEL_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._note)
        return self

    def _note(self, signum: int, frame: Any) -> None:
        self.received.append(signum)

    def drain(self) -> None:
        try:
            while os.read(self._read, 512):
                pass
        except BlockingIOError:
            pass

    def __exit__(self, *exc_info: object) -> None:
        if self._read < 0:
            return
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._previous_wakeup)
        self.selector.unregister(self._read)
        os.close(self._read)
        os.close(self._write)
