"""Output abuse: floods, endless lines and binary bytes."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import Project
from faultkit import figures

#: What a terminal may obey: C0 controls but newline, DEL, C1 controls,
#: line separators and bidirectional overrides.
TERMINAL_CONTROL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def raw(project: Project, *args: str) -> tuple[int, str, str]:
    """Run yanex and return its exit code and output, undecoded bytes kept."""
    done = subprocess.run(
        [sys.executable, "-m", "yanex", *args],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        timeout=120,
    )
    decode = lambda data: data.decode("utf-8", "surrogateescape")  # noqa: E731
    return done.returncode, decode(done.stdout), decode(done.stderr)


def assert_inert(text: str) -> None:
    found = TERMINAL_CONTROL.findall(text)
    assert found == [], f"terminal controls in the output: {found!r}"


def test_a_fifty_megabyte_line_is_captured_whole_and_shown_briefly(
    project: Project,
) -> None:
    project.write("endless.py", "import sys\nsys.stdout.write('y' * 50_000_000)\n")

    assert project.yanex("run", "endless.py").returncode == 0

    captured = project.only_experiment() / "stdout.log"
    assert captured.stat().st_size == 50_000_000
    assert set(captured.read_bytes()) == {ord("y")}
    shown = project.yanex("show", project.only_experiment().name)
    assert shown.returncode == 0
    assert len(shown.stdout) < 10_000
    assert "(49,999,500 more characters)" not in shown.stdout
    assert "more characters)" in shown.stdout
    tail = project.yanex("get", "stdout", project.only_experiment().name, "--tail", "1")
    assert len(tail.stdout) == 50_000_000
    figures.record("output abuse", "50 MB lines without a newline")


def test_binary_output_is_captured_and_echoed_byte_for_byte(project: Project) -> None:
    project.write(
        "binary.py",
        "import random, sys\n"
        "data = random.Random(7).randbytes(1 << 20) + bytes(range(256))\n"
        "sys.stdout.buffer.write(data)\nsys.stderr.buffer.write(data[::-1])\n",
    )
    expected = __import__("random").Random(7).randbytes(1 << 20) + bytes(range(256))

    done = subprocess.run(
        [sys.executable, "-m", "yanex", "run", "binary.py"],
        cwd=project.root,
        env=project.env,
        capture_output=True,
    )

    assert done.returncode == 0
    assert done.stdout == expected
    directory = project.only_experiment()
    assert (directory / "stdout.log").read_bytes() == expected
    assert (directory / "stderr.log").read_bytes() == expected[::-1]
    code, shown, _ = raw(project, "show", directory.name)
    assert code == 0
    assert_inert(shown)
    figures.record("output abuse", "runs printing binary bytes")


@pytest.mark.slow
def test_a_gigabyte_of_output_is_captured_in_bounded_memory(project: Project) -> None:
    project.write(
        "flood.py",
        "import sys\nchunk = b'z' * (1 << 20)\n"
        "for _ in range(1024):\n    sys.stdout.buffer.write(chunk)\n",
    )
    runner = project.popen(
        "run", "flood.py", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    _, status, usage = os.wait4(runner.pid, 0)

    runner.returncode = os.waitstatus_to_exitcode(status)
    assert runner.returncode == 0
    captured = project.only_experiment() / "stdout.log"
    assert captured.stat().st_size == 1 << 30
    assert usage.ru_maxrss < 80 * 1024
    shown = project.yanex("show", project.only_experiment().name)
    assert shown.returncode == 0
    captured.unlink()
    figures.record("output abuse", "runs printing 1 GiB")
    figures.record(
        "output abuse",
        "largest resident size while capturing 1 GiB, KiB",
        usage.ru_maxrss,
    )
