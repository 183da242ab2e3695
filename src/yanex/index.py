"""The listing index: an SQLite cache of what listing and filtering need.

The experiment directories stay the source of truth. The index, the file
``index.sqlite`` at the store's root (WAL mode), holds for every experiment
its metadata fields, tags, flattened parameters and final metrics, together
with the identity of the metadata file it was read from (inode, change time
and size: every atomic rewrite of the file changes it).

Before answering, a reader brings the index up to date: it lists the
store's directories, compares each metadata file's identity with the
indexed one, and re-reads only what changed, appeared or vanished. Runners
therefore never need to open the index (which keeps ``yanex run`` free of
SQLite), experiments copied in by rsync are picked up on the next read, and
a missing, damaged or outdated index file is rebuilt on the spot. If the
index cannot be written (another reader holds the lock too long, a
read-only store), the answer is still computed from a fresh scan.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from yanex import diagnostics, layout, params
from yanex.errors import StoreError, YanexError
from yanex.store import Store

logger = diagnostics.get_logger(__name__)

T = TypeVar("T")

INDEX_FILE = "index.sqlite"
_SCHEMA_VERSION = 3
_BUSY_MS = 5000

_SCHEMA = """
CREATE TABLE experiments (
    id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    name TEXT,
    description TEXT,
    status TEXT,
    archived INTEGER NOT NULL DEFAULT 0,
    script TEXT,
    script_name TEXT,
    tags TEXT,
    created_at TEXT,
    started_at TEXT,
    ended_at TEXT,
    duration REAL,
    exit_code INTEGER,
    reason TEXT,
    sweep_id TEXT,
    sweep_index INTEGER,
    runner TEXT,
    slurm TEXT
);
-- Listings walk experiments newest first; the index covers what judging
-- them needs, so no table row is read for the ones not shown.
CREATE INDEX experiments_created
    ON experiments (created_at DESC, id, archived, status);
CREATE INDEX experiments_sweep ON experiments (sweep_id);
CREATE INDEX experiments_name ON experiments (name);
CREATE TABLE tags (id TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (id, tag))
    WITHOUT ROWID;
CREATE INDEX tags_tag ON tags (tag);
CREATE TABLE params (
    id TEXT NOT NULL, key TEXT NOT NULL, num REAL, text TEXT, json TEXT,
    PRIMARY KEY (id, key)
) WITHOUT ROWID;
CREATE INDEX params_key ON params (key, num);
CREATE TABLE metrics (
    id TEXT NOT NULL, key TEXT NOT NULL, num REAL, text TEXT, json TEXT,
    PRIMARY KEY (id, key)
) WITHOUT ROWID;
CREATE INDEX metrics_key ON metrics (key, num);
"""

_COLUMNS = (
    "id",
    "token",
    "name",
    "description",
    "status",
    "archived",
    "script",
    "script_name",
    "tags",
    "created_at",
    "started_at",
    "ended_at",
    "duration",
    "exit_code",
    "reason",
    "sweep_id",
    "sweep_index",
    "runner",
    "slurm",
)


class Entry(NamedTuple):
    """An experiment as the index knows it."""

    row: dict[str, Any]
    params: list[tuple[str, Any]]
    metrics: list[tuple[str, Any]]


class Index:
    """The index of one store; see the module documentation."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.path = store.root / INDEX_FILE
        self._connection: sqlite3.Connection | None = None
        #: Experiments left out at the last refresh, and why: their records
        #: are damaged.
        self.damaged: dict[str, str] = {}

    def connection(self) -> sqlite3.Connection:
        """An up-to-date connection to the index, rebuilding it if needed."""
        if self._connection is None:
            self._connection = self._open_checked()
            self.refresh()
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def answer(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on an up-to-date connection.

        Damage to the index file can show only once a damaged page is read,
        long after it opened; then the index is rebuilt and ``work`` run
        once more.
        """
        try:
            return work(self.connection())
        except sqlite3.DatabaseError as error:
            logger.debug("index %s failed (%s): rebuilding", self.path, error)
            self.close()
            self._remove_files()
        try:
            return work(self.connection())
        except sqlite3.DatabaseError as error:
            raise StoreError(f"cannot use the index {self.path}: {error}") from None

    def _open_checked(self) -> sqlite3.Connection:
        if not self.store.root.is_dir():
            return self._open_memory()
        try:
            return self._open_file()
        except sqlite3.DatabaseError as error:
            logger.debug("index %s is unusable (%s): rebuilding", self.path, error)
            self._remove_files()
        try:
            return self._open_file()
        except sqlite3.Error as error:
            logger.debug("cannot write index %s (%s): using memory", self.path, error)
            return self._open_memory()

    def _open_file(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=_BUSY_MS / 1000)
        try:
            connection.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
            try:
                connection.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError:
                logger.debug("WAL mode unavailable for %s", self.path)
            connection.execute("PRAGMA synchronous = NORMAL")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version != _SCHEMA_VERSION:
                self._create_schema(connection)
            connection.execute("SELECT count(*) FROM experiments").fetchone()
        except BaseException:
            connection.close()
            raise
        return connection

    def _open_memory(self) -> sqlite3.Connection:
        connection = sqlite3.connect(":memory:")
        self._create_schema(connection)
        return connection

    def _create_schema(self, connection: sqlite3.Connection) -> None:
        with connection:
            for table in ("experiments", "tags", "params", "metrics"):
                connection.execute(f"DROP TABLE IF EXISTS {table}")
            connection.executescript(_SCHEMA)
            connection.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def _remove_files(self) -> None:
        """Remove the index files; what cannot be removed fails to open
        next, and the answer comes from memory."""
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except FileNotFoundError:
                pass
            except OSError as error:
                logger.debug("cannot remove damaged index %s: %s", self.path, error)

    def refresh(self) -> int:
        """Bring the index up to date with the directories; returns changes."""
        connection = self._connection
        assert connection is not None
        current = dict(_metadata_tokens(self.store.root))
        known = dict(connection.execute("SELECT id, token FROM experiments"))
        self.damaged = {}
        changed = [i for i, token in current.items() if known.get(i) != token]
        removed = [i for i in known if i not in current]
        if not changed and not removed:
            return 0
        entries = [e for e in (self._read_entry(i, current[i]) for i in changed) if e]
        try:
            self._write(connection, entries, removed)
        except sqlite3.DatabaseError as error:
            logger.debug("cannot update index (%s): answering from memory", error)
            self._connection = self._open_memory()
            connection.close()
            self._write(self._connection, self._all_entries(current), [])
        return len(changed) + len(removed)

    def rebuild(self) -> int:
        """Forget everything and read every experiment again."""
        connection = self._connection or self._open_checked()
        self._connection = connection
        self._create_schema(connection)
        return self.refresh()

    def _all_entries(self, tokens: dict[str, str]) -> list[Entry]:
        entries = (self._read_entry(i, token) for i, token in tokens.items())
        return [entry for entry in entries if entry is not None]

    def _read_entry(self, experiment_id: str, token: str) -> Entry | None:
        try:
            metadata = self.store.read_metadata(experiment_id)
            tree = self.store.read_params(experiment_id)
        except YanexError as error:
            logger.debug("skipping %s in the index: %s", experiment_id, error)
            self.damaged[experiment_id] = str(error)
            return None
        return entry_from_records(experiment_id, token, metadata, tree)

    def _write(
        self, connection: sqlite3.Connection, entries: list[Entry], removed: list[str]
    ) -> None:
        stale = [*removed, *(entry.row["id"] for entry in entries)]
        with connection:
            for table in ("experiments", "tags", "params", "metrics"):
                connection.executemany(
                    f"DELETE FROM {table} WHERE id = ?", [(i,) for i in stale]
                )
            placeholders = ", ".join("?" for _ in _COLUMNS)
            columns = ", ".join(_COLUMNS)
            connection.executemany(
                f"INSERT INTO experiments ({columns}) VALUES ({placeholders})",
                [tuple(entry.row[c] for c in _COLUMNS) for entry in entries],
            )
            connection.executemany(
                "INSERT OR IGNORE INTO tags VALUES (?, ?)",
                [
                    (e.row["id"], tag)
                    for e in entries
                    for tag in json.loads(e.row["tags"])
                ],
            )
            for table, pairs in (("params", "params"), ("metrics", "metrics")):
                connection.executemany(
                    f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?)",
                    _value_rows(entries, pairs),
                )


def _value_rows(entries: list[Entry], field: str) -> Iterator[tuple[Any, ...]]:
    for entry in entries:
        for key, value in getattr(entry, field):
            yield (entry.row["id"], key, *encode_value(value))


def encode_value(value: Any) -> tuple[float | None, str | None, str]:
    """A value as the index stores it: number, text and JSON columns.

    NaN is not a number for filtering, so its number column is empty; nor
    is an integer too large for a float.
    """
    number = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = _number_or_none(value)
    text = value if isinstance(value, str) else None
    encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return number, text, encoded


def entry_from_records(
    experiment_id: str, token: str, metadata: dict[str, Any], tree: dict[str, Any]
) -> Entry:
    """What the index keeps of one experiment's records."""
    script = (metadata.get("script") or {}).get("path")
    sweep = metadata.get("sweep") or {}
    summary = metadata.get("metrics_summary") or {}
    slurm = metadata.get("slurm")
    tags = [str(tag) for tag in metadata.get("tags") or []]
    row = {
        "id": experiment_id,
        "token": token,
        "name": metadata.get("name"),
        "description": metadata.get("description"),
        "status": metadata.get("status"),
        "archived": 1 if metadata.get("archived") else 0,
        "script": script,
        "script_name": os.path.basename(script) if script else None,
        "tags": json.dumps(tags),
        "created_at": metadata.get("created_at"),
        "started_at": metadata.get("started_at"),
        "ended_at": metadata.get("ended_at"),
        "duration": _number_or_none(metadata.get("duration_s")),
        "exit_code": _integer_or_none(metadata.get("exit_code")),
        "reason": metadata.get("reason"),
        "sweep_id": sweep.get("id"),
        "sweep_index": _integer_or_none(sweep.get("index")),
        "runner": json.dumps(metadata.get("runner")),
        "slurm": json.dumps(slurm) if isinstance(slurm, dict) else None,
    }
    flat_params = list(params.flatten(tree).items())
    final = summary.get("final")
    metrics = list(final.items()) if isinstance(final, dict) else []
    return Entry(row, flat_params, metrics)


def _number_or_none(value: Any) -> float | None:
    """A number as a float for SQLite; None for anything else, NaN and
    integers beyond a float's range."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return None if math.isnan(number) else number


def _integer_or_none(value: Any) -> int | None:
    """An integer SQLite can hold (64 bits), else None."""
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return value
    return None


def _metadata_tokens(root: Path) -> Iterator[tuple[str, str]]:
    """Each experiment's id and the identity of its metadata file."""
    try:
        with os.scandir(root) as entries:
            names = [e.name for e in entries if e.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return
    prefix = f"{root}{os.sep}"
    suffix = f"{os.sep}{layout.METADATA_FILE}"
    for name in names:
        if not layout.is_valid_id(name):
            continue
        try:
            info = os.stat(prefix + name + suffix)
        except OSError:
            continue
        yield name, f"{info.st_ino}:{info.st_mtime_ns}:{info.st_size}"


def rows(
    connection: sqlite3.Connection, sql: str, parameters: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    """Run a query and return its rows as dicts."""
    with closing(connection.execute(sql, list(parameters))) as cursor:
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def values_of(
    connection: sqlite3.Connection,
    table: str,
    ids: Iterable[str],
    key: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Parameters or final metrics of some experiments, by id then key.

    With ``key``, only that parameter or metric is read.
    """
    found: dict[str, dict[str, Any]] = {}
    wanted = list(ids)
    only_key = "" if key is None else " AND key = ?"
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        query = f"SELECT id, key, json FROM {table} WHERE id IN ({marks}){only_key}"
        arguments = chunk if key is None else [*chunk, key]
        for experiment_id, name, encoded in connection.execute(query, arguments):
            found.setdefault(experiment_id, {})[name] = json.loads(encoded)
    return found
