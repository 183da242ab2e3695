"""What running on Slurm costs: submitting a sweep, and each member's run.

Needs a reachable Slurm cluster (``SLURM_CONF`` names it, e.g. one started
with ``scripts/slurm-up.sh``); without one the section says so and measures
nothing. Jobs it submits only to time the submission are cancelled at once.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from common import SRC, Figure, scratch_project, time_command, yanex_command

SUBMITTED = 100
RUN = 12
NOTHING = "x = 1\n"


def unreachable() -> str | None:
    """Why no cluster can be used, or None."""
    if shutil.which("sbatch") is None:
        return "sbatch is not on PATH"
    config = os.environ.get("SLURM_CONF")
    if config and not os.path.isfile(config):
        return f"SLURM_CONF names no file: {config}"
    try:
        done = subprocess.run(
            ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=15
        )
    except (OSError, subprocess.TimeoutExpired):
        return "sinfo does not answer"
    if done.returncode != 0 or not done.stdout.strip():
        return "no Slurm controller answers"
    return None


def _jobs_of(store: Path) -> set[str]:
    jobs = set()
    for metadata in store.glob("*/metadata.json"):
        slurm = json.loads(metadata.read_text()).get("slurm") or {}
        if slurm.get("job_id"):
            jobs.add(str(slurm["job_id"]))
    return jobs


def _cancel_all(store: Path) -> None:
    jobs = sorted(_jobs_of(store))
    if jobs:
        subprocess.run(["scancel", *jobs], check=False)


def _sbatch_seconds(root: Path, env: dict[str, str]) -> float:
    """How long the one sbatch call of a submission took, from yanex's log."""
    done = subprocess.run(
        yanex_command(
            "--verbose",
            "run",
            "one.py",
            "--param",
            f"i=range(0, {SUBMITTED})",
            "--executor",
            "slurm",
            "--detach",
        ),
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    for line in done.stderr.splitlines():
        if "sbatch answered in" in line:
            return float(line.rsplit(" ", 2)[-2])
    raise RuntimeError("no sbatch timing in yanex's debug log")


def submission(repeat: int = 3) -> list[Figure]:
    """Submitting 100 members, beside staging the same 100 (no Slurm)."""
    sweep = f"i=range(0, {SUBMITTED})"
    with scratch_project({"one.py": NOTHING}) as (root, env):
        store = Path(env["YANEX_EXPERIMENTS_DIR"])
        samples: dict[str, list[float]] = {"stage": [], "submit": [], "sbatch": []}
        for _ in range(repeat):
            samples["stage"].append(
                time_command(
                    yanex_command("run", "one.py", "--param", sweep, "--stage"),
                    root,
                    env,
                )
            )
            samples["submit"].append(
                time_command(
                    yanex_command(
                        "run", "one.py", "--param", sweep, "--executor", "slurm",
                        "--detach",
                    ),
                    root,
                    env,
                )
            )  # fmt: skip
            samples["sbatch"].append(_sbatch_seconds(root, env))
            _cancel_all(store)
        calls = len(_jobs_of(store)) / (2 * repeat)
    stage, submit, sbatch = (statistics.median(samples[k]) for k in samples)
    return [
        Figure(f"yanex run --stage, {SUBMITTED} members", f"{stage:.2f} s", "", None),
        Figure(
            f"yanex run --executor slurm --detach, {SUBMITTED} members",
            f"{submit:.2f} s",
            "< 1 s",
            submit < 1.0,
        ),
        Figure("sbatch calls per sweep", f"{calls:g}", "1", calls == 1),
        Figure("the sbatch call itself", f"{sbatch * 1000:.0f} ms", "", None),
        Figure(
            "submitting / staging",
            f"{submit / stage:.2f}x ({(submit - stage) * 1000:+.0f} ms)",
            "",
            None,
        ),
    ]


def _measured(run: Callable[[], float], repeat: int) -> float:
    return statistics.median(run() for _ in range(repeat))


def member_overhead(repeat: int = 3) -> list[Figure]:
    """12 empty members one at a time, here and as an array throttled to 1."""
    sweep = f"i=range(0, {RUN})"
    with scratch_project({"one.py": NOTHING}) as (root, env):

        def local() -> float:
            return time_command(
                yanex_command("run", "one.py", "--param", sweep, "-j", "1"), root, env
            )

        def on_slurm() -> float:
            started = time.perf_counter()
            subprocess.run(
                yanex_command(
                    "run", "one.py", "--param", sweep, "-j", "1", "--executor",
                    "slurm",
                ),
                cwd=root, env=env, check=True,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            return time.perf_counter() - started

        local_seconds = _measured(local, repeat)
        slurm_seconds = _measured(on_slurm, repeat)
    per_member = (slurm_seconds - local_seconds) / RUN
    startup = _task_startup(repeat * 3)
    return [
        Figure(f"{RUN} empty members, here, one at a time", f"{local_seconds:.2f} s",
               "", None),
        Figure(f"{RUN} empty members, Slurm array %1, watched",
               f"{slurm_seconds:.2f} s", "", None),
        Figure("Slurm's overhead per member over a local run",
               f"{per_member * 1000:+.0f} ms", "", None),
        Figure("of which a task's own start (yanex's part)",
               f"{startup * 1000:.0f} ms", "", None),
    ]  # fmt: skip


def _task_startup(repeat: int) -> float:
    """What starting a task's Python adds over a bare interpreter."""
    import sys

    def started(code: str) -> Callable[[], float]:
        return lambda: time_command(
            [sys.executable, "-c", code],
            Path.cwd(),
            {**os.environ, "PYTHONPATH": str(SRC)},
        )

    bare = _measured(started("pass"), repeat)
    task = _measured(started("import yanex.executors.slurm.task"), repeat)
    return task - bare


def all_figures() -> list[Figure]:
    reason = unreachable()
    if reason is not None:
        return [Figure("Slurm cluster", f"skipped: {reason}", "-", None)]
    return submission() + member_overhead()
