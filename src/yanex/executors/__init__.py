"""Where and when recorded experiments run: the executors.

An executor takes the ids of recorded experiments (``created`` ones this
process just recorded, or ``staged`` ones, which it claims) and has each of
them run by the one runner, :class:`yanex.runner.Supervisor`, reporting
progress through the same :class:`~yanex.runner.Events` and returning a
:class:`~yanex.launch.RunReport` with an outcome per experiment:

- :class:`~yanex.executors.local.LocalExecutor` runs them here and now,
  ``parallel`` at a time;
- :class:`~yanex.executors.slurm.executor.SlurmExecutor` submits them as
  one Slurm job array whose tasks each run one experiment through the same
  runner, and watches the array until every experiment has ended.

Every executor passes the same behavioural tests (``tests/test_executors.py``);
a new one (Ray, say) is a class with the two methods of :class:`Executor`.
This package imports nothing heavy: each executor is imported when used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

TYPE_CHECKING = False
if TYPE_CHECKING:
    from yanex.launch import RunReport
    from yanex.runner import Events
    from yanex.store import Store


class Executor(Protocol):
    """Runs recorded experiments and reports how each one ended."""

    name: str

    def check(self) -> None:
        """Raise a :class:`~yanex.errors.YanexError` if this executor cannot
        run here; called before anything is recorded."""

    def run(
        self,
        store: Store,
        ids: Sequence[str],
        parallel: int,
        events: Events | None = None,
    ) -> RunReport:
        """Run ``ids``, at most ``parallel`` at once (0: no limit)."""
