"""Running recorded experiments on this machine, now."""

from __future__ import annotations

import os
from collections.abc import Sequence

from yanex.launch import RunReport, launch_from_record, run_experiments
from yanex.runner import Events, Launch
from yanex.staging import is_abandoned, staged_launch
from yanex.store import CREATED, STAGED, Store


class LocalExecutor:
    """Runs experiments here, ``parallel`` at a time (0: one per CPU).

    A staged experiment is claimed as it starts, as is one whose earlier
    claim died with its runner; a created one belongs to this process
    already. Any other (taken by another runner meanwhile) is skipped.

    With ``echo``, scripts' output also streams to this process's terminal,
    which makes sense one at a time only.
    """

    name = "local"

    def __init__(self, echo: bool = False) -> None:
        self.echo = echo

    def check(self) -> None:
        """A local run needs nothing more than yanex itself."""

    def run(
        self,
        store: Store,
        ids: Sequence[str],
        parallel: int,
        events: Events | None = None,
    ) -> RunReport:
        runs: list[Launch] = []
        skipped: list[str] = []
        for experiment_id in ids:
            metadata = store.read_metadata(experiment_id)
            status = metadata.get("status")
            if status == STAGED or is_abandoned(store, experiment_id, metadata):
                runs.append(staged_launch(store, experiment_id))
            elif status == CREATED:
                runs.append(launch_from_record(store, experiment_id))
            else:
                skipped.append(experiment_id)
        report = self.run_launches(store, runs, parallel, events)
        return report._replace(skipped=skipped + report.skipped)

    def run_launches(
        self,
        store: Store,
        runs: Sequence[Launch],
        parallel: int,
        events: Events | None = None,
    ) -> RunReport:
        """Run launches made already, e.g. for experiments just created."""
        workers = parallel if parallel > 0 else (os.cpu_count() or 1)
        return run_experiments(
            store, runs, parallel=workers, echo=self.echo, events=events
        )
