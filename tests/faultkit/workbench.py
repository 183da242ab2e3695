"""A scratch place for trials: a committed git repository and fresh stores."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from faultkit.witness import WORK_SCRIPT

SRC = Path(__file__).resolve().parents[2] / "src"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Fault",
    "GIT_AUTHOR_EMAIL": "fault@example.com",
    "GIT_COMMITTER_NAME": "Fault",
    "GIT_COMMITTER_EMAIL": "fault@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class Site:
    """One trial's store and witness folder."""

    def __init__(self, bench: Workbench, name: str) -> None:
        self.bench = bench
        self.store = bench.root / f"{name}-store"
        self.witness = bench.root / f"{name}-witness"
        self.witness.mkdir(parents=True)

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.bench.env,
            "YANEX_EXPERIMENTS_DIR": str(self.store),
            "FAULT_WITNESS_DIR": str(self.witness),
        }

    def popen(self, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """Start ``yanex ARGS`` in the repository, output discarded by default."""
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        return subprocess.Popen(
            [sys.executable, "-m", "yanex", *args],
            cwd=self.bench.repo,
            env=kwargs.pop("env", self.env),
            **kwargs,
        )

    def yanex(
        self, args: list[str], timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run ``yanex ARGS`` to the end and return what it did."""
        return subprocess.run(
            [sys.executable, "-m", "yanex", *args],
            cwd=self.bench.repo,
            env=self.env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )


class Workbench:
    """A git repository holding the work script, and a place for stores."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = root / "repo"
        self.repo.mkdir(parents=True)
        home = root / "home"
        home.mkdir()
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("YANEX_", "FAULT_"))
        }
        self.env.update(GIT_ENV)
        self.env["HOME"] = str(home)
        self.env["GIT_CEILING_DIRECTORIES"] = str(root)
        self.env["PYTHONPATH"] = str(SRC) + os.pathsep + self.env.get("PYTHONPATH", "")
        self._count = 0
        self.git("init", "-q", "-b", "main")
        self.add("work.py", WORK_SCRIPT)
        self.add(".gitignore", "__pycache__/\n")

    def add(self, name: str, text: str) -> Path:
        """Write a file into the repository and commit it."""
        path = self.repo / name
        path.write_text(text)
        self.git("add", name)
        self.git("commit", "-q", "-m", f"add {name}")
        return path

    def git(self, *args: str) -> None:
        subprocess.run(
            ["git", *args], cwd=self.repo, env=self.env, check=True, capture_output=True
        )

    def site(self, label: str = "trial") -> Site:
        """A fresh store and witness folder for one trial."""
        self._count += 1
        return Site(self, f"{label}-{self._count}")
