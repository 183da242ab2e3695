"""What tracking one run costs: start-up, import, metric logging, memory."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    Figure,
    interleaved_medians,
    scratch_project,
    time_command,
    yanex_command,
)

ONE_LINE = "x = 1\n"
CHATTY = "for i in range(200_000):\n    print(i)\n"


def run_overhead(repeat: int = 30) -> list[Figure]:
    """``yanex run`` of a one-line script against plain ``python``."""
    with scratch_project({"one.py": ONE_LINE}) as (root, env):
        time_command(yanex_command("run", "one.py"), root, env)
        medians = interleaved_medians(
            {
                "python": lambda: time_command([sys.executable, "one.py"], root, env),
                "yanex": lambda: time_command(
                    yanex_command("run", "one.py"), root, env
                ),
            },
            repeat,
        )
    added_ms = (medians["yanex"] - medians["python"]) * 1000
    return [
        Figure(
            "plain python one.py (median)",
            f"{medians['python'] * 1000:.1f} ms",
            "",
            None,
        ),
        Figure(
            "yanex run one.py (median)", f"{medians['yanex'] * 1000:.1f} ms", "", None
        ),
        Figure("added wall time", f"{added_ms:.1f} ms", "< 80 ms", added_ms < 80),
    ]


def import_time(repeat: int = 30) -> list[Figure]:
    """``import yanex`` against an empty interpreter start."""
    with tempfile.TemporaryDirectory() as scratch:
        cwd = Path(scratch)
        env = _plain_env()

        def start(code: str) -> float:
            return time_command([sys.executable, "-c", code], cwd, env)

        medians = interleaved_medians(
            {"bare": lambda: start("pass"), "yanex": lambda: start("import yanex")},
            repeat,
        )
    added_ms = (medians["yanex"] - medians["bare"]) * 1000
    return [Figure("import yanex", f"{added_ms:.1f} ms", "< 25 ms", added_ms < 25)]


def _plain_env() -> dict[str, str]:
    from common import environment

    return environment(Path(tempfile.gettempdir()) / "yanex-bench-unused")


def log_metrics_cost() -> list[Figure]:
    """Microseconds per ``log_metrics`` call early in a log and after 100,000."""
    with tempfile.TemporaryDirectory() as scratch:
        code = _LOG_METRICS_PROGRAM.format(store=repr(str(Path(scratch) / "store")))
        env = _plain_env()
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    early, late = (float(v) for v in done.stdout.split())
    flat = late < early * 1.5
    return [
        Figure(
            "log_metrics at 1,000 steps", f"{early:.1f} us/call", "< 20 us", early < 20
        ),
        Figure(
            "log_metrics at 100,000 steps",
            f"{late:.1f} us/call",
            "< 20 us, flat",
            late < 20 and flat,
        ),
    ]


_LOG_METRICS_PROGRAM = """
import time
from yanex import context, log_metrics
from yanex.store import ExperimentSpec, Store

store = Store({store})
experiment = store.create(ExperimentSpec(params={{}}))
context.push(context.Context(experiment, str(store.directory(experiment))))

def per_call(first, count):
    started = time.perf_counter()
    for step in range(first, first + count):
        log_metrics({{"loss": 1.0 / (step + 1), "acc": 0.5}}, step=step)
    return (time.perf_counter() - started) / count * 1e6

early = per_call(0, 1000)
for step in range(1000, 99_000):
    log_metrics({{"loss": 0.1, "acc": 0.5}}, step=step)
late = per_call(99_000, 1000)
print(early, late)
"""


def peak_memory() -> list[Figure]:
    """Peak resident memory of the yanex process while the script prints a lot."""
    with scratch_project({"chatty.py": CHATTY}) as (root, env):
        process = subprocess.Popen(
            yanex_command("run", "chatty.py"),
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        peak_kib = 0
        while process.poll() is None:
            peak_kib = max(peak_kib, _high_water_kib(process.pid))
            time.sleep(0.005)
        lines = len((_only_experiment(env) / "stdout.log").read_text().splitlines())
    peak_mb = peak_kib / 1024
    return [
        Figure(
            "peak RSS of yanex, script prints 200,000 lines",
            f"{peak_mb:.1f} MB ({lines:,} lines captured)",
            "< 40 MB",
            peak_mb < 40 and lines == 200_000,
        )
    ]


def _high_water_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _only_experiment(env: dict[str, str]) -> Path:
    store = Path(env["YANEX_EXPERIMENTS_DIR"])
    [directory] = [p for p in store.iterdir() if (p / "metadata.json").exists()]
    return directory


def all_figures() -> list[Figure]:
    return run_overhead() + import_time() + log_metrics_cost() + peak_memory()
