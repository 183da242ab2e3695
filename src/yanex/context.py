"""The experiment the current process belongs to, as seen from a script.

``yanex run`` starts a script with the experiment's directory in the
``YANEX_EXPERIMENT_DIR`` environment variable; :func:`yanex.create_experiment`
sets one for the process instead. Everything a script calls goes through the
:class:`Context` found here. Without one the script is *standalone*: it gets
its parameters' defaults, and logging does nothing and writes nothing.

Importing this module must stay cheap, because every tracked script pays for
it: only ``os`` and ``sys`` at import time, the rest when first used.
"""

from __future__ import annotations

import os

from yanex import layout
from yanex.errors import MetricError

TYPE_CHECKING = False  # typing is not imported: it would slow every script
if TYPE_CHECKING:
    import threading
    from pathlib import Path
    from typing import Any

_MISSING = object()


class Context:
    """The current experiment: its directory, parameters and metrics log."""

    def __init__(self, experiment_id: str, directory: str) -> None:
        self.experiment_id = experiment_id
        self.directory = directory
        self._params: dict[str, Any] | None = None
        self._metrics: MetricsLog | None = None

    def path(self, name: str) -> str:
        """The path of a named record inside the experiment directory."""
        return os.path.join(self.directory, name)

    @property
    def params(self) -> dict[str, Any]:
        """The parameters recorded for this experiment (read once)."""
        if self._params is None:
            record = layout.read_json(self.path(layout.PARAMS_FILE))
            params = record.get("params") if isinstance(record, dict) else None
            self._params = params if isinstance(params, dict) else {}
        return self._params

    @property
    def metrics(self) -> MetricsLog:
        """The append-only metrics log of this experiment."""
        if self._metrics is None:
            self._metrics = MetricsLog(self.path(layout.METRICS_FILE))
        return self._metrics

    def close(self) -> None:
        """Release the metrics log's file."""
        if self._metrics is not None:
            self._metrics.close()


_override: list[Context] = []
_from_environment: Context | None = None


def current() -> Context | None:
    """The experiment of this process, or None when running standalone."""
    global _from_environment
    if _override:
        return _override[-1]
    directory = os.environ.get(layout.ENV_EXPERIMENT_DIR)
    if not directory:
        return None
    if _from_environment is None or _from_environment.directory != directory:
        experiment_id = os.environ.get(layout.ENV_EXPERIMENT_ID) or os.path.basename(
            directory.rstrip(os.sep)
        )
        _from_environment = Context(experiment_id, directory)
    return _from_environment


def push(context: Context) -> None:
    """Make ``context`` current (used by :func:`yanex.create_experiment`)."""
    _override.append(context)


def pop(context: Context) -> None:
    """Stop ``context`` being current."""
    if _override and _override[-1] is context:
        _override.pop()
    context.close()


def is_run_by_yanex() -> bool:
    """Whether this process is a script started by ``yanex run``."""
    return bool(os.environ.get(layout.ENV_EXPERIMENT_DIR))


# The public, in-script API. ``yanex/__init__.py`` re-exports these.


def get_params() -> dict[str, Any]:
    """All parameters of the current experiment; ``{}`` when standalone."""
    context = current()
    return context.params if context is not None else {}


def get_param(key: str, default: Any = None) -> Any:
    """One parameter by dotted key (``"model.lr"``), else ``default``."""
    value: Any = get_params()
    for part in key.split("."):
        if not isinstance(value, dict):
            return default
        value = value.get(part, _MISSING)
        if value is _MISSING:
            return default
    return value


def log_metrics(data: dict[str, Any], step: int | None = None) -> None:
    """Append metric values for one step; a no-op when standalone.

    Without ``step``, the step after the last one logged is used. Logging the
    same step twice merges the values. Values must be numbers, booleans,
    strings or None; numpy and torch scalars are converted. A value that
    cannot be stored raises :class:`~yanex.errors.MetricError` after every
    other value of the call has been stored.
    """
    if not isinstance(data, dict):
        raise MetricError(f"log_metrics() takes a dict, not {type(data).__name__}")
    step = _check_step(step)
    context = current()
    if context is None:
        return
    context.metrics.append(data, step)


def log_results(data: dict[str, Any], step: int | None = None) -> None:
    """Old name of :func:`log_metrics`, kept so existing scripts still run."""
    log_metrics(data, step)


def _check_step(step: Any) -> int | None:
    if step is None:
        return None
    if isinstance(step, bool) or not hasattr(step, "__index__"):
        raise MetricError(f"step must be an integer, not {type(step).__name__}")
    return int(step.__index__())


def get_experiment_id() -> str | None:
    """The current experiment's id, or None when standalone."""
    context = current()
    return context.experiment_id if context is not None else None


def get_experiment_dir() -> Path | None:
    """The current experiment's directory, or None when standalone."""
    context = current()
    if context is None:
        return None
    from pathlib import Path

    return Path(context.directory)


def get_artifacts_dir() -> Path | None:
    """Where the current experiment's artifacts are kept, or None."""
    directory = get_experiment_dir()
    return directory / layout.ARTIFACTS_DIR if directory is not None else None


def is_standalone() -> bool:
    """Whether the script runs without an experiment (plain ``python``)."""
    return current() is None


def has_context() -> bool:
    """Whether the script runs inside an experiment."""
    return current() is not None


def get_metadata() -> dict[str, Any]:
    """The current experiment's metadata record; ``{}`` when standalone."""
    context = current()
    if context is None:
        return {}
    record = layout.read_json(context.path(layout.METADATA_FILE))
    return record if isinstance(record, dict) else {}


def get_status() -> str | None:
    """The current experiment's recorded status, or None when standalone."""
    status = get_metadata().get("status")
    return status if isinstance(status, str) else None


class MetricsLog:
    """Appends metric lines to ``metrics.jsonl``, one whole line per call.

    The file stays open and each line is written with one ``write`` under an
    exclusive ``flock``, so several processes or threads can log to the same
    experiment at once and a killed writer loses nothing already logged.

    A process forked from one that logs starts over with its own lock and
    its own open file: the lock it inherits may be held by a thread that
    does not exist in it, and a shared open file would share the ``flock``.
    """

    def __init__(self, path: str) -> None:
        import json
        import threading

        self.path = path
        self._descriptor: int | None = None
        self._last_step: int | None = None
        self._lock: threading.Lock = threading.Lock()
        self._encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
        _forget_after_fork(self)

    def _start_over_in_child(self) -> None:
        import threading

        self._lock = threading.Lock()
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None

    def append(self, data: dict[str, Any], step: int | None) -> int:
        """Store the storable values of ``data`` at ``step``; return the step."""
        import fcntl
        from datetime import UTC, datetime

        values, rejected = _storable_values(data)
        with self._lock:
            descriptor = self._open()
            if step is None:
                step = 0 if self._last_step is None else self._last_step + 1
            if self._last_step is None or step > self._last_step:
                self._last_step = step
            if values:
                record = {
                    "step": step,
                    "time": datetime.now(UTC).isoformat(timespec="microseconds"),
                    "metrics": values,
                }
                line = (self._encoder.encode(record) + "\n").encode("utf-8")
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                try:
                    _append_whole(descriptor, line)
                finally:
                    fcntl.flock(descriptor, fcntl.LOCK_UN)
        if rejected:
            raise MetricError("; ".join(rejected))
        return step

    def _open(self) -> int:
        """Open the log, creating it with its header if this is the first."""
        if self._descriptor is not None:
            return self._descriptor
        import fcntl

        flags = os.O_WRONLY | os.O_APPEND
        try:
            descriptor = os.open(self.path, flags | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            self._last_step = last_logged_step(self.path)
            descriptor = os.open(self.path, flags | layout.NO_LINKS)
        else:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                _append_whole(descriptor, layout.METRICS_HEADER)
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        self._descriptor = descriptor
        return descriptor

    def close(self) -> None:
        """Close the file; a later call reopens it."""
        with self._lock:
            if self._descriptor is not None:
                os.close(self._descriptor)
                self._descriptor = None


_open_logs: Any = None


def _forget_after_fork(log: MetricsLog) -> None:
    """Have ``log`` start over in every process forked from this one."""
    global _open_logs
    if _open_logs is None:
        import weakref

        _open_logs = weakref.WeakSet()
        os.register_at_fork(after_in_child=_start_over_in_child)
    _open_logs.add(log)


def _start_over_in_child() -> None:
    for log in list(_open_logs):
        log._start_over_in_child()


def _append_whole(descriptor: int, line: bytes) -> None:
    """Append all of ``line`` to a file opened for appending, or none of it.

    A full disk or a file-size limit can cut a write short. Left behind, the
    cut line would swallow the next one appended; so under the writers' lock
    the part written is cut off again before the error is raised.
    """
    written = 0
    try:
        while written < len(line):
            written += os.write(descriptor, line[written:])
    except OSError:
        if written:
            end = os.lseek(descriptor, 0, os.SEEK_CUR)
            os.ftruncate(descriptor, end - written)
        raise


def last_logged_step(path: str, window: int = 1 << 16) -> int | None:
    """The highest step among the last lines of a metrics file, if any.

    Reading only the tail keeps this constant-time however long the log is;
    it lets a resumed or second process continue the step count.
    """
    import json

    try:
        with layout.open_inside(path) as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - window))
            tail = handle.read()
    except OSError:
        return None
    highest: int | None = None
    for line in tail.splitlines()[-64:]:
        try:
            step = json.loads(line).get("step")
        except (ValueError, AttributeError):
            continue
        if isinstance(step, int) and (highest is None or step > highest):
            highest = step
    return highest


def _storable_values(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    values: dict[str, Any] = {}
    rejected: list[str] = []
    for key, value in data.items():
        if not isinstance(key, str):
            rejected.append(f"metric name {key!r} is not a string")
            continue
        converted = _storable(value)
        if converted is _MISSING:
            rejected.append(
                f"metric {key!r}: cannot store a {type(value).__name__}"
                " (log numbers, booleans or strings)"
            )
        else:
            values[key] = converted
    return values, rejected


def _storable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    item = getattr(value, "item", None)
    if callable(item):
        try:
            value = item()
        except (TypeError, ValueError, RuntimeError):
            return _MISSING
        if value is None or isinstance(value, bool | int | float | str):
            return value
        return _MISSING
    if hasattr(value, "__float__") and not isinstance(value, bytes | complex):
        try:
            return float(value)
        except (TypeError, ValueError):
            return _MISSING
    return _MISSING
