"""Facts about this machine and its processes, for records and liveness.

A ``running`` experiment is only as trustworthy as the evidence that its
runner still exists. Each runner records who it is: the host, the kernel's
boot id, its pid and the process start time the kernel keeps for that pid.
On the same host and boot, a reader can tell for certain whether that exact
process still exists (a recycled pid has a different start time); elsewhere
it has only the heartbeat to go by.
"""

from __future__ import annotations

import os
import sys
from typing import Any

_BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"


def hostname() -> str:
    """This machine's network name."""
    return os.uname().nodename


def username() -> str:
    """The user running yanex, as the environment or password file says."""
    for variable in ("USER", "LOGNAME"):
        name = os.environ.get(variable)
        if name:
            return name
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return str(os.getuid())


def boot_id() -> str | None:
    """An id that changes each time the kernel boots (Linux only)."""
    try:
        with open(_BOOT_ID_PATH) as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def process_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` from the state on; None if gone.

    ``[0]`` is the state (``Z`` for a zombie), ``[1]`` the parent, ``[2]`` the
    process group and ``[19]`` the start time in clock ticks since boot.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # The command name in parentheses may contain spaces; fields follow it.
    return stat[stat.rfind(b")") + 2 :].decode("ascii", "replace").split()


def process_start_ticks(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot; None if gone."""
    fields = process_stat(pid)
    try:
        return int(fields[19]) if fields is not None else None
    except (IndexError, ValueError):
        return None


_identity: dict[int, dict[str, Any]] = {}


def runner_identity() -> dict[str, Any]:
    """Everything a later reader needs to decide whether this process lives."""
    pid = os.getpid()
    if pid not in _identity:
        _identity[pid] = {
            "host": hostname(),
            "boot_id": boot_id(),
            "pid": pid,
            "start_ticks": process_start_ticks(pid),
        }
    return dict(_identity[pid])


def is_same_boot(identity: dict[str, Any]) -> bool:
    """Whether ``identity`` was recorded on this host since its last boot."""
    recorded_boot = identity.get("boot_id")
    return (
        identity.get("host") == hostname()
        and recorded_boot is not None
        and recorded_boot == boot_id()
    )


def is_process_alive(identity: dict[str, Any]) -> bool:
    """Whether the exact process in ``identity`` (same boot) still exists."""
    pid = identity.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    ticks = process_start_ticks(pid)
    if ticks is None:
        return False
    recorded = identity.get("start_ticks")
    return recorded is None or recorded == ticks


def python_info() -> dict[str, str]:
    """The interpreter that runs scripts: the same one that runs yanex."""
    return {"version": sys.version.split()[0], "executable": sys.executable}


def platform_name() -> str:
    """A short description of the operating system and machine."""
    uname = os.uname()
    return f"{uname.sysname}-{uname.release}-{uname.machine}"
