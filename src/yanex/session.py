"""Experiments started from inside Python, e.g. in a notebook.

``with yanex.create_experiment(...):`` records an experiment for the code in
the block, in the same store and format as ``yanex run``; inside it every
``yanex`` call acts on that experiment. The process itself is the runner: its
identity goes into the record and a background thread keeps the heartbeat, so
a kernel that dies mid-block reads back as ``lost``, never stuck ``running``.
Output is not captured (the notebook shows it) and the tree may be dirty: the
git state and patch are recorded either way.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from yanex import context, diagnostics, gitstate, lifecycle, values
from yanex.errors import YanexError
from yanex.runner import HEARTBEAT_INTERVAL
from yanex.store import CANCELLED, COMPLETED, FAILED, ExperimentSpec, Store

logger = diagnostics.get_logger(__name__)


class ExperimentSession:
    """A context manager that is one experiment while its block runs."""

    def __init__(
        self,
        script_path: str | os.PathLike[str] | None = None,
        name: str | None = None,
        config: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        description: str | None = None,
        store: Store | None = None,
    ) -> None:
        if context.is_run_by_yanex():
            raise YanexError(
                "create_experiment() cannot be used in a script run by 'yanex run';"
                " the script already is an experiment"
            )
        self.script_path = Path(script_path).absolute() if script_path else None
        self.name = name
        self.params = values.check_plain_data(config or {}, "config")
        self.tags = list(tags or [])
        self.description = description
        self.store = store if store is not None else Store()
        self.experiment_id: str | None = None
        self._context: context.Context | None = None
        self._stop_heartbeat = threading.Event()

    def __enter__(self) -> ExperimentSession:
        git = gitstate.capture(os.getcwd())
        patch = gitstate.make_patch(git) if gitstate.has_changes(git) else None
        git_record = gitstate.record_of(git, patch)
        spec = ExperimentSpec(
            params=self.params,
            script=str(self.script_path) if self.script_path else None,
            name=self.name,
            description=self.description,
            tags=self.tags,
            git=git_record,
            patch=patch.data if patch is not None else None,
        )
        self.experiment_id = self.store.create(spec)
        lifecycle.mark_running(self.store, self.experiment_id, script_pid=os.getpid())
        directory = str(self.store.directory(self.experiment_id))
        self._context = context.Context(self.experiment_id, directory)
        context.push(self._context)
        self._start_heartbeat()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop_heartbeat.set()
        if self._context is not None:
            context.pop(self._context)
        assert self.experiment_id is not None
        status, reason = _judge(exc_type, exc)
        lifecycle.mark_finished(self.store, self.experiment_id, status, reason=reason)

    @property
    def directory(self) -> Path:
        """The experiment's directory."""
        assert self.experiment_id is not None, "the session has not started"
        return self.store.directory(self.experiment_id)

    def _start_heartbeat(self) -> None:
        experiment_id = self.experiment_id
        assert experiment_id is not None

        def beat() -> None:
            while not self._stop_heartbeat.wait(HEARTBEAT_INTERVAL):
                try:
                    self.store.touch_heartbeat(experiment_id)
                except OSError as error:
                    logger.debug("heartbeat failed: %s", error)

        threading.Thread(target=beat, name="yanex-heartbeat", daemon=True).start()


def _judge(
    exc_type: type[BaseException] | None, exc: BaseException | None
) -> tuple[str, str | None]:
    if exc_type is None:
        return COMPLETED, None
    if issubclass(exc_type, KeyboardInterrupt):
        return CANCELLED, "cancelled by KeyboardInterrupt"
    return FAILED, f"{exc_type.__name__}: {exc}"
