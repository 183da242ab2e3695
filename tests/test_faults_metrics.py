"""Metric rows survive writes cut short: by a kill, a full disk, a limit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import Project
from yanex.context import MetricsLog
from yanex.metrics import read_history

ROLLBACK = """\
import os, resource, sys
from yanex.context import MetricsLog
path = sys.argv[1]
log = MetricsLog(path)
log.append({"row": 0}, 0)
size = os.path.getsize(path)
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 30, resource.RLIM_INFINITY))
try:
    log.append({"row": 1, "padding": "x" * 60}, 1)
except OSError as error:
    print(error.strerror)
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
log.append({"row": 2}, 2)
"""


def test_a_metric_row_cut_short_by_a_write_failure_is_removed_whole(
    tmp_path: Path, base_env: dict[str, str]
) -> None:
    path = tmp_path / "metrics.jsonl"

    done = subprocess.run(
        [sys.executable, "-c", ROLLBACK, str(path)],
        env=base_env,
        capture_output=True,
        text=True,
    )

    assert done.stdout == "File too large\n", done.stderr
    lines = path.read_bytes().splitlines()
    assert [json.loads(line).get("step") for line in lines] == [None, 0, 2]


def test_a_row_appended_after_a_line_cut_by_a_kill_is_still_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "metrics.jsonl"
    log = MetricsLog(str(path))
    log.append({"row": 0}, 0)
    with open(path, "ab") as killed_writer:
        killed_writer.write(b'{"step":1,"time":"2026-12-04T04:1')
    log.append({"row": 2}, 2)

    history = read_history(str(path))

    assert [(row["step"], row["metrics"]) for row in history.steps] == [
        (0, {"row": 0}),
        (2, {"row": 2}),
    ]
    assert history.damaged_lines == 1


def test_a_record_quoting_the_record_start_in_a_value_is_read_whole(
    tmp_path: Path,
) -> None:
    path = tmp_path / "metrics.jsonl"
    log = MetricsLog(str(path))
    log.append({"note": '{"step":9}'}, 0)

    history = read_history(str(path))

    assert [row["metrics"] for row in history.steps] == [{"note": '{"step":9}'}]
    assert history.damaged_lines == 0


FORKED_WHILE_LOGGING = """\
import os, yanex
from yanex import context

yanex.log_metrics({"parent": 1}, step=0)
with context.current().metrics._lock:  # as a thread logging at the fork would
    pid = os.fork()
    if pid == 0:
        yanex.log_metrics({"child": 1}, step=1)
        os._exit(0)
_, status = os.waitpid(pid, 0)
print("child exit", os.waitstatus_to_exitcode(status))
"""


def test_a_process_forked_while_another_thread_logs_can_log(project: Project) -> None:
    project.write("forked.py", FORKED_WHILE_LOGGING)

    result = project.yanex("run", "forked.py", timeout=30)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "child exit 0\n"
    history = read_history(str(project.only_experiment() / "metrics.jsonl"))
    assert [row["metrics"] for row in history.steps] == [{"parent": 1}, {"child": 1}]
