"""Every process a script started, found wherever it went, to stop it.

Signalling a script's process group reaches the processes it started only
while they stay in the group: a child that calls ``setsid``, or a daemon
made by a double fork, leaves it and would outlive the run. On Linux the
runner therefore makes itself a *child subreaper* (``PR_SET_CHILD_SUBREAPER``):
a process orphaned anywhere below it is re-parented to the runner instead of
to init, so every process a script started stays in the runner's tree, which
``/proc`` lists.

Which experiment a re-parented process came from is read from its
environment: each script starts with ``YANEX_EXPERIMENT_ID`` set, and the
processes it starts inherit it. A process that also cleared its environment
cannot be told apart; the runner stops it when no other script is running,
or at the latest when its batch ends.

Elsewhere there is no subreaper and no ``/proc``, and the process group is
all the runner can reach.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from yanex import diagnostics, host, layout

logger = diagnostics.get_logger(__name__)

_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
_MARKER = f"{layout.ENV_EXPERIMENT_ID}=".encode()
#: Rounds of find-and-kill before giving up on a process that keeps forking.
_STOP_ROUNDS = 50


@contextmanager
def subreaper() -> Iterator[None]:
    """Be the reaper of orphans below this process while the block runs.

    Outside Linux this does nothing. A process that was a subreaper before
    stays one; otherwise it stops being one afterwards, so that a program
    running experiments through the library is left as it was.
    """
    prctl = _prctl()
    if prctl is None:
        yield
        return
    import ctypes

    before = ctypes.c_int(0)
    if prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(before), 0, 0, 0) != 0:
        before.value = 1  # unknown: leave it as it is afterwards
    if prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        logger.debug("cannot become a subreaper: errno %s", ctypes.get_errno())
    try:
        yield
    finally:
        if not before.value:
            prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


_prctl_cache: list[Any] = []


def _prctl() -> Any:
    """The C library's ``prctl`` on Linux, else None; looked up once."""
    if not _prctl_cache:
        _prctl_cache.append(_find_prctl())
    return _prctl_cache[0]


def _find_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def children(pid: int) -> list[int]:
    """The live children of ``pid`` (zombies left out)."""
    return [child for child in _all_children(pid) if not is_zombie(child)]


def _all_children(pid: int) -> list[int]:
    """The children of ``pid``, zombies included, as the kernel lists them."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    if not _kernel_lists_children():
        return _children_by_scan(pid)
    found: list[int] = []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as handle:
                found += [int(child) for child in handle.read().split()]
        except OSError:
            continue
    return found


_lists_children: list[bool] = []


def _kernel_lists_children() -> bool:
    """Whether ``/proc`` has per-task ``children`` lists (most kernels)."""
    if not _lists_children:
        pid = os.getpid()
        _lists_children.append(os.path.exists(f"/proc/{pid}/task/{pid}/children"))
    return _lists_children[0]


def _children_by_scan(pid: int) -> list[int]:
    """Children found by reading every process's parent, for kernels that
    keep no ``children`` lists."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = host.process_stat(int(name))
            if fields is not None and fields[1] == str(pid):
                found.append(int(name))
    return found


def is_zombie(pid: int) -> bool:
    """Whether ``pid`` has ended and waits to be reaped (or is gone)."""
    fields = host.process_stat(pid)
    return fields is None or fields[0] in ("Z", "X")


def process_group(pid: int) -> int | None:
    """The process group of ``pid``, or None if it is gone."""
    fields = host.process_stat(pid)
    return int(fields[2]) if fields is not None else None


def tree(roots: Iterable[int]) -> list[int]:
    """``roots`` and every live process below them."""
    found: list[int] = []
    pending = [root for root in roots if not is_zombie(root)]
    seen: set[int] = set()
    while pending:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.add(pid)
        found.append(pid)
        pending += children(pid)
    return found


def experiment_of(pid: int) -> str | None:
    """The experiment id in the environment ``pid`` was started with."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            environment = handle.read()
    except OSError:
        return None
    for entry in environment.split(b"\0"):
        if entry.startswith(_MARKER):
            return entry[len(_MARKER) :].decode(errors="replace")
    return None


def started_at_or_after(pid: int, ticks: int) -> bool:
    """Whether ``pid`` started at or after ``ticks`` (see :func:`now_ticks`)."""
    fields = host.process_stat(pid)
    return fields is not None and int(fields[19]) >= ticks


def now_ticks() -> int:
    """The time since boot in the clock ticks ``/proc`` gives start times in."""
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * os.sysconf("SC_CLK_TCK"))


def send(pids: Iterable[int], signum: int) -> None:
    """Send ``signum`` to each process; those already gone are skipped."""
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def reap(keep: Collection[int], since: int) -> None:
    """Collect the exit status of this process's ended children.

    A subreaper inherits orphans and must reap them, or they stay zombies
    for as long as it runs. Only children started at or after ``since``
    (see :func:`now_ticks`) are reaped, and none in ``keep``: the scripts'
    pids, and any child the calling program started before, are left for
    their :class:`subprocess.Popen` objects.
    """
    for pid in _all_children(os.getpid()):
        fields = host.process_stat(pid)
        if pid in keep or fields is None or fields[0] != "Z":
            continue
        if int(fields[19]) >= since:
            _reap_one(pid)


def _reap_one(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def kill_all(find: Callable[[], list[int]], keep: Collection[int], since: int) -> None:
    """SIGKILL what ``find`` returns until it returns nothing.

    A process may fork between being found and being killed, so this looks
    again until nothing is left. Ended orphans, killed here or not, are
    reaped on the way (see :func:`reap`).
    """
    reap(keep, since)
    for _ in range(_STOP_ROUNDS):
        found = find()
        if not found:
            return
        send(found, signal.SIGKILL)
        reap(keep, since)
        time.sleep(0.001)
    logger.debug("processes still appear after %s rounds of SIGKILL", _STOP_ROUNDS)
