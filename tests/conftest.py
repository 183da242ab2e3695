"""Shared fixtures: a store, a committed git repository, and the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@dataclass
class Result:
    """What one yanex invocation did."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


class Project:
    """A committed git repository with a store beside it."""

    def __init__(self, root: Path, store: Path, env: dict[str, str]) -> None:
        self.root = root
        self.store = store
        self.env = env

    def write(self, name: str, text: str, commit: bool = True) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        if commit:
            self.git("add", name)
            self.git("commit", "-q", "-m", f"add {name}")
        return path

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args],
            cwd=self.root,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def yanex(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 60,
        input: str | None = None,
    ) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "yanex", *args],
            cwd=self.root,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            errors="replace",
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def popen(self, *args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "yanex", *args],
            cwd=self.root,
            env=self.env,
            **kwargs,
        )

    def experiment_ids(self) -> list[str]:
        if not self.store.exists():
            return []
        return sorted(
            p.name for p in self.store.iterdir() if (p / "metadata.json").exists()
        )

    def only_experiment(self) -> Path:
        ids = self.experiment_ids()
        assert len(ids) == 1, ids
        return self.store / ids[0]

    def metadata(self, directory: Path) -> dict[str, Any]:
        return json.loads((directory / "metadata.json").read_text())

    def params(self, directory: Path) -> Any:
        return json.loads((directory / "params.json").read_text())["params"]


def environment_in(tmp_path: Path) -> dict[str, str]:
    """An environment for yanex with its home and store in ``tmp_path``."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("YANEX_")
    }
    env.update(GIT_ENV)
    env["HOME"] = str(home)
    env["GIT_CEILING_DIRECTORIES"] = str(tmp_path)
    env["YANEX_EXPERIMENTS_DIR"] = str(tmp_path / "store")
    src = str(Path(__file__).resolve().parent.parent / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def project_in(tmp_path: Path) -> Project:
    """A fresh committed git repository in ``tmp_path``, its store beside it."""
    root = tmp_path / "repo"
    root.mkdir()
    made = Project(root, tmp_path / "store", environment_in(tmp_path))
    made.git("init", "-q", "-b", "main")
    made.write(".gitignore", "__pycache__/\n")
    return made


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    return environment_in(tmp_path)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return project_in(tmp_path)


@pytest.fixture
def plain_dir(tmp_path: Path, base_env: dict[str, str]) -> Project:
    """A directory that is not a git repository."""
    root = tmp_path / "plain"
    root.mkdir()
    return Project(root, tmp_path / "store", base_env)


@pytest.fixture
def store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the in-process library at a fresh store."""
    store = tmp_path / "store"
    for key in list(os.environ):
        if key.startswith("YANEX_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("YANEX_EXPERIMENTS_DIR", str(store))
    yield store


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll until ``predicate`` holds; fail the test after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


@pytest.fixture(scope="session")
def slurm_cluster() -> None:
    """A Slurm cluster answers; skip (or fail in CI) otherwise."""
    from slurm_support import require_cluster

    require_cluster()


def most_at_once(records: list[dict[str, Any]]) -> int:
    """How many of these experiments ran at once at most, by their records."""
    from datetime import datetime

    changes = []
    for record in records:
        changes.append((datetime.fromisoformat(record["started_at"]), 1))
        changes.append((datetime.fromisoformat(record["ended_at"]), -1))
    running = peak = 0
    for _, change in sorted(changes):
        running += change
        peak = max(peak, running)
    return peak
