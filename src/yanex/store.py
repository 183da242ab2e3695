"""The experiment store: one directory per experiment under one root.

The store alone knows the disk. It allocates ids by exclusive creation of
the experiment directory (two runs can never get the same one), writes each
experiment's records in an order that makes it visible only once complete
(the metadata record is written last), and serialises read-modify-write
updates of the metadata with a lock file, so that the runner finishing an
experiment and a user renaming it never lose each other's change.

The experiment directories are the source of truth; anything derived from
them (such as a listing index) can be rebuilt from them at any time.

A full disk must not keep a runner from recording how an experiment ended.
Every experiment is therefore created with a *spare*: a file of
:data:`SPARE_BYTES` written ahead of need. When its final record finds no
room, the record is written over the spare's own blocks, which needs none,
cut to size and renamed into place as usual. The spare is removed once the
final record is written.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from yanex import diagnostics, host, layout, shapes
from yanex.errors import (
    DamagedRecordError,
    ExperimentNotFoundError,
    StoreError,
)

CREATED = "created"
STAGED = "staged"
QUEUED = "queued"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
LOST = "lost"

#: Statuses a record can hold; ``lost`` is never written, only concluded.
RECORDED_STATUSES = (CREATED, STAGED, QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED)
FINAL_STATUSES = (COMPLETED, FAILED, CANCELLED)

logger = diagnostics.get_logger(__name__)

_ID_ATTEMPTS = 64
#: Room set aside in each experiment for its final record on a full disk.
SPARE_BYTES = 16 * 1024
# Where new experiments are assembled before they appear under their id.
_INCOMING = ".new"
#: Age after which a folder in ``.new/`` is a leftover of a crash. Assembling
#: an experiment takes well under a second; a day allows for clocks of
#: machines sharing a store that disagree by hours.
STALE_WORKSPACE_SECONDS = 24 * 3600


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
        self._root_exists = False

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    def directory(self, experiment_id: str) -> Path:
        """The directory of ``experiment_id``, refusing anything but an id.

        Only the exact id shape is accepted, and never a link, so no user
        text can name a path outside the store.
        """
        if not layout.is_valid_id(experiment_id):
            raise ExperimentNotFoundError(f"{experiment_id!r} is not an experiment id")
        directory = self.root / experiment_id
        if directory.is_symlink():
            raise ExperimentNotFoundError(
                f"{experiment_id} is a link, not an experiment"
            )
        return directory

    def file(self, experiment_id: str, name: str) -> Path:
        """The path of one named record of an experiment."""
        return self.directory(experiment_id) / name

    def create(self, spec: ExperimentSpec, status: str = CREATED) -> str:
        """Record a new experiment and return its id.

        The experiment is assembled in a private folder under ``.new/`` and
        renamed into place whole, so readers see all of its records or none,
        and a crash half-way leaves no visible experiment. The rename also
        claims the id: it fails if another experiment already holds it.
        """
        workspace = self._new_workspace()
        try:
            self._write_records(workspace, spec)
            for _ in range(_ID_ATTEMPTS):
                experiment_id = layout.new_id()
                metadata = _initial_metadata(experiment_id, spec, status)
                layout.write_private(
                    str(workspace / layout.METADATA_FILE), layout.encode_json(metadata)
                )
                if self._publish(workspace, experiment_id):
                    return experiment_id
        except OSError as error:
            _remove_tree_quietly(workspace)
            raise StoreError(
                f"cannot record experiment in {self.root}: {error}"
            ) from None
        _remove_tree_quietly(workspace)
        raise StoreError(f"cannot allocate a new experiment id in {self.root}")

    def _new_workspace(self) -> Path:
        incoming = self.root / _INCOMING
        if not self._root_exists:
            try:
                incoming.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StoreError(f"cannot create store {self.root}: {error}") from None
            self._root_exists = True
            _remove_stale_workspaces(incoming)
        workspace = incoming / f"{os.getpid()}-{layout.new_id()}"
        try:
            workspace.mkdir()
        except OSError as error:
            raise StoreError(f"cannot write to store {self.root}: {error}") from None
        return workspace

    def _publish(self, workspace: Path, experiment_id: str) -> bool:
        """Move a complete experiment to its id; False if the id is taken."""
        try:
            os.rename(workspace, self.root / experiment_id)
        except OSError as error:
            if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
                return False
            raise
        return True

    def _write_records(self, directory: Path, spec: ExperimentSpec) -> None:
        """Write the first records, but the metadata, into the workspace.

        No reader looks there, so the records need no temporary file and
        rename.
        """
        version = layout.FORMAT_VERSION
        records: list[tuple[str, bytes]] = [
            (
                layout.PARAMS_FILE,
                layout.encode_json({"yanex_format": version, "params": spec.params}),
            ),
        ]
        if spec.git is not None:
            git_record = {"yanex_format": version, **spec.git}
            records.append((layout.GIT_FILE, layout.encode_json(git_record)))
        if spec.patch:
            records.append((layout.PATCH_FILE, spec.patch))
        # Written, not merely allocated: overwriting written blocks never
        # needs more room, on any filesystem.
        records.append((layout.SPARE_FILE, bytes(SPARE_BYTES)))
        for name, data in records:
            layout.write_private(str(directory / name), data)

    def exists(self, experiment_id: str) -> bool:
        """Whether a complete experiment with this id is recorded.

        A link in the store, even one named like an experiment, is not one:
        following it could lead a reader outside the store.
        """
        if not layout.is_valid_id(experiment_id):
            return False
        directory = self.root / experiment_id
        return (
            not directory.is_symlink() and (directory / layout.METADATA_FILE).is_file()
        )

    def read_metadata(self, experiment_id: str) -> dict[str, Any]:
        """The metadata record of one experiment, its shape checked."""
        record = self._read_record(experiment_id, layout.METADATA_FILE)
        _check_shape(
            experiment_id, layout.METADATA_FILE, shapes.problem_in_metadata(record)
        )
        return record

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
            record = self._read_record(experiment_id, layout.GIT_FILE)
        except ExperimentNotFoundError:
            if self.exists(experiment_id):
                return None
            raise
        _check_shape(experiment_id, layout.GIT_FILE, shapes.problem_in_git(record))
        return record

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
        self,
        experiment_id: str,
        change: Callable[[dict[str, Any]], bool | None],
        use_spare: bool = False,
    ) -> dict[str, Any] | None:
        """Apply ``change`` to the metadata under the experiment's lock.

        Returns the record as written; when ``change`` returns False, nothing
        is written and None is returned. With ``use_spare``, a full disk is
        met with the experiment's spare room (see the module documentation).
        """
        with self.locked(experiment_id):
            metadata = self.read_metadata(experiment_id)
            if change(metadata) is False:
                return None
            metadata["yanex_format"] = layout.FORMAT_VERSION
            path = self.file(experiment_id, layout.METADATA_FILE)
            data = layout.encode_json(metadata)
            try:
                layout.write_atomic(str(path), data)
            except OSError as error:
                if not (use_spare and is_disk_full(error)):
                    raise StoreError(f"cannot update {path}: {error}") from None
                self._replace_with_spare(experiment_id, data, error)
        return metadata

    def _replace_with_spare(
        self, experiment_id: str, data: bytes, cause: OSError
    ) -> None:
        """Write the metadata into the spare's blocks and rename it into place."""
        spare = self.file(experiment_id, layout.SPARE_FILE)
        path = self.file(experiment_id, layout.METADATA_FILE)
        try:
            descriptor = os.open(spare, os.O_WRONLY | layout.NO_LINKS)
        except OSError:
            raise StoreError(f"cannot update {path}: {cause}") from None
        try:
            try:
                layout.write_all(descriptor, data)
                os.ftruncate(descriptor, len(data))
            finally:
                os.close(descriptor)
            os.replace(spare, path)
        except OSError as error:
            raise StoreError(f"cannot update {path}: {error}") from None

    def drop_spare(self, experiment_id: str) -> None:
        """Give back the room set aside for the experiment's final record."""
        try:
            os.unlink(self.file(experiment_id, layout.SPARE_FILE))
        except OSError:
            pass

    @contextmanager
    def locked(self, experiment_id: str) -> Iterator[None]:
        """Hold the experiment's metadata lock for a short critical section."""
        import fcntl

        path = self.file(experiment_id, layout.LOCK_FILE)
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | layout.NO_LINKS, 0o644)
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
            candidates = [
                e.name
                for e in entries
                if layout.is_valid_id(e.name) and e.is_dir(follow_symlinks=False)
            ]
        return [
            i for i in candidates if (self.root / i / layout.METADATA_FILE).is_file()
        ]

    def touch_heartbeat(self, experiment_id: str) -> None:
        """Record that the runner of this experiment is alive right now."""
        path = self.file(experiment_id, layout.HEARTBEAT_FILE)
        try:
            os.utime(path, follow_symlinks=False)
        except FileNotFoundError:
            path.touch()

    def heartbeat_age(self, experiment_id: str) -> float | None:
        """Seconds since the last heartbeat, or None if there was none."""
        import time

        mtime = self.heartbeat_mtime(experiment_id)
        return None if mtime is None else max(0.0, time.time() - mtime)

    def heartbeat_mtime(self, experiment_id: str) -> float | None:
        """When the last heartbeat was (epoch seconds), or None if none was."""
        try:
            return self.file(experiment_id, layout.HEARTBEAT_FILE).stat().st_mtime
        except OSError:
            return None


def _check_shape(experiment_id: str, name: str, problem: str | None) -> None:
    if problem is not None:
        raise DamagedRecordError(
            f"experiment {experiment_id}: {name} is damaged ({problem})"
        )


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


def _remove_stale_workspaces(incoming: Path) -> None:
    """Remove what crashed creators left in ``.new/`` a long time ago.

    Only folders named as :meth:`Store._new_workspace` names them and
    untouched for :data:`STALE_WORKSPACE_SECONDS` are removed; a link is
    never followed. Runs once per :class:`Store`, and costs one directory
    listing when there is nothing to remove.
    """
    import time

    too_old = time.time() - STALE_WORKSPACE_SECONDS
    try:
        entries = list(os.scandir(incoming))
    except OSError:
        return
    for entry in entries:
        pid, _, name = entry.name.partition("-")
        if not (pid.isdigit() and layout.is_valid_id(name)):
            continue
        try:
            stale = entry.is_dir(follow_symlinks=False) and (
                entry.stat(follow_symlinks=False).st_mtime < too_old
            )
        except OSError:
            continue
        if stale:
            logger.debug("removing %s, left half-made by a crash", entry.path)
            _remove_tree_quietly(Path(entry.path))


def _remove_tree_quietly(directory: Path) -> None:
    import shutil

    shutil.rmtree(directory, ignore_errors=True)


def is_disk_full(error: OSError) -> bool:
    """Whether an OS error means the filesystem has no room left."""
    return error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
