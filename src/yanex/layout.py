"""The files of one experiment directory and the two ways they are written.

Every record is either a JSON document replaced atomically (written to a
temporary file in the same directory, then renamed over the old one) or a
file that only ever grows by whole lines. A reader therefore never sees half
a document, and a crash at any moment leaves the previous version in place.
The format is described in ``docs/store-format.md``; :data:`FORMAT_VERSION`
is written into every record.

This module is shared by the store and by ``import yanex`` inside scripts, so
it imports only what the standard library loads at start-up anyway; ``json``
is imported when first needed.
"""

from __future__ import annotations

import os

from yanex.errors import DamagedRecordError

TYPE_CHECKING = False  # typing is not imported: it would slow every script
if TYPE_CHECKING:
    from typing import Any, BinaryIO

FORMAT_VERSION = 1

METADATA_FILE = "metadata.json"
PARAMS_FILE = "params.json"
GIT_FILE = "git.json"
PATCH_FILE = "git.patch"
STDOUT_FILE = "stdout.log"
STDERR_FILE = "stderr.log"
METRICS_FILE = "metrics.jsonl"
ARTIFACTS_DIR = "artifacts"
HEARTBEAT_FILE = ".heartbeat"
LOCK_FILE = ".lock"
SPARE_FILE = ".spare"

#: The first line of a metrics log, written by whoever logs first.
METRICS_HEADER = b'{"yanex_format":1,"kind":"metrics"}\n'

ID_LENGTH = 8
_HEX = frozenset("0123456789abcdef")

ENV_STORE = "YANEX_EXPERIMENTS_DIR"
ENV_EXPERIMENT_DIR = "YANEX_EXPERIMENT_DIR"
ENV_EXPERIMENT_ID = "YANEX_EXPERIMENT_ID"


def default_store_root() -> str:
    """The store the environment names, else ``~/.yanex/experiments``."""
    configured = os.environ.get(ENV_STORE)
    if configured:
        return os.path.abspath(os.path.expanduser(configured))
    return os.path.join(os.path.expanduser("~"), ".yanex", "experiments")


def is_valid_id(text: str) -> bool:
    """Whether ``text`` has the shape of an experiment id: 8 lowercase hex."""
    return len(text) == ID_LENGTH and _HEX.issuperset(text)


def new_id() -> str:
    """A random experiment id; uniqueness comes from exclusive creation."""
    return os.urandom(ID_LENGTH // 2).hex()


def encode_json(document: Any) -> bytes:
    """Encode a record as one line; NaN and infinities use JSON extensions.

    Compact output keeps to the C encoder, several times faster than the
    indenting one on the records rewritten at every status change;
    ``yanex show`` is the readable view.
    """
    import json

    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return (text + "\n").encode("utf-8")


def write_atomic(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see old or new, never half.

    On failure (a full disk, say) the temporary file is removed and the
    previous content of ``path`` stays untouched.
    """
    directory, name = os.path.split(path)
    temporary = os.path.join(directory, f".{name}.{os.getpid()}.{new_id()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        write_all(descriptor, data)
    except BaseException:
        os.close(descriptor)
        _remove_quietly(temporary)
        raise
    os.close(descriptor)
    try:
        os.replace(temporary, path)
    except BaseException:
        _remove_quietly(temporary)
        raise


def write_private(path: str, data: bytes) -> None:
    """Write ``path`` in place, without the atomic rename.

    Only for a folder no reader looks at yet: a new experiment being
    assembled (see :meth:`yanex.store.Store.create`).
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(descriptor, data)
    finally:
        os.close(descriptor)


def write_json_atomic(path: str, document: Any) -> None:
    """Replace the JSON record at ``path`` atomically."""
    write_atomic(path, encode_json(document))


def write_all(descriptor: int, data: bytes) -> None:
    """Write all of ``data``, however many calls it takes."""
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        view = view[written:]


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


#: Opening with this flag fails on a link instead of following it.
NO_LINKS = getattr(os, "O_NOFOLLOW", 0)


def open_inside(path: str) -> BinaryIO:
    """Open a file of an experiment for reading, never through a link.

    A link planted in an experiment directory could lead a reader outside
    the store; opening one fails instead (see :func:`unreadable`).
    """
    descriptor = os.open(path, os.O_RDONLY | NO_LINKS)
    try:
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def unreadable(path: str, error: OSError) -> DamagedRecordError:
    """The damage an error reading a file of an experiment stands for."""
    import errno

    reason = "it is a link" if error.errno == errno.ELOOP else error.strerror
    return DamagedRecordError(f"{os.path.basename(path)} cannot be read ({reason})")


def read_json(path: str) -> Any:
    """Read a JSON record, reporting damage as :class:`DamagedRecordError`.

    A missing file raises :class:`FileNotFoundError`, which callers treat as
    "not written yet" rather than damage.
    """
    import json

    try:
        with open_inside(path) as handle:
            data = handle.read()
    except FileNotFoundError:
        raise
    except OSError as error:
        raise unreadable(path, error) from None
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as error:
        name = os.path.basename(path)
        raise DamagedRecordError(f"{name} is damaged ({error})") from None


def append_line(path: str, line: bytes) -> None:
    """Append one whole line to ``path`` under an exclusive lock.

    The lock keeps lines of concurrent writers (several processes of one
    script, say) from interleaving even on filesystems where appends are not
    atomic; the single ``write`` keeps a killed writer from leaving more than
    its own unfinished line.
    """
    import fcntl

    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | NO_LINKS
    descriptor = os.open(path, flags, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        write_all(descriptor, line)
    finally:
        os.close(descriptor)
