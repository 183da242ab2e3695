"""A store of real experiments and a real ``yanex ui`` server over it.

Shared by the API tests and the browser tests: the experiments are made by
``yanex run`` itself, and the server is the ``yanex ui`` command in its own
process, spoken to over a socket with :mod:`http.client`, which sends a
path exactly as written (``..`` and ``%2F`` included).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import GIT_ENV, Project

TRAIN = """\
import struct, sys, time, zlib
from pathlib import Path
import yanex

def png(width, height):
    row = b"\\x00" + bytes([47, 95, 208]) * width
    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))

lr = yanex.get_param("lr", default=0.1)
for step in range(6):
    yanex.log_metrics({"acc": 0.5 + lr * step, "loss": 1 / (1 + lr * step)}, step=step)
yanex.save_artifact({"lr": lr}, "summary.json")
if yanex.get_param("files", default=False):
    yanex.save_artifact(png(24, 12), "plot.png")
    yanex.save_artifact("first line\\nsecond <b>line</b>\\n", "notes.txt")
    yanex.save_artifact("<script>window.__pwned = 3</script>", "page.html")
    yanex.save_artifact(b"<svg xmlns='http://www.w3.org/2000/svg'>"
                        b"<script>window.__pwned = 4</script></svg>", "vector.svg")
    yanex.save_artifact(b"\\x00\\x01binary", "weights.bin")
    yanex.save_artifact("deep\\n", "nested/deep.txt")
print(yanex.get_param("say", default="trained"), "with lr", lr)
print("a warning", file=sys.stderr)
gate = yanex.get_param("gate", default="")
if gate:
    print("waiting for the gate", flush=True)
    while not Path(gate).exists():
        time.sleep(0.05)
    for step in range(6, 9):
        yanex.log_metrics({"acc": 0.9 + step / 100}, step=step)
    print("through the gate", flush=True)
sys.exit(yanex.get_param("code", default=0))
"""

HOSTILE_NAME = '<img src=x onerror="window.__pwned=1">'
HOSTILE_TAG = "<b>bold</b>"
HOSTILE_SAY = "<script>window.__pwned=2</script>"
SECRET = "the secret outside the store"


@dataclass
class Stock:
    """The experiments made for the tests, by role, and the secret's path."""

    project: Project
    ids: dict[str, str] = field(default_factory=dict)
    secret: Path | None = None

    def sweep_ids(self) -> list[str]:
        return [self.ids["sweep0"], self.ids["sweep1"]]


def make_project(top: Path) -> Project:
    """A committed git repository and an empty store under ``top``."""
    home = top / "home"
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("YANEX_")}
    env.update(GIT_ENV)
    env["HOME"] = str(home)
    env["GIT_CEILING_DIRECTORIES"] = str(top)
    env["YANEX_EXPERIMENTS_DIR"] = str(top / "store")
    env.pop("DISPLAY", None)
    env.pop("BROWSER", None)
    src = str(Path(__file__).resolve().parent.parent / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    root = top / "repo"
    root.mkdir()
    project = Project(root, top / "store", env)
    project.git("init", "-q", "-b", "main")
    project.write(".gitignore", "__pycache__/\n")
    project.write("train.py", TRAIN)
    return project


def _run(project: Project, *args: str) -> str:
    before = set(project.experiment_ids())
    result = project.yanex("run", "train.py", *args)
    made = sorted(set(project.experiment_ids()) - before)
    assert made, result.stderr
    return made[-1]


def stock_store(top: Path) -> Stock:
    """Real experiments of every kind the page shows, and traps for it."""
    project = make_project(top)
    stock = Stock(project)
    before = set(project.experiment_ids())
    project.yanex(
        "run",
        "train.py",
        "--param",
        "lr=list(0.1, 0.3)",
        "--name",
        "sweep",
        "--tag",
        "grid",
    )
    members = sorted(
        set(project.experiment_ids()) - before,
        key=lambda i: project.metadata(project.store / i)["sweep"]["index"],
    )
    stock.ids["sweep0"], stock.ids["sweep1"] = members
    stock.ids["broken"] = _run(project, "--param", "code=3", "--name", "broken")
    stock.ids["files"] = _run(
        project,
        "--param",
        "lr=0.05",
        "--param",
        "files=true",
        "--name",
        "files",
        "--tag",
        "grid",
        "--tag",
        "final",
    )
    stock.ids["hostile"] = _run(
        project,
        "--name",
        HOSTILE_NAME,
        "--tag",
        HOSTILE_TAG,
        "--param",
        f"say={HOSTILE_SAY}",
    )
    stock.ids["editable"] = _run(project, "--name", "editable")
    project.write("train.py", TRAIN + "# an uncommitted change\n", commit=False)
    stock.ids["dirty"] = _run(project, "--ignore-dirty", "--name", "dirty")
    project.git("checkout", "train.py")
    stock.secret = top / "secret.txt"
    stock.secret.write_text(SECRET)
    return stock


def add_escape_traps(stock: Stock) -> None:
    """Links that lead out of experiments, to be refused by the server."""
    assert stock.secret is not None
    store = stock.project.store
    artifacts = store / stock.ids["files"] / "artifacts"
    (artifacts / "leak.txt").symlink_to(stock.secret)
    outside = stock.secret.parent / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    (artifacts / "linked").symlink_to(outside, target_is_directory=True)
    broken_artifacts = store / stock.ids["broken"] / "artifacts"
    if broken_artifacts.exists():
        for path in broken_artifacts.iterdir():
            path.unlink()
        broken_artifacts.rmdir()
    broken_artifacts.symlink_to(outside, target_is_directory=True)
    stdout = store / stock.ids["dirty"] / "stdout.log"
    stdout.unlink()
    stdout.symlink_to(stock.secret)
    (store / "deadbeef").symlink_to(store / stock.ids["sweep0"])


@dataclass
class Answer:
    """One HTTP response."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class Server:
    """A ``yanex ui`` process serving a store."""

    def __init__(self, project: Project, *args: str, env: dict[str, str] | None = None):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "yanex", "ui", "--port", "0", *args],
            cwd=project.root,
            env={**project.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        found = re.search(r"http://([^/]+)/", line)
        if found is None:
            self.process.kill()
            _, err = self.process.communicate(timeout=10)
            raise AssertionError(f"no URL in {line!r}; stderr: {err.decode()}")
        self.url = found.group(0)
        self.netloc = found.group(1)
        self.host, _, port = self.netloc.rpartition(":")
        self.port = int(port)
        self._token: str | None = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            data = response.read()
            found = {name.lower(): value for name, value in response.getheaders()}
            return Answer(response.status, found, data)
        finally:
            connection.close()

    def get(self, path: str, **headers: str) -> Answer:
        return self.request("GET", path, headers=headers)

    @property
    def token(self) -> str:
        if self._token is None:
            page = self.get("/").text
            found = re.search(r'name="yanex-token" content="([^"]+)"', page)
            assert found is not None
            self._token = found.group(1)
        return self._token

    def patch(
        self, experiment_id: str, change: dict[str, Any], **headers: str
    ) -> Answer:
        sent = {
            "Content-Type": "application/json",
            "Origin": f"http://{self.netloc}",
            "X-Yanex-Token": self.token,
            **headers,
        }
        sent = {name: value for name, value in sent.items() if value}
        body = json.dumps(change).encode()
        return self.request("PATCH", f"/api/experiments/{experiment_id}", body, sent)

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str, str]:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        out, err = self.process.communicate(timeout=20)
        return self.process.returncode, out.decode(), err.decode()


def start_running(stock: Stock, gate: Path, name: str) -> str:
    """Start an experiment that waits for ``gate`` to exist; returns its id.

    It joins the stock under ``name``, so counts stay right in later tests.
    """
    project = stock.project
    before = set(project.experiment_ids())
    process = project.popen(
        "run",
        "train.py",
        "--name",
        name,
        "--param",
        f"gate={gate}",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        made = set(project.experiment_ids()) - before
        if made:
            experiment_id = made.pop()
            stdout = project.store / experiment_id / "stdout.log"
            if stdout.exists() and b"waiting" in stdout.read_bytes():
                _RUNNING[experiment_id] = process
                stock.ids[name] = experiment_id
                return experiment_id
        time.sleep(0.05)
    process.kill()
    raise AssertionError("the running experiment did not start")


_RUNNING: dict[str, subprocess.Popen[bytes]] = {}


def finish_running(experiment_id: str, gate: Path) -> None:
    """Open the gate and wait for the experiment's runner to end."""
    gate.touch()
    process = _RUNNING.pop(experiment_id)
    process.wait(timeout=60)


def queue_waiting(stock: Stock) -> str:
    """Record an experiment queued as if for Slurm, by this live process, so
    that it reads ``queued``; :func:`end_waiting` takes it out of the lists."""
    from yanex import lifecycle
    from yanex.store import STAGED, ExperimentSpec, Store

    store = Store(stock.project.store)
    spec = ExperimentSpec({}, script="train.py", name="waiting")
    experiment_id = store.create(spec, status=STAGED)
    lifecycle.mark_queued(store, experiment_id, (STAGED,))
    return experiment_id


def end_waiting(stock: Stock, experiment_id: str) -> None:
    """Cancel and archive an experiment made by :func:`queue_waiting`."""
    from yanex import lifecycle
    from yanex.store import Store

    store = Store(stock.project.store)
    lifecycle.mark_not_started(store, experiment_id, "test over")
    store.update_metadata(experiment_id, lambda m: m.update(archived=True))
