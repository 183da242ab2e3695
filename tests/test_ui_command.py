"""``yanex ui`` as a command: listening, the browser, stopping, its extra."""

from __future__ import annotations

import errno
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Project, wait_for
from ui_support import Server


def python(project: Project, code: str) -> subprocess.CompletedProcess[str]:
    """Run Python code in the project, with this checkout's yanex."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_ui_serves_until_ctrl_c_then_stops_cleanly(project: Project) -> None:
    server = Server(project, "--no-browser")
    assert server.get("/api/experiments").json()["total"] == 0

    code, out, err = server.stop(signal.SIGINT)

    assert code == 0
    assert out == ""
    assert err.splitlines() == ["yanex: stopped"]


def test_ui_prints_where_it_serves(project: Project) -> None:
    server = Server(project, "--no-browser")

    code, _, _ = server.stop()

    assert server.url == f"http://127.0.0.1:{server.port}/"
    assert code == 0


def test_ui_opens_the_browser_on_its_page(project: Project, tmp_path: Path) -> None:
    opened = tmp_path / "opened"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)

    server = Server(project, env={"BROWSER": str(browser)})
    wait_for(lambda: opened.exists() and opened.read_text().strip() != "")
    server.stop()

    assert opened.read_text().strip() == server.url


def test_ui_no_browser_opens_none(project: Project, tmp_path: Path) -> None:
    opened = tmp_path / "opened"
    browser = tmp_path / "browser.sh"
    browser.write_text(f"#!/bin/sh\ntouch {opened}\n")
    browser.chmod(0o755)

    server = Server(project, "--no-browser", env={"BROWSER": str(browser)})
    assert server.get("/").status == 200
    server.stop()

    assert not opened.exists()


def test_ui_without_a_display_says_where_to_go(project: Project) -> None:
    server = Server(project)

    _, _, err = server.stop()

    assert err.splitlines()[0] == (
        f"yanex: no display to open a browser on; open {server.url} yourself"
    )


def test_ui_warns_when_listening_beyond_loopback(project: Project) -> None:
    server = Server(project, "--host", "0.0.0.0", "--no-browser")
    local = server.get("/api/experiments", Host=f"127.0.0.1:{server.port}")
    rebound = server.get("/api/experiments", Host=f"evil.example:{server.port}")

    _, _, err = server.stop()

    assert err.splitlines()[0] == (
        "yanex: warning: listening on 0.0.0.0:"
        " the experiment store is visible to the network"
    )
    assert local.status == 200
    assert rebound.status == 403


def test_ui_on_loopback_does_not_warn(project: Project) -> None:
    server = Server(project, "--host", "localhost", "--no-browser")

    _, _, err = server.stop()

    assert "warning" not in err


def test_ui_on_a_port_in_use_is_one_line_error(project: Project) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = project.yanex("ui", "--port", str(port), "--no-browser")

    assert result.returncode == 1
    assert result.error_lines == [
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


def test_ui_default_port_gives_way_when_taken(project: Project) -> None:
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            taken.bind(("127.0.0.1", 8765))
            taken.listen()
        except OSError as error:
            assert error.errno == errno.EADDRINUSE
        process = project.popen(
            "ui", "--no-browser", stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)

    assert line.startswith("yanex ui: serving http://127.0.0.1:")
    assert ":8765/" not in line


def test_ui_on_an_unknown_host_is_one_line_error(project: Project) -> None:
    result = project.yanex("ui", "--host", "no-such-host.invalid", "--no-browser")

    assert result.returncode == 1
    assert len(result.error_lines) == 1
    assert result.error_lines[0].startswith(
        "Error: cannot listen on no-such-host.invalid:8765: "
    )


def test_ui_rejects_a_port_out_of_range(project: Project) -> None:
    result = project.yanex("ui", "--port", "70000")

    assert result.returncode == 2
    assert result.error_lines[0].startswith("Error: Invalid value for '--port'")


@pytest.mark.parametrize("missing", ["starlette", "uvicorn"])
def test_ui_without_its_extra_names_it(project: Project, missing: str) -> None:
    code = (
        f"import sys; sys.modules[{missing!r}] = None\n"
        "from yanex.cli import main; main(['ui', '--no-browser'])"
    )

    done = python(project, code)

    assert done.returncode == 1
    assert done.stderr == (
        f"Error: yanex ui needs the ui extra ({missing} is not installed):"
        " pip install 'yanex[ui]'\n"
    )


def test_run_and_import_never_load_the_ui(project: Project) -> None:
    project.write("job.py", "import yanex\nyanex.log_metrics({'a': 1})\n")
    code = (
        "import sys, yanex\n"
        "from yanex.cli import run_command\n"
        "assert run_command(['run', 'job.py']) == 0\n"
        "loaded = [m for m in sys.modules"
        " if m.split('.')[0] in ('starlette', 'uvicorn', 'anyio')"
        " or m.startswith('yanex.ui')]\n"
        "print(loaded)\n"
    )

    done = python(project, code)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


def test_ui_is_listed_in_the_help(project: Project) -> None:
    result = project.yanex("--help")

    assert "  ui " in result.stdout
    assert "Browse, plot and compare experiments" in result.stdout
