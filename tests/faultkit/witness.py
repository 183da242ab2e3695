"""The script that fault trials run, and what it acknowledges.

The script logs numbered metric rows; after each ``log_metrics`` call
returns it appends a line to its witness file, which lives outside the
store. A row in the witness was therefore acknowledged to the script
before any fault that followed, and must be in the store afterwards. The
witness also records each start of a script (so a run twice shows) and
its normal end, and the pids to wait for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

WORK_SCRIPT = """\
import os, sys, time
import yanex

experiment = yanex.get_experiment_id()
witness_dir = os.environ["FAULT_WITNESS_DIR"]
witness = os.open(
    os.path.join(witness_dir, experiment), os.O_WRONLY | os.O_APPEND | os.O_CREAT
)
rows = yanex.get_param("rows", 20)
delay = yanex.get_param("delay", 0.005)
writers = yanex.get_param("writers", 0)


def acknowledge(line):
    os.write(witness, (line + "\\n").encode())


def log_rows(writer):
    for row in range(rows):
        step = writer * 100_000 + row
        yanex.log_metrics({f"w{writer}": row}, step=step)
        acknowledge(f"row {writer} {row}")
        time.sleep(delay)


acknowledge(f"start {os.getpid()}")
# Open the metrics log before forking, so writers share its descriptor.
yanex.log_metrics({"script_pid": os.getpid()}, step=999_999_999)
children = []
for writer in range(1, writers + 1):
    pid = os.fork()
    if pid == 0:
        acknowledge(f"writer {os.getpid()}")
        log_rows(writer)
        os._exit(0)
    children.append(pid)
log_rows(0)
for pid in children:
    os.waitpid(pid, 0)
print("done", experiment, flush=True)
acknowledge("end")
"""


@dataclass
class Witness:
    """What one experiment's scripts acknowledged."""

    starts: int = 0
    ended: bool = False
    pids: list[int] = field(default_factory=list)
    rows: set[tuple[int, int]] = field(default_factory=set)


def read_witnesses(directory: Path) -> dict[str, Witness]:
    """Every experiment's witness in ``directory``, by experiment id."""
    found: dict[str, Witness] = {}
    if not directory.is_dir():
        return found
    for path in directory.iterdir():
        found[path.name] = _parse(path.read_text())
    return found


def _parse(text: str) -> Witness:
    witness = Witness()
    for line in text.splitlines():
        kind, *values = line.split()
        if kind == "start":
            witness.starts += 1
            witness.pids.append(int(values[0]))
        elif kind == "writer":
            witness.pids.append(int(values[0]))
        elif kind == "row":
            witness.rows.add((int(values[0]), int(values[1])))
        elif kind == "end":
            witness.ended = True
    return witness


def is_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def step_of(writer: int, row: int) -> int:
    """The metrics step the work script logs ``row`` of ``writer`` at."""
    return writer * 100_000 + row


def metric_of(writer: int) -> str:
    """The metric name ``writer`` logs its row numbers under."""
    return f"w{writer}"
