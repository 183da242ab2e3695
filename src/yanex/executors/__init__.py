"""Where and when recorded experiments run: the executors.

An executor takes the ids of recorded experiments (``created`` or
``staged``) and runs each of them through the one runner,
:class:`yanex.runner.Supervisor`, reporting progress through the same
:class:`~yanex.runner.Events` and returning a :class:`RunReport`:

- :class:`~yanex.executors.local.LocalExecutor` runs them here, now, N at a
  time;
- :class:`~yanex.executors.slurm.SlurmExecutor` submits them as one Slurm
  job array whose tasks each run one member through the same runner, and
  watches the array until every member has ended.

Every executor passes the same behavioural tests (``tests/test_executors.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from yanex.launch import RunReport
from yanex.runner import Events
from yanex.store import Store

__all__ = ["Executor", "RunReport"]


class Executor(Protocol):
    """Runs recorded experiments and reports how each one ended."""

    name: str

    def run(
        self,
        store: Store,
        ids: Sequence[str],
        parallel: int,
        events: Events | None = None,
    ) -> RunReport: ...
