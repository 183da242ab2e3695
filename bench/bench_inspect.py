"""Finding experiments in a large store: list, compare, show, rebuild.

A generator makes realistic experiments through the library itself: sweeps
of one thousand members and single runs, eight parameters each, a metrics
log of twenty steps, final records with a summary, a mix of statuses, and
a few archived. Figures are taken at 1,000 and at 10,000 experiments.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from subprocess import DEVNULL

from common import SRC, Figure, environment, yanex_command

sys.path.insert(0, str(SRC))

from yanex import layout, lifecycle
from yanex.context import MetricsLog
from yanex.store import (
    CANCELLED,
    COMPLETED,
    FAILED,
    ExperimentSpec,
    Store,
)

SWEEP = 1000


def generate(store: Store, count: int, seed: int = 7) -> str:
    """Fill ``store`` with ``count`` experiments; returns one sweep's id."""
    rng = random.Random(seed)
    first_sweep = ""
    made = 0
    while made < count:
        size = min(SWEEP, count - made) if made % (SWEEP * 2) == 0 else 1
        sweep_id = layout.new_id() if size > 1 else None
        first_sweep = first_sweep or (sweep_id or "")
        for index in range(size):
            _one(store, rng, sweep_id, index, size)
        made += size
    return first_sweep


def _one(
    store: Store, rng: random.Random, sweep_id: str | None, index: int, size: int
) -> None:
    lr = 10 ** rng.uniform(-5, -1)
    params = {
        "lr": lr,
        "batch_size": rng.choice([32, 64, 128]),
        "epochs": 20,
        "optimizer": rng.choice(["adam", "sgd"]),
        "model": {
            "depth": rng.randint(2, 8),
            "width": rng.choice([64, 128, 256]),
            "dropout": 0.1,
        },
        "seed": rng.randint(0, 10_000),
    }
    sweep = None
    if sweep_id is not None:
        swept = {"lr": lr, "model.depth": params["model"]["depth"]}
        sweep = {"id": sweep_id, "index": index, "size": size, "swept": swept}
    spec = ExperimentSpec(
        params=params,
        script="/home/lab/project/train.py",
        name=f"run {index}",
        tags=["bench", rng.choice(["cifar", "mnist"])],
        cwd="/home/lab/project",
        git={"is_repo": True, "commit": "0" * 40, "branch": "main", "dirty": False},
        sweep=sweep,
    )
    experiment_id = store.create(spec)
    lifecycle.mark_running(store, experiment_id, script_pid=1)
    log = MetricsLog(str(store.file(experiment_id, layout.METRICS_FILE)))
    for step in range(20):
        log.append(
            {
                "loss": 1 / (step + 1) + rng.random() * 0.1,
                "accuracy": min(1.0, 0.5 + step / 40 + rng.random() * 0.05),
            },
            step,
        )
    log.close()
    status = rng.choices([COMPLETED, FAILED, CANCELLED], weights=[90, 7, 3])[0]
    lifecycle.mark_finished(store, experiment_id, status, exit_code=0)
    if rng.random() < 0.02:
        store.update_metadata(experiment_id, lambda m: m.update(archived=True))


def _timed(command: list[str], env: dict[str, str], repeat: int = 7) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=DEVNULL, stderr=DEVNULL)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _rebuild(store: Store, env: dict[str, str]) -> float:
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(f"{store.root / 'index.sqlite'}{suffix}")
        except FileNotFoundError:
            pass
    started = time.perf_counter()
    subprocess.run(
        yanex_command("list"), env=env, check=True, stdout=DEVNULL, stderr=DEVNULL
    )
    return time.perf_counter() - started


def measure(count: int, top: Path) -> dict[str, float]:
    store = Store(top / f"store-{count}")
    started = time.perf_counter()
    sweep_id = generate(store, count)
    generated = time.perf_counter() - started
    env = environment(store.root)
    rebuild = _rebuild(store, env)
    some_id = next(iter(store.experiment_ids()))
    return {
        "generate": generated,
        "rebuild": rebuild,
        "list": _timed(yanex_command("list"), env),
        "compare": _timed(
            yanex_command("compare", "--sweep", sweep_id, "-F", "csv"), env
        ),
        "show": _timed(yanex_command("show", some_id), env),
    }


def all_figures() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="yanex-bench-store-") as scratch:
        small = measure(1000, Path(scratch))
        large = measure(10_000, Path(scratch))
    goals = {"list": 0.150, "compare": 0.400, "show": 0.080, "rebuild": 10.0}
    labels = {
        "list": "yanex list",
        "compare": "yanex compare --sweep (1,000 members) -F csv",
        "show": "yanex show",
        "rebuild": "full index rebuild (then list)",
    }
    figures = [
        Figure("generate 10,000 experiments", f"{large['generate']:.1f} s", "", None)
    ]
    for key, goal in goals.items():
        value = f"{_ms(large[key])} (1,000: {_ms(small[key])})"
        figures.append(Figure(labels[key], value, f"< {_ms(goal)}", large[key] < goal))
    return figures


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"
