"""Output abuse: floods, endless lines, binary bytes, and escape sequences in
user text that listings must show rather than let drive the terminal."""

from __future__ import annotations

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

#: Sets the window title, clears the screen, colours, moves the cursor by a
#: C1 CSI, reverses the text direction, returns and backspaces.
HOSTILE = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\x9b2Jc1\u202eevil\r\x08end"

SCRIPT = """\
import sys, yanex
hostile = yanex.get_param("note")
yanex.log_metrics({hostile: 1.0, "acc": 0.5})
yanex.save_artifact(hostile, hostile[:20].replace("/", "") + ".txt")
if yanex.get_param("seed") is not None:
    print(hostile)
    print(hostile, file=sys.stderr)
"""


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


@pytest.fixture
def hostile(project: Project) -> Project:
    """Experiments whose name, tags, description, params, metric names,
    artifact names and output all carry escape sequences.

    The sweep's members print them too; run two at a time, their output
    goes only to their files, so what yanex itself says can be checked.
    """
    project.write("hostile.py", SCRIPT)
    common = ["--name", HOSTILE, "--tag", HOSTILE, "--description", HOSTILE]
    note = ["--param", f"note={HOSTILE}"]
    for extra in ([], ["--param", "seed=list(1, 2)", "-j", "2"]):
        code, _, err = raw(project, "run", "hostile.py", *common, *note, *extra)
        assert code == 0, err
        assert_inert(err)
    return project


@pytest.mark.parametrize(
    "command",
    [
        ["list"],
        ["list", "-F", "markdown"],
        ["list", "-F", "json"],
        ["compare", "--all-params"],
        ["compare", "-F", "markdown", "--all-params"],
        ["compare", "-F", "json", "--all-params"],
        ["show", "ID"],
        ["show", "ID", "-F", "json"],
        ["logs", "NO SUCH EXPERIMENT \x1b[2J"],
        ["run", "hostile.py", "--param", "l\x1b[2Jr=1"],
    ],
    ids=lambda command: " ".join(command[:3]).replace("\x1b", "ESC"),
)
def test_escape_sequences_in_user_text_are_shown_not_obeyed(
    hostile: Project, command: list[str]
) -> None:
    first = hostile.experiment_ids()[0]
    args = [first if arg == "ID" else arg for arg in command]

    code, out, err = raw(hostile, *args)

    assert code in (0, 2)
    assert_inert(out)
    assert_inert(err)
    figures.record("output abuse", f"listings checked for escapes: {command[0]}")


def test_a_table_shows_escapes_as_visible_text(hostile: Project) -> None:
    _, out, _ = raw(hostile, "show", hostile.experiment_ids()[0])

    assert (
        "\\x1b]0;owned\\x07\\x1b[2J\\x1b[31mred\\x9b2Jc1\\u202eevil\\r\\x08end" in out
    )


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


#: Runs yanex from a small process and prints its peak resident size and
#: exit code on stderr. Measured straight from the test, the peak would include the
#: size of the test process itself, copied at fork before exec.
MEASURED = """\
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "yanex", *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status), file=sys.stderr)
"""


@pytest.mark.slow
def test_a_gigabyte_of_output_is_captured_in_bounded_memory(project: Project) -> None:
    project.write(
        "flood.py",
        "import sys\nchunk = b'z' * (1 << 20)\n"
        "for _ in range(1024):\n    sys.stdout.buffer.write(chunk)\n",
    )

    done = subprocess.run(
        [sys.executable, "-c", MEASURED, "run", "flood.py"],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )

    peak_kib, exit_code = (int(field) for field in done.stderr.split()[-2:])
    assert exit_code == 0
    captured = project.only_experiment() / "stdout.log"
    assert captured.stat().st_size == 1 << 30
    assert peak_kib < 60 * 1024
    shown = project.yanex("show", project.only_experiment().name)
    assert shown.returncode == 0
    captured.unlink()
    figures.record("output abuse", "runs printing 1 GiB")
    figures.record("output abuse", "peak resident KiB while capturing 1 GiB", peak_kib)
