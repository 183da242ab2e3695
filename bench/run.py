"""Run yanex's benchmarks and print every figure beside its goal.

    python bench/run.py            # every section
    python bench/run.py run sweep  # some sections

Each figure is measured side by side with its baseline in the same run, so
the ratios hold on any machine; the absolute numbers are this machine's.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import report

SECTIONS = {
    "run": ("bench_run", "one tracked run"),
    "sweep": ("bench_sweep", "sweeps"),
    "inspect": ("bench_inspect", "finding experiments in a store of 10,000"),
    "slurm": ("bench_slurm", "running on a Slurm cluster"),
    "ui": ("bench_ui", "the web page over 10,000 experiments"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", choices=[*SECTIONS, []], default=[])
    chosen = parser.parse_args().sections or list(SECTIONS)
    print(
        f"yanex benchmarks on {platform.node()}: {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}"
    )
    missed = 0
    for name in chosen:
        module_name, title = SECTIONS[name]
        figures = importlib.import_module(module_name).all_figures()
        report(title, figures)
        missed += sum(figure.met is False for figure in figures)
    print(f"\n{missed} goal(s) missed." if missed else "\nEvery goal met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
