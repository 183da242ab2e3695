"""What a sweep costs per member, one at a time and two at a time."""

from __future__ import annotations

import sys

from common import (
    Figure,
    interleaved_medians,
    scratch_project,
    time_command,
    yanex_command,
)

MEMBERS = 40
ONE_LINE = "x = 1\n"
PLAIN_LOOP = (
    "import subprocess, sys\n"
    f"for i in range({MEMBERS}):\n"
    "    subprocess.run([sys.executable, 'one.py'], check=True)\n"
)


def sweep_costs(repeat: int = 5) -> list[Figure]:
    """40 one-line experiments: a plain loop, yanex sequential, yanex -j 2."""
    sweep = f"i=range(0, {MEMBERS})"
    with scratch_project({"one.py": ONE_LINE, "loop.py": PLAIN_LOOP}) as (root, env):
        medians = interleaved_medians(
            {
                "loop": lambda: time_command([sys.executable, "loop.py"], root, env),
                "sequential": lambda: time_command(
                    yanex_command("run", "one.py", "--param", sweep), root, env
                ),
                "parallel": lambda: time_command(
                    yanex_command("run", "one.py", "--param", sweep, "-j", "2"),
                    root,
                    env,
                ),
            },
            repeat,
        )
    loop, sequential, parallel = (
        medians["loop"],
        medians["sequential"],
        medians["parallel"],
    )
    per_member_ms = (sequential - loop) / MEMBERS * 1000
    return [
        Figure(f"plain loop, {MEMBERS} runs", f"{loop:.2f} s", "", None),
        Figure(
            f"yanex sweep of {MEMBERS}, sequential",
            f"{sequential:.2f} s",
            "",
            None,
        ),
        Figure(f"yanex sweep of {MEMBERS}, -j 2", f"{parallel:.2f} s", "", None),
        Figure(
            "sequential / plain loop",
            f"{sequential / loop:.2f}x ({per_member_ms:+.1f} ms per member)",
            "<= 1.3x",
            sequential / loop <= 1.3,
        ),
        Figure(
            "sequential / -j 2 (speed-up)",
            f"{sequential / parallel:.2f}x",
            ">= 1.8x",
            sequential / parallel >= 1.8,
        ),
    ]


def all_figures() -> list[Figure]:
    return sweep_costs()
