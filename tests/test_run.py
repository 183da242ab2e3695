"""``yanex run`` of one experiment, end to end, through the real CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import Project, wait_for

TRAIN = """\
import yanex
params = yanex.get_params()
lr = yanex.get_param("model.lr", default=0.001)
for epoch in range(3):
    yanex.log_metrics({"loss": 1 / (epoch + 1), "acc": 0.5 + epoch / 10}, step=epoch)
open("model.pt", "w").write("weights")
yanex.copy_artifact("model.pt", "model.pt")
print("lr is", lr)
"""


def metric_rows(directory: Path) -> list[dict]:
    lines = (directory / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines[1:]]


def test_run_records_a_completed_experiment(project: Project) -> None:
    project.write("train.py", TRAIN)
    project.write(".gitignore", "model.pt\n__pycache__/\n")

    result = project.yanex(
        "run",
        "train.py",
        "--param",
        "model.lr=0.01",
        "--name",
        "baseline",
        "--description",
        "first try",
        "--tag",
        "baseline",
        "--tag",
        "cifar",
    )

    assert result.returncode == 0, result.stderr
    assert "lr is 0.01" in result.stdout
    directory = project.only_experiment()
    metadata = project.metadata(directory)
    assert metadata["status"] == "completed"
    assert metadata["name"] == "baseline"
    assert metadata["description"] == "first try"
    assert metadata["tags"] == ["baseline", "cifar"]
    assert metadata["exit_code"] == 0
    assert metadata["yanex_format"] == 1
    assert metadata["id"] == directory.name
    assert project.params(directory) == {"model": {"lr": 0.01}}
    assert (directory / "artifacts" / "model.pt").read_text() == "weights"
    assert (directory / "stdout.log").read_text() == "lr is 0.01\n"


def test_run_records_metadata_about_the_process(project: Project) -> None:
    project.write("train.py", "import yanex\n")

    project.yanex("run", "train.py", "--", "--epochs", "3")

    metadata = project.metadata(project.only_experiment())
    assert metadata["script"] == {
        "path": str(project.root / "train.py"),
        "args": ["--epochs", "3"],
    }
    assert metadata["command"][:2] == ["yanex", "run"]
    assert metadata["cwd"] == str(project.root)
    assert metadata["runner"]["pid"] > 0
    assert metadata["script_pid"] > 0
    assert metadata["python"]["executable"]
    assert metadata["started_at"].endswith("+00:00")
    assert metadata["ended_at"] >= metadata["started_at"]
    assert metadata["duration_s"] >= 0


def test_metrics_are_appended_as_json_lines(project: Project) -> None:
    project.write("train.py", TRAIN)
    project.write(".gitignore", "model.pt\n__pycache__/\n")

    project.yanex("run", "train.py")

    rows = metric_rows(project.only_experiment())
    assert [row["step"] for row in rows] == [0, 1, 2]
    assert rows[2]["metrics"] == {"loss": 1 / 3, "acc": 0.7}


def test_script_arguments_after_double_dash_reach_the_script(project: Project) -> None:
    project.write("train.py", "import sys; print(sys.argv[1:])\n")

    result = project.yanex("run", "train.py", "--", "--epochs", "3", "-x")

    assert result.stdout == "['--epochs', '3', '-x']\n"


def test_script_runs_in_the_current_directory_with_yanex_python(
    project: Project,
) -> None:
    project.write(
        "train.py", "import os, sys; print(os.getcwd()); print(sys.executable)\n"
    )

    result = project.yanex("run", "train.py")

    cwd, executable = result.stdout.splitlines()
    assert cwd == str(project.root)

    assert executable == sys.executable


def test_failing_script_is_recorded_failed_with_exit_code_and_stderr_tail(
    project: Project,
) -> None:
    project.write(
        "train.py", "import sys\nprint('bad input', file=sys.stderr)\nsys.exit(3)\n"
    )

    result = project.yanex("run", "train.py")

    assert result.returncode == 3
    metadata = project.metadata(project.only_experiment())
    assert metadata["status"] == "failed"
    assert metadata["exit_code"] == 3
    assert metadata["reason"] == "exit code 3"
    assert metadata["stderr_tail"] == "bad input"


def test_script_raising_exits_one_and_keeps_the_traceback(project: Project) -> None:
    project.write("train.py", "raise ValueError('boom')\n")

    result = project.yanex("run", "train.py")

    assert result.returncode == 1
    directory = project.only_experiment()
    assert "ValueError: boom" in (directory / "stderr.log").read_text()
    assert "ValueError: boom" in project.metadata(directory)["stderr_tail"]


def test_output_is_streamed_and_captured_byte_for_byte(project: Project) -> None:
    project.write(
        "train.py",
        "import sys\n"
        "out = sys.stdout.buffer\n"
        "out.write(b'progress 1\\rprogress 2\\r')\n"
        "out.write(b'no newline \\xff\\xfe')\n"
        "sys.stderr.buffer.write(b'err \\x00 bytes')\n",
    )

    done = subprocess.run(
        [sys.executable, "-m", "yanex", "run", "train.py"],
        cwd=project.root,
        env=project.env,
        capture_output=True,
    )

    expected = b"progress 1\rprogress 2\rno newline \xff\xfe"
    assert done.stdout == expected
    assert b"err \x00 bytes" in done.stderr
    directory = project.only_experiment()
    assert (directory / "stdout.log").read_bytes() == expected
    assert (directory / "stderr.log").read_bytes() == b"err \x00 bytes"


def test_output_is_streamed_live_while_the_script_runs(project: Project) -> None:
    project.write(
        "train.py",
        "import time\nprint('first', flush=False)\ntime.sleep(30)\n",
    )
    process = project.popen("run", "train.py", stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line == b"first\n"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_two_hundred_thousand_lines_are_captured_completely(project: Project) -> None:
    project.write("train.py", "for i in range(200_000):\n    print(i)\n")

    result = project.yanex("run", "train.py")

    assert result.returncode == 0
    captured = (project.only_experiment() / "stdout.log").read_text().splitlines()
    assert len(captured) == 200_000
    assert captured[-1] == "199999"


def test_sigint_cancels_the_run_and_exits_130(project: Project) -> None:
    project.write(
        "train.py",
        "import time\n"
        "try:\n    print('started', flush=True)\n    time.sleep(60)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n    raise\n",
    )
    process = project.popen("run", "train.py", stdout=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stdout.readline() == b"started\n"

    process.send_signal(signal.SIGINT)

    assert process.wait(timeout=30) == 130
    directory = project.only_experiment()
    metadata = project.metadata(directory)
    assert metadata["status"] == "cancelled"
    assert metadata["reason"] == "cancelled by SIGINT"
    assert (directory / "stdout.log").read_text() == "started\ninterrupted\n"


def test_sigterm_cancels_the_run_and_exits_143(project: Project) -> None:
    project.write("train.py", "import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    process = project.popen("run", "train.py", stdout=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stdout.readline() == b"up\n"

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=30) == 143
    metadata = project.metadata(project.only_experiment())
    assert metadata["status"] == "cancelled"
    assert metadata["reason"] == "cancelled by SIGTERM"


def test_script_ignoring_sigterm_is_killed_after_the_grace_period(
    project: Project,
) -> None:
    project.write(
        "train.py",
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('up', flush=True)\ntime.sleep(120)\n",
    )
    process = project.popen("run", "train.py", stdout=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stdout.readline() == b"up\n"
    started = time.monotonic()

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=30) == 143
    assert time.monotonic() - started < 20
    script_pid = project.metadata(project.only_experiment())["script_pid"]
    assert not Path(f"/proc/{script_pid}").exists()


def test_children_of_the_script_do_not_outlive_a_cancelled_run(
    project: Project,
) -> None:
    project.write(
        "train.py",
        "import subprocess, sys, time\n"
        "sleeper = [sys.executable, '-c', 'import time; time.sleep(120)']\n"
        "child = subprocess.Popen(sleeper)\n"
        "print(child.pid, flush=True)\ntime.sleep(120)\n",
    )
    process = project.popen("run", "train.py", stdout=subprocess.PIPE)
    assert process.stdout is not None
    child_pid = int(process.stdout.readline())

    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)

    wait_for(lambda: not _is_running(child_pid))


def test_script_is_killed_when_the_runner_is_killed(project: Project) -> None:
    project.write(
        "train.py", "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(120)\n"
    )
    process = project.popen("run", "train.py", stdout=subprocess.PIPE)
    assert process.stdout is not None
    script_pid = int(process.stdout.readline())

    process.kill()
    process.wait(timeout=30)

    wait_for(lambda: not _is_running(script_pid))


def _is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_dry_run_prints_parameters_and_creates_nothing(project: Project) -> None:
    project.write("train.py", "raise SystemExit('must not run')\n")

    result = project.yanex("run", "train.py", "--param", "model.lr=0.01", "--dry-run")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "model:\n  lr: 0.01\n"
    assert project.experiment_ids() == []


def test_concurrent_runs_get_distinct_experiments(project: Project) -> None:
    project.write("train.py", "import yanex\nyanex.log_metrics({'x': 1})\n")

    processes = [
        project.popen(
            "run", "train.py", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(8)
    ]

    assert [p.wait(timeout=60) for p in processes] == [0] * 8
    ids = project.experiment_ids()
    assert len(ids) == 8
    assert {project.metadata(project.store / i)["status"] for i in ids} == {"completed"}


def test_concurrent_metric_writers_lose_no_line(project: Project) -> None:
    project.write(
        "train.py",
        "import multiprocessing, yanex\n"
        "def work(n):\n"
        "    for i in range(500):\n"
        "        yanex.log_metrics({f'w{n}': i}, step=n * 1000 + i)\n"
        "if __name__ == '__main__':\n"
        "    with multiprocessing.get_context('spawn').Pool(4) as pool:\n"
        "        pool.map(work, range(4))\n",
    )

    result = project.yanex("run", "train.py")

    assert result.returncode == 0, result.stderr
    rows = metric_rows(project.only_experiment())
    assert len(rows) == 2000
    assert {row["step"] for row in rows} == {
        n * 1000 + i for n in range(4) for i in range(500)
    }


def test_large_parameters_reach_the_script_exactly(project: Project) -> None:
    values = list(range(40_000))
    project.write("config.yaml", json.dumps({"values": values, "name": "x"}))
    project.write(
        "train.py",
        "import json, yanex\n"
        "values = yanex.get_param('values')\n"
        "assert values == list(range(40_000)), 'mismatch'\n"
        "print(len(values))\n",
    )

    result = project.yanex("run", "train.py")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "40000\n"
    assert project.params(project.only_experiment())["values"] == values


def test_plain_python_run_writes_nothing(project: Project, tmp_path: Path) -> None:
    project.write(
        "train.py",
        "import yanex\n"
        "assert yanex.is_standalone() and not yanex.has_context()\n"
        "assert yanex.get_params() == {}\n"
        "assert yanex.get_param('lr', default=0.5) == 0.5\n"
        "yanex.log_metrics({'loss': 1.0})\n"
        "open('x.txt', 'w').write('x')\n"
        "yanex.copy_artifact('x.txt')\n"
        "yanex.save_artifact({'a': 1}, 'a.json')\n"
        "assert yanex.load_artifact('a.json') is None\n"
        "assert yanex.get_experiment_id() is None\n"
        "print('ok')\n",
        commit=False,
    )

    done = subprocess.run(
        [sys.executable, "train.py"],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
    )

    assert done.stdout == "ok\n", done.stderr
    assert not project.store.exists()
    assert sorted(p.name for p in project.root.iterdir()) == [
        ".git",
        ".gitignore",
        "train.py",
        "x.txt",
    ]
