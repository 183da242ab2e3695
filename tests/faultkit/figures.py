"""Counting what the fault suite injected and checked, and printing it.

Tests call :func:`record` with a section and a label. When the environment
names a figures file (``YANEX_FIGURES``), each count is appended to it as a
JSON line, so that any number of test processes can add to one file;
otherwise counting costs nothing. ``python tests/faultkit/figures.py FILE``
prints the totals, section by section.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

ENV = "YANEX_FIGURES"


def record(section: str, label: str, count: int = 1) -> None:
    """Add ``count`` to the figure ``label`` of ``section``."""
    path = os.environ.get(ENV)
    if not path:
        return
    line = json.dumps({"section": section, "label": label, "count": count})
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def note(section: str, text: str) -> None:
    """Add a line of text to ``section``, such as the seed a run started from."""
    path = os.environ.get(ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"section": section, "note": text}) + "\n")


def record_counts(section: str, counts: Mapping[str, int]) -> None:
    """Add several figures of one section."""
    for label, count in counts.items():
        record(section, label, count)


def totals(path: Path) -> tuple[dict[str, Counter[str]], dict[str, list[str]]]:
    """The sum of every figure in a figures file, and the notes, by section."""
    sections: dict[str, Counter[str]] = {}
    notes: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        counts = sections.setdefault(entry["section"], Counter())
        if "note" in entry:
            notes.setdefault(entry["section"], []).append(entry["note"])
        else:
            counts[entry["label"]] += entry["count"]
    return sections, notes


def report(path: Path) -> str:
    """The totals as readable text, one block per section."""
    sections, notes = totals(path)
    lines = []
    for section, counts in sections.items():
        lines.append(f"\n{section}")
        width = max((len(label) for label in counts), default=0)
        for label, count in sorted(counts.items()):
            lines.append(f"  {label:<{width}}  {count:>10,}")
        lines += [f"  {text}" for text in notes.get(section, [])]
    return "\n".join(lines).lstrip("\n")


if __name__ == "__main__":
    print(report(Path(sys.argv[1])))
