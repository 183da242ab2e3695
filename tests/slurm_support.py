"""Reaching the real Slurm cluster the tests run against.

The tests use the cluster that ``SLURM_CONF`` (or Slurm's default config)
names, e.g. one started by ``scripts/slurm-up.sh``. Without one they skip on
a developer's machine, and fail when ``YANEX_REQUIRE_SLURM=1`` says a
cluster must be there, as it must in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

REQUIRE_VARIABLE = "YANEX_REQUIRE_SLURM"


def unavailable_reason() -> str | None:
    """Why no cluster can be used here, or None when one answers."""
    for command in ("sbatch", "squeue", "scancel", "sinfo", "scontrol"):
        if shutil.which(command) is None:
            return f"{command} is not on PATH"
    config = os.environ.get("SLURM_CONF")
    if config and not os.path.isfile(config):
        return f"SLURM_CONF names no file: {config}"
    try:
        done = subprocess.run(
            ["sinfo", "-h", "-o", "%T"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "sinfo did not answer"
    if done.returncode != 0:
        return f"sinfo failed: {done.stderr.strip()}"
    usable = {"idle", "mixed", "allocated"}
    if not usable & set(done.stdout.split()):
        return f"no usable node (sinfo says {done.stdout.split()})"
    return None


def require_cluster() -> None:
    """Skip, or fail when a cluster is required, if none answers."""
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"{REQUIRE_VARIABLE}=1 but no Slurm cluster: {reason}")
    pytest.skip(f"no Slurm cluster: {reason}")


def squeue_state(task: str, field: str = "%T") -> str:
    """One field of Slurm's view of a task (``812_3``): by default its
    state, e.g. ``COMPLETED``; ``%r`` is the reason it waits."""
    job = task.split("_")[0]
    done = subprocess.run(
        ["squeue", "-h", "-r", "-t", "all", "-j", job, "-o", f"%i|{field}"],
        capture_output=True,
        text=True,
        check=True,
    )
    for line in done.stdout.splitlines():
        name, _, value = line.partition("|")
        if name == task:
            return value
    return ""


def scontrol(*args: str) -> None:
    subprocess.run(["scontrol", *args], check=True, capture_output=True)
