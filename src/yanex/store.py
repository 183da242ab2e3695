"""The experiment store: one directory per experiment under one root.

The store alone knows the disk. It allocates ids by exclusive creation of
the experiment directory (two runs can never get the same one), writes each
experiment's records in an order that makes it visible only once complete
(the metadata record is written last), and serialises read-modify-write
updates of the metadata with a lock file, so that the runner finishing an
experiment and a user renaming it never lose each other's change.

The experiment directories are the source of truth; anything derived from
them (such as a listing index) can be rebuilt from them at any time.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from yanex import host, layout
from yanex.errors import (
    DamagedRecordError,
    ExperimentNotFoundError,
    StoreError,
)

CREATED = "created"
STAGED = "staged"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
LOST = "lost"

#: Statuses a record can hold; ``lost`` is never written, only concluded.
RECORDED_STATUSES = (CREATED, STAGED, RUNNING, COMPLETED, FAILED, CANCELLED)
FINAL_STATUSES = (COMPLETED, FAILED, CANCELLED)

_ID_ATTEMPTS = 64


def utc_now() -> str:
    """The current time as ISO 8601 in UTC with its offset."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class ExperimentSpec(NamedTuple):
    """What one experiment is: its script, parameters and description.

    ``cwd`` defaults to the current directory at the time of recording.
    """

    params: dict[str, Any]
    script: str | None = None
    script_args: Sequence[str] = ()
    name: str | None = None
    description: str | None = None
    tags: Sequence[str] = ()
    command: Sequence[str] = ()
    cwd: str | None = None
    git: dict[str, Any] | None = None
    patch: bytes | None = None
    sweep: dict[str, Any] | None = None


class Store:
    """The experiments under one root directory."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root if root is not None else layout.default_store_root())

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    def directory(self, experiment_id: str) -> Path:
        """The directory of ``experiment_id``, refusing anything but an id.

        Only the exact id shape is accepted, so no user text can name a path
        outside the store.
        """
        if not layout.is_valid_id(experiment_id):
            raise ExperimentNotFoundError(f"{experiment_id!r} is not an experiment id")
        return self.root / experiment_id

    def file(self, experiment_id: str, name: str) -> Path:
        """The path of one named record of an experiment."""
        return self.directory(experiment_id) / name

    def create(self, spec: ExperimentSpec, status: str = CREATED) -> str:
        """Record a new experiment and return its id.

        The metadata record is written last: until it exists, readers ignore
        the directory, so a crash half-way leaves no visible experiment.
        """
        experiment_id, directory = self._allocate()
        try:
            self._write_initial_records(directory, spec)
            metadata = _initial_metadata(experiment_id, spec, status)
            layout.write_json_atomic(str(directory / layout.METADATA_FILE), metadata)
        except OSError as error:
            _remove_tree_quietly(directory)
            raise StoreError(
                f"cannot record experiment in {self.root}: {error}"
            ) from None
        return experiment_id

    def _allocate(self) -> tuple[str, Path]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create store {self.root}: {error}") from None
        for _ in range(_ID_ATTEMPTS):
            experiment_id = layout.new_id()
            directory = self.root / experiment_id
            try:
                directory.mkdir()
            except FileExistsError:
                continue
            except OSError as error:
                raise StoreError(
                    f"cannot write to store {self.root}: {error}"
                ) from None
            return experiment_id, directory
        raise StoreError(f"cannot allocate a new experiment id in {self.root}")

    def _write_initial_records(self, directory: Path, spec: ExperimentSpec) -> None:
        params_record = {"yanex_format": layout.FORMAT_VERSION, "params": spec.params}
        layout.write_json_atomic(str(directory / layout.PARAMS_FILE), params_record)
        if spec.git is not None:
            git_record = {"yanex_format": layout.FORMAT_VERSION, **spec.git}
            layout.write_json_atomic(str(directory / layout.GIT_FILE), git_record)
        if spec.patch:
            layout.write_atomic(str(directory / layout.PATCH_FILE), spec.patch)
        header = {"yanex_format": layout.FORMAT_VERSION, "kind": "metrics"}
        layout.write_atomic(
            str(directory / layout.METRICS_FILE),
            layout.encode_json(header, compact=True) + b"\n",
        )
        (directory / layout.ARTIFACTS_DIR).mkdir()

    def exists(self, experiment_id: str) -> bool:
        """Whether a complete experiment with this id is recorded."""
        return (
            layout.is_valid_id(experiment_id)
            and (self.root / experiment_id / layout.METADATA_FILE).is_file()
        )

    def read_metadata(self, experiment_id: str) -> dict[str, Any]:
        """The metadata record of one experiment."""
        return self._read_record(experiment_id, layout.METADATA_FILE)

    def read_params(self, experiment_id: str) -> dict[str, Any]:
        """The parameters exactly as the experiment's script received them."""
        record = self._read_record(experiment_id, layout.PARAMS_FILE)
        params = record.get("params")
        if not isinstance(params, dict):
            raise DamagedRecordError(
                f"experiment {experiment_id}: params.json has no params"
            )
        return params

    def read_git(self, experiment_id: str) -> dict[str, Any] | None:
        """The recorded git state, or None when none was recorded."""
        try:
            return self._read_record(experiment_id, layout.GIT_FILE)
        except ExperimentNotFoundError:
            if self.exists(experiment_id):
                return None
            raise

    def _read_record(self, experiment_id: str, name: str) -> dict[str, Any]:
        path = self.file(experiment_id, name)
        try:
            record = layout.read_json(str(path))
        except FileNotFoundError:
            raise ExperimentNotFoundError(
                f"experiment {experiment_id} has no {name}"
            ) from None
        except DamagedRecordError as error:
            raise DamagedRecordError(f"experiment {experiment_id}: {error}") from None
        except OSError as error:
            raise StoreError(f"cannot read {path}: {error}") from None
        if not isinstance(record, dict):
            raise DamagedRecordError(
                f"experiment {experiment_id}: {name} is not a record"
            )
        return record

    def update_metadata(
        self, experiment_id: str, change: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any]:
        """Apply ``change`` to the metadata under the experiment's lock.

        Returns the record as written.
        """
        with self.locked(experiment_id):
            metadata = self.read_metadata(experiment_id)
            change(metadata)
            metadata["yanex_format"] = layout.FORMAT_VERSION
            path = self.file(experiment_id, layout.METADATA_FILE)
            try:
                layout.write_json_atomic(str(path), metadata)
            except OSError as error:
                raise StoreError(f"cannot update {path}: {error}") from None
        return metadata

    @contextmanager
    def locked(self, experiment_id: str) -> Iterator[None]:
        """Hold the experiment's metadata lock for a short critical section."""
        import fcntl

        path = self.file(experiment_id, layout.LOCK_FILE)
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            raise ExperimentNotFoundError(f"no experiment {experiment_id}") from None
        except OSError as error:
            raise StoreError(f"cannot lock {path}: {error}") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)

    def experiment_ids(self) -> list[str]:
        """Ids of every complete experiment, in no particular order."""
        try:
            entries = os.scandir(self.root)
        except FileNotFoundError:
            return []
        except OSError as error:
            raise StoreError(f"cannot read store {self.root}: {error}") from None
        with entries:
            candidates = [e.name for e in entries if layout.is_valid_id(e.name)]
        return [
            i for i in candidates if (self.root / i / layout.METADATA_FILE).is_file()
        ]

    def touch_heartbeat(self, experiment_id: str) -> None:
        """Record that the runner of this experiment is alive right now."""
        path = self.file(experiment_id, layout.HEARTBEAT_FILE)
        try:
            os.utime(path)
        except FileNotFoundError:
            path.touch()

    def heartbeat_age(self, experiment_id: str) -> float | None:
        """Seconds since the last heartbeat, or None if there was none."""
        import time

        try:
            mtime = self.file(experiment_id, layout.HEARTBEAT_FILE).stat().st_mtime
        except OSError:
            return None
        return max(0.0, time.time() - mtime)


def _initial_metadata(
    experiment_id: str, spec: ExperimentSpec, status: str
) -> dict[str, Any]:
    return {
        "yanex_format": layout.FORMAT_VERSION,
        "id": experiment_id,
        "name": spec.name,
        "description": spec.description,
        "tags": list(spec.tags),
        "status": status,
        "archived": False,
        "created_at": utc_now(),
        "started_at": None,
        "ended_at": None,
        "duration_s": None,
        "exit_code": None,
        "reason": None,
        "script": {"path": spec.script, "args": list(spec.script_args)},
        "command": list(spec.command),
        "cwd": spec.cwd or os.getcwd(),
        "user": host.username(),
        "created_on": host.hostname(),
        # A created experiment belongs to the process that will run it, so
        # that it reads back as lost if that process dies before starting it.
        "runner": host.runner_identity() if status == CREATED else None,
        "script_pid": None,
        "python": host.python_info(),
        "platform": host.platform_name(),
        "sweep": spec.sweep,
        "restarts": 0,
    }


def _remove_tree_quietly(directory: Path) -> None:
    import shutil

    shutil.rmtree(directory, ignore_errors=True)


def is_disk_full(error: OSError) -> bool:
    """Whether an OS error means the filesystem has no room left."""
    return error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
