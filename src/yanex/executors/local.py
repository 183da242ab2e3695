"""Running recorded experiments on this machine, now."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from yanex.launch import RunReport, run_experiments
from yanex.runner import Events, Launch
from yanex.staging import staged_launch
from yanex.store import STAGED, Store


class LocalExecutor:
    """Runs experiments here, ``parallel`` at a time, from their records.

    With ``echo``, scripts' output also streams to this process's terminal
    (sensible one at a time only).
    """

    name = "local"

    def __init__(self, echo: bool = False) -> None:
        self.echo = echo

    def run(
        self,
        store: Store,
        ids: Sequence[str],
        parallel: int,
        events: Events | None = None,
    ) -> RunReport:
        runs = [launch_from_record(store, experiment_id) for experiment_id in ids]
        return run_experiments(
            store, runs, parallel=parallel, echo=self.echo, events=events
        )


def launch_from_record(store: Store, experiment_id: str) -> Launch:
    """How to start a recorded experiment's script, from its own record."""
    metadata = store.read_metadata(experiment_id)
    if metadata.get("status") == STAGED:
        return staged_launch(store, experiment_id)
    script = metadata.get("script") or {}
    argv = [sys.executable, str(script.get("path")), *script.get("args", [])]
    return Launch(experiment_id, argv, str(metadata.get("cwd")))
