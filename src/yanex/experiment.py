"""One recorded experiment, as readers see it.

An :class:`Experiment` reads its records on demand: metadata when created,
parameters, git state, metrics and output when asked for. Its
:attr:`~Experiment.status` is the truthful one (see :mod:`yanex.liveness`):
an experiment whose runner died reads ``lost``. The command line, the
results API and the web page all read experiments through this class.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from yanex import artifacts, layout, liveness
from yanex.metrics import MetricsHistory, read_history
from yanex.store import Store

_MISSING = object()


class Experiment:
    """An experiment of a store: its records, status and files."""

    def __init__(
        self, store: Store, experiment_id: str, metadata: dict[str, Any] | None = None
    ) -> None:
        self.store = store
        self.id = experiment_id
        self.directory: Path = store.directory(experiment_id)
        self.metadata = (
            metadata if metadata is not None else store.read_metadata(experiment_id)
        )
        self._verdict: liveness.Verdict | None = None
        self._params: dict[str, Any] | None = None
        self._history: MetricsHistory | None = None

    def __repr__(self) -> str:
        return f"Experiment({self.id!r}, name={self.name!r}, status={self.status!r})"

    # Identity and description.

    @property
    def name(self) -> str | None:
        return self.metadata.get("name")

    @property
    def description(self) -> str | None:
        return self.metadata.get("description")

    @property
    def tags(self) -> list[str]:
        return list(self.metadata.get("tags") or [])

    @property
    def archived(self) -> bool:
        return bool(self.metadata.get("archived"))

    @property
    def script_path(self) -> Path | None:
        path = (self.metadata.get("script") or {}).get("path")
        return Path(path) if path else None

    @property
    def sweep_id(self) -> str | None:
        return (self.metadata.get("sweep") or {}).get("id")

    # Timing and outcome.

    @property
    def status(self) -> str:
        """The truthful status: ``lost`` when a recorded runner is gone."""
        return self.verdict.status

    @property
    def status_reason(self) -> str | None:
        """Why the experiment ended other than completed, or why it is lost."""
        return self.verdict.reason or self.metadata.get("reason")

    @property
    def verdict(self) -> liveness.Verdict:
        if self._verdict is None:
            self._settle_with_slurm()
            self._verdict = liveness.judge(self.metadata, self.heartbeat_mtime())
        return self._verdict

    def _settle_with_slurm(self) -> None:
        """A Slurm member's record may lag behind Slurm: settle it first."""
        if not isinstance(self.metadata.get("slurm"), dict):
            return
        from yanex.executors.slurm.record import needs_settling, slurm_of

        status = str(self.metadata.get("status"))
        if not needs_settling(status, slurm_of(self.metadata)):
            return
        from yanex.executors.slurm.settle import settle

        if settle(self.store, [self.id]):
            self.metadata = self.store.read_metadata(self.id)

    def heartbeat_mtime(self) -> float | None:
        """When the runner last showed it was alive, if it ever did."""
        try:
            return (self.directory / layout.HEARTBEAT_FILE).stat().st_mtime
        except OSError:
            return None

    @property
    def created_at(self) -> str | None:
        return self.metadata.get("created_at")

    @property
    def started_at(self) -> str | None:
        return self.metadata.get("started_at")

    @property
    def ended_at(self) -> str | None:
        return self.metadata.get("ended_at")

    @property
    def duration(self) -> float | None:
        return self.metadata.get("duration_s")

    @property
    def exit_code(self) -> int | None:
        return self.metadata.get("exit_code")

    # Records.

    @property
    def params(self) -> dict[str, Any]:
        """The parameters exactly as the script received them."""
        if self._params is None:
            self._params = self.store.read_params(self.id)
        return self._params

    def get_param(self, key: str, default: Any = None) -> Any:
        """One parameter by dotted key, else ``default``."""
        value: Any = self.params
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                return default
            value = value[part]
        return value

    @property
    def git(self) -> dict[str, Any] | None:
        """The code state recorded at launch, or None."""
        return self.store.read_git(self.id)

    @property
    def has_patch(self) -> bool:
        return (self.directory / layout.PATCH_FILE).is_file()

    @property
    def patch_path(self) -> Path:
        return self.directory / layout.PATCH_FILE

    def metrics_history(self) -> MetricsHistory:
        """Every logged step, merged by step."""
        if self._history is None:
            self._history = read_history(str(self.directory / layout.METRICS_FILE))
        return self._history

    @property
    def final_metrics(self) -> dict[str, Any]:
        """The last value logged for each metric."""
        return self.metrics_history().final()

    def best_metric(self, name: str, maximize: bool = True) -> Any:
        """The best value a metric reached, or None."""
        return self.metrics_history().best(name, maximize)

    def get_metric(self, name: str, default: Any = None) -> Any:
        """The final value of one metric, else ``default``."""
        return self.final_metrics.get(name, default)

    # Files.

    @property
    def artifacts_dir(self) -> Path:
        return self.directory / layout.ARTIFACTS_DIR

    def list_artifacts(self) -> list[str]:
        """Names of the experiment's artifacts, sorted."""
        return artifacts.list_in(self.artifacts_dir)

    def artifact_sizes(self) -> dict[str, int]:
        """Each artifact's size in bytes (of a link, the link's own)."""
        return {
            name: (self.artifacts_dir / name).lstat().st_size
            for name in self.list_artifacts()
        }

    def artifact_path(self, name: str) -> Path:
        """The path of one artifact; names cannot leave the artifacts folder."""
        return artifacts.artifact_path(self.artifacts_dir, name)

    def load_artifact(
        self, name: str, loader: Any = None, format: str | None = None
    ) -> Any:
        """Load one artifact by its extension, or None if absent."""
        return artifacts.load_from(
            self.artifacts_dir, name, loader=loader, format=format
        )

    def output_path(self, stream: str = "stdout") -> Path:
        """The captured ``stdout`` or ``stderr`` file."""
        name = layout.STDERR_FILE if stream == "stderr" else layout.STDOUT_FILE
        return self.directory / name

    def output(
        self,
        stream: str = "stdout",
        tail: int | None = None,
        within: int | None = None,
    ) -> str:
        """Captured output as text (invalid UTF-8 replaced), or its last lines.

        ``within`` bounds how many bytes from the end the last lines are
        looked for in, for views that must stay small whatever was printed.
        """
        path = self.output_path(stream)
        try:
            if tail is not None:
                data = read_tail(path, tail, within=within)
            else:
                with layout.open_inside(str(path)) as handle:
                    data = handle.read()
        except FileNotFoundError:
            return ""
        except OSError as error:
            raise layout.unreadable(str(path), error) from None
        return data.decode("utf-8", "replace")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output: the metadata with the truthful status."""
        data = dict(self.metadata)
        data["status"] = self.status
        data["recorded_status"] = self.metadata.get("status")
        data["status_reason"] = self.status_reason
        data["directory"] = str(self.directory)
        return data


def read_tail(
    path: Path, lines: int, block: int = 1 << 16, within: int | None = None
) -> bytes:
    """The last ``lines`` lines of a file, read backwards from its end.

    With ``within``, only the last that many bytes are read, and the first
    line returned may be the end of a longer one. A missing file raises
    :class:`FileNotFoundError`; one that cannot be read is damage.
    """
    if lines <= 0:
        return b""
    try:
        return _read_tail(path, lines, block, within)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise layout.unreadable(str(path), error) from None


def _read_tail(path: Path, lines: int, block: int, within: int | None) -> bytes:
    with layout.open_inside(str(path)) as handle:
        position = handle.seek(0, os.SEEK_END)
        floor = 0 if within is None else max(0, position - within)
        chunks: list[bytes] = []
        newlines = 0
        while position > floor and newlines <= lines:
            step = min(block, position - floor)
            position -= step
            handle.seek(position)
            chunk = handle.read(step)
            chunks.append(chunk)
            newlines += chunk.count(b"\n")
    data = b"".join(reversed(chunks))
    return b"".join(data.splitlines(keepends=True)[-lines:])
