"""Helpers shared by the benchmarks: scratch projects, timing and reporting."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


@dataclass
class Figure:
    """One measured figure, its goal and whether the goal was met."""

    name: str
    value: str
    goal: str
    met: bool | None

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: "-"}[self.met]


def report(title: str, figures: list[Figure]) -> None:
    """Print figures as an aligned table."""
    print(f"\n== {title} ==")
    widths = [
        max(len(row[i]) for row in [*_rows(figures), ("figure", "value", "goal", "")])
        for i in range(4)
    ]
    header = ("figure", "value", "goal", "verdict")
    for row in [header, *_rows(figures)]:
        print(
            "  ".join(
                cell.ljust(width) for cell, width in zip(row, widths, strict=True)
            )
        )


def _rows(figures: list[Figure]) -> list[tuple[str, str, str, str]]:
    return [(f.name, f.value, f.goal, f.verdict) for f in figures]


def environment(store: Path) -> dict[str, str]:
    """An environment that runs this checkout's yanex against ``store``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YANEX_")}
    # Measure what users get: bytecode cached after the first start.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["YANEX_EXPERIMENTS_DIR"] = str(store)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
    )
    return env


@contextmanager
def scratch_project(files: dict[str, str]) -> Iterator[tuple[Path, dict[str, str]]]:
    """A committed git repository holding ``files``, with a store beside it."""
    with tempfile.TemporaryDirectory(prefix="yanex-bench-") as top:
        root = Path(top) / "project"
        root.mkdir()
        env = environment(Path(top) / "store")
        for name, text in files.items():
            (root / name).write_text(text)
        for command in (
            ["git", "init", "-q", "-b", "main"],
            ["git", "add", "."],
            ["git", "commit", "-q", "-m", "bench"],
        ):
            subprocess.run(command, cwd=root, env=env, check=True)
        yield root, env


def yanex_command(*args: str) -> list[str]:
    """The command line that runs this checkout's yanex."""
    return [sys.executable, "-m", "yanex", *args]


def time_command(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall seconds of one run of ``command``, which must succeed."""
    started = time.perf_counter()
    subprocess.run(
        command,
        cwd=cwd,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def interleaved_medians(
    commands: dict[str, Callable[[], float]], repeat: int
) -> dict[str, float]:
    """Median of each timed callable, run alternately so drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, measure in commands.items():
            samples[name].append(measure())
    return {name: statistics.median(values) for name, values in samples.items()}
