"""Replay one kill trial by its kind and seed, and print what it found.

.venv/bin/python tests/faultkit/replay.py KIND SEED
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faultkit.trials import KINDS, Trials
from faultkit.workbench import Workbench


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in KINDS or not argv[1].isdigit():
        print(f"usage: replay.py {{{','.join(KINDS)}}} SEED", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="yanex-replay-") as scratch:
        trials = Trials(Workbench(Path(scratch)))
        outcome = trials.run(argv[0], int(argv[1]))
    if outcome.findings.violations:
        print(outcome.describe())
        return 1
    print(f"trial {argv[0]} seed={argv[1]}: every invariant holds")
    for name, count in sorted(outcome.findings.counts.items()):
        print(f"  {name}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
