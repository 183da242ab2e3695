"""The git state of the code a run executes, and a patch that rebuilds it.

A run can only be reproduced if we know which commit it ran and how the
working tree differed from that commit. :func:`capture` reads both with three
short git processes, because ``yanex run`` must stay fast; :func:`make_patch`
turns the uncommitted work, new text files included, into one patch that
``git apply`` accepts on a clean checkout of the recorded commit::

    state = capture(os.getcwd())
    ensure_clean(state)                # unless the user passed --ignore-dirty
    patch = make_patch(state)          # patch.data is written as git.patch

Git is always asked for its machine formats (porcelain v2 with ``-z``), under
``LC_ALL=C`` so that its messages can be recognised, and with
``GIT_OPTIONAL_LOCKS=0`` so that looking at a repository never rewrites its
index under a concurrent ``git`` command of the user's.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

from yanex import diagnostics
from yanex.errors import DirtyTreeError, GitError

logger = diagnostics.get_logger(__name__)

_GIT = "git"

_STATUS = (
    "status",
    "--porcelain=v2",
    "--branch",
    "-z",
    "--untracked-files=normal",
    # Untracked files never block a run, not even inside a submodule.
    "--ignore-submodules=untracked",
)

_TOPLEVEL = ("rev-parse", "--show-toplevel")
_REMOTE_URLS = ("config", "-z", "--get-regexp", r"^remote\..*\.url$")

# Pathspecs are literal: a directory may well be called "[draft]".
_LIST_UNTRACKED = (
    "--literal-pathspecs",
    "ls-files",
    "--others",
    "--exclude-standard",
    "-z",
)

# Every option here overrides a user setting that would make the diff
# unappliable: external or textconv drivers, colour, missing or mnemonic
# prefixes, diff.relative, and submodule logs instead of commit lines.
_DIFF = (
    "diff",
    "--binary",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--submodule=short",
)

# Passwords and tokens in http(s) remote URLs must not end up in a record.
_URL_CREDENTIALS = re.compile(r"^((?:https?|ftps?)://)[^/@]*@", re.IGNORECASE)

# Bytes that may appear in a patch header without C-style quoting. Git itself
# leaves spaces unquoted, but quoting them is always accepted and spares us
# the trailing tab git uses to delimit such names.
_PLAIN_PATH_BYTES = frozenset(range(0x21, 0x7F)) - {ord('"'), ord("\\")}

_PATH_ESCAPES = {
    0x07: b"\\a",
    0x08: b"\\b",
    0x09: b"\\t",
    0x0A: b"\\n",
    0x0B: b"\\v",
    0x0C: b"\\f",
    0x0D: b"\\r",
    0x22: b'\\"',
    0x5C: b"\\\\",
}


class GitState(NamedTuple):
    """Where the code of a run came from, as git saw it when the run started.

    Paths are relative to ``root``. ``changed`` lists tracked files that
    differ from ``commit`` in the index or the working tree (a rename lists
    both names); ``untracked`` lists what ``git status`` shows, with wholly
    untracked directories collapsed to ``dir/`` and ignored files left out.
    """

    is_repo: bool
    root: str | None = None
    commit: str | None = None
    branch: str | None = None
    detached: bool = False
    upstream: str | None = None
    remotes: Mapping[str, str] = MappingProxyType({})
    changed: tuple[str, ...] = ()
    untracked: tuple[str, ...] = ()

    @property
    def dirty(self) -> bool:
        """Whether tracked files differ from the commit (untracked don't)."""
        return bool(self.changed)

    def to_record(self) -> dict[str, Any]:
        """Return the state as plain JSON data, ``dirty`` included."""
        return {
            "is_repo": self.is_repo,
            "root": self.root,
            "commit": self.commit,
            "branch": self.branch,
            "detached": self.detached,
            "upstream": self.upstream,
            "remotes": dict(self.remotes),
            "changed": list(self.changed),
            "untracked": list(self.untracked),
            "dirty": self.dirty,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> GitState:
        """Rebuild a state from :meth:`to_record`; ``dirty`` is derived."""
        return cls(
            is_repo=bool(record.get("is_repo", False)),
            root=record.get("root"),
            commit=record.get("commit"),
            branch=record.get("branch"),
            detached=bool(record.get("detached", False)),
            upstream=record.get("upstream"),
            remotes=dict(record.get("remotes") or {}),
            changed=tuple(record.get("changed") or ()),
            untracked=tuple(record.get("untracked") or ()),
        )


class Patch(NamedTuple):
    """Uncommitted work as one patch, and which untracked files it carries."""

    data: bytes
    untracked_included: tuple[str, ...] = ()
    untracked_skipped: tuple[tuple[str, str], ...] = ()

    def to_record(self) -> dict[str, Any]:
        """Describe the patch as JSON data; the bytes are stored apart."""
        return {
            "bytes": len(self.data),
            "untracked_included": list(self.untracked_included),
            "untracked_skipped": [
                {"path": path, "reason": reason}
                for path, reason in self.untracked_skipped
            ],
        }


class _GitMissingError(GitError):
    """The git executable could not be started."""


class _FileSkippedError(Exception):
    """An untracked file stays out of the patch, for the reason given."""


def capture(cwd: str) -> GitState:
    """Read the git state of the repository containing ``cwd``.

    Outside a repository, or when git is not installed, the state says
    ``is_repo=False``; telling the user is the caller's business. Any other
    failure of git raises :class:`GitError` with git's own message. The
    three git commands run at once: this sits on the start-up path of every
    ``yanex run``.
    """
    try:
        running = [_start_git(args, cwd) for args in (_STATUS, _TOPLEVEL, _REMOTE_URLS)]
    except _GitMissingError:
        logger.debug("git is not installed; recording no git state")
        return GitState(is_repo=False)
    status, toplevel, remotes = (_collect(process) for process in running)

    if status.returncode != 0 and b"not a git repository" in status.stderr:
        logger.debug("%s is not inside a git repository", cwd)
        return GitState(is_repo=False)
    _check(status)
    _check(toplevel)

    root = _decode(toplevel.stdout).removesuffix("\n")
    return _build_state(_decode(status.stdout), root, _parse_remotes(remotes))


def ensure_clean(state: GitState) -> None:
    """Refuse a run whose tracked files differ from the recorded commit."""
    if not state.dirty:
        return

    raise DirtyTreeError(
        f"uncommitted changes to {_summarise(state.changed)}; "
        "commit them or pass --ignore-dirty"
    )


def has_changes(state: GitState) -> bool:
    """Whether anything in the tree differs from the commit, untracked included."""
    return state.is_repo and (state.dirty or bool(state.untracked))


def record_of(state: GitState, patch: Patch | None) -> dict[str, Any]:
    """The git record of an experiment: the state and, if any, its patch."""
    record = state.to_record()
    if patch is not None:
        record["patch"] = patch.to_record()
    return record


def make_patch(
    state: GitState,
    max_file_bytes: int = 1 << 20,
    max_total_bytes: int = 10 << 20,
) -> Patch:
    """Turn the uncommitted work of ``state`` into one appliable patch.

    Tracked changes, staged or not, always go in whole, whatever their size.
    Untracked text files follow in path order while each stays within
    ``max_file_bytes`` and the patch within ``max_total_bytes``; binary
    files, symlinks, nested repositories and files beyond a cap are left
    out and listed with the reason.
    """
    if not state.is_repo or state.root is None:
        raise ValueError("cannot make a patch outside a git repository")
    root = state.root

    tracked = _diff_tracked(root, state.commit)
    files, skipped = _expand_untracked(root, state.untracked)

    chunks = [tracked]
    size = len(tracked)
    included: list[str] = []
    for path in files:
        try:
            chunk = _render_untracked(root, path, max_file_bytes)
            if size + len(chunk) > max_total_bytes:
                raise _FileSkippedError("size cap reached")
        except _FileSkippedError as skip:
            skipped.append((path, str(skip)))
            continue
        chunks.append(chunk)
        size += len(chunk)
        included.append(path)

    return Patch(
        data=b"".join(chunks),
        untracked_included=tuple(included),
        untracked_skipped=tuple(sorted(skipped)),
    )


def _run_git(
    args: Sequence[str], cwd: str, *, check: bool = False
) -> subprocess.CompletedProcess[bytes]:
    """Run one git command in ``cwd`` and collect its output."""
    process = _collect(_start_git(args, cwd))
    if check:
        _check(process)
    return process


def _start_git(args: Sequence[str], cwd: str) -> subprocess.Popen[bytes]:
    """Start one git command in ``cwd`` with a predictable environment."""
    env = {**os.environ, "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        return subprocess.Popen(
            [_GIT, *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError as error:
        if error.filename != _GIT:
            raise
        raise _GitMissingError("git is not installed or not on PATH") from None


def _collect(process: subprocess.Popen[bytes]) -> subprocess.CompletedProcess[bytes]:
    """Wait for a started git command and return what it printed."""
    started = time.perf_counter()
    stdout, stderr = process.communicate()
    elapsed = (time.perf_counter() - started) * 1000
    args = process.args
    assert isinstance(args, list)
    logger.debug(
        "git %s: exit %d, waited %.1f ms", args[1], process.returncode, elapsed
    )
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def _check(process: subprocess.CompletedProcess[bytes]) -> None:
    """Raise :class:`GitError` with git's first line if the command failed."""
    if process.returncode == 0:
        return

    command = next(arg for arg in process.args[1:] if not arg.startswith("-"))
    lines = _decode(process.stderr).strip().splitlines()
    message = lines[0] if lines else f"exited with status {process.returncode}"
    for prefix in ("fatal: ", "error: "):
        message = message.removeprefix(prefix)
    raise GitError(f"git {command}: {message}")


def _decode(output: bytes) -> str:
    """Decode git output the way the file system names files."""
    return os.fsdecode(output)


def _parse_remotes(process: subprocess.CompletedProcess[bytes]) -> dict[str, str]:
    """Map each configured remote to its fetch URL, credentials removed."""
    if process.returncode == 1:  # no remote configured
        return {}
    _check(process)

    remotes: dict[str, str] = {}
    for entry in _decode(process.stdout).split("\0"):
        key, _, url = entry.partition("\n")
        if key:
            name = key.removeprefix("remote.").removesuffix(".url")
            remotes.setdefault(name, _URL_CREDENTIALS.sub(r"\1", url))
    return remotes


def _build_state(status: str, root: str, remotes: dict[str, str]) -> GitState:
    """Assemble a state from ``git status --porcelain=v2 --branch -z``."""
    headers: dict[str, str] = {}
    changed: set[str] = set()
    untracked: list[str] = []

    records = iter(status.split("\0"))
    for record in records:
        kind, _, rest = record.partition(" ")
        if kind == "#":
            name, _, value = rest.partition(" ")
            headers[name] = value
        elif kind == "1":
            changed.add(rest.split(" ", 7)[7])
        elif kind == "2":
            changed.add(rest.split(" ", 8)[8])
            changed.add(next(records))  # the name before the rename
        elif kind == "u":
            changed.add(rest.split(" ", 9)[9])
        elif kind == "?":
            untracked.append(rest)

    commit = headers.get("branch.oid")
    head = headers.get("branch.head")
    detached = head == "(detached)"
    return GitState(
        is_repo=True,
        root=root,
        commit=None if commit == "(initial)" else commit,
        branch=None if detached else head,
        detached=detached,
        upstream=headers.get("branch.upstream"),
        remotes=remotes,
        changed=tuple(sorted(changed)),
        untracked=tuple(sorted(untracked)),
    )


def _summarise(paths: Sequence[str], limit: int = 3) -> str:
    """Name up to ``limit`` paths and count the rest, as a phrase."""
    shown = list(paths[:limit])
    rest = len(paths) - len(shown)
    if rest:
        shown.append(f"{rest} more file{'s' if rest > 1 else ''}")

    if len(shown) == 1:
        return shown[0]
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def _diff_tracked(root: str, commit: str | None) -> bytes:
    """Diff the index and working tree together against ``commit``."""
    base = commit or _empty_tree(root)
    return _run_git((*_DIFF, base, "--"), root, check=True).stdout


def _empty_tree(root: str) -> str:
    """Return the id of the empty tree in this repository's hash format."""
    # stdin is /dev/null, so this hashes an empty tree without writing it.
    process = _run_git(("hash-object", "-t", "tree", "--stdin"), root, check=True)
    return _decode(process.stdout).strip()


def _expand_untracked(
    root: str, untracked: Iterable[str]
) -> tuple[list[str], list[tuple[str, str]]]:
    """Return untracked files in path order, and nested repositories skipped.

    Git lists a wholly untracked directory as ``dir/``. Git, not a walk of
    our own, expands it, so that ignored files inside stay out of the patch;
    like ``os.walk(followlinks=False)`` it does not enter symlinks or
    ``.git``, and it reports a nested repository as ``dir/inner/``.
    """
    files = [path for path in untracked if not path.endswith("/")]
    directories = [path for path in untracked if path.endswith("/")]
    skipped: list[tuple[str, str]] = []
    if directories:
        listing = _run_git((*_LIST_UNTRACKED, "--", *directories), root, check=True)
        for path in _decode(listing.stdout).split("\0"):
            if path.endswith("/"):
                skipped.append((path, "nested git repository"))
            elif path:
                files.append(path)
    return sorted(files), skipped


def _render_untracked(root: str, path: str, max_file_bytes: int) -> bytes:
    """Return a new-file diff for one untracked file, or raise _FileSkippedError."""
    full = os.path.join(root, path)
    try:
        info = os.lstat(full)
        data = _read_text(full, info, max_file_bytes)
    except OSError as error:
        raise _FileSkippedError(f"unreadable ({error.strerror})") from None

    return _new_file_diff(path, data, bool(info.st_mode & stat.S_IXUSR))


def _read_text(full: str, info: os.stat_result, max_file_bytes: int) -> bytes:
    """Read a regular text file of at most ``max_file_bytes``."""
    too_large = f"larger than {_format_size(max_file_bytes)}"
    if stat.S_ISLNK(info.st_mode):
        raise _FileSkippedError("symlink")
    if not stat.S_ISREG(info.st_mode):
        raise _FileSkippedError("not a regular file")
    if info.st_size > max_file_bytes:
        raise _FileSkippedError(too_large)

    with open(full, "rb") as file:
        data = file.read(max_file_bytes + 1)

    if len(data) > max_file_bytes:  # it grew since lstat
        raise _FileSkippedError(too_large)
    # Git looks for a NUL in the first 8000 bytes only; a NUL anywhere
    # would corrupt a text hunk, so the whole file is checked.
    if b"\0" in data:
        raise _FileSkippedError("binary")
    return data


def _format_size(size: int) -> str:
    """Write a byte count the way the caps are usually chosen."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


def _new_file_diff(path: str, data: bytes, executable: bool) -> bytes:
    """Write the git diff that creates ``path`` holding ``data``."""
    mode = b"100755" if executable else b"100644"
    lines = [
        b"diff --git " + _quote_path("a/", path) + b" " + _quote_path("b/", path),
        b"new file mode " + mode,
    ]
    if not data:  # git writes no hunk, and no ---/+++ lines, for an empty file
        return b"\n".join(lines) + b"\n"

    body = data.split(b"\n")
    has_final_newline = body[-1] == b""
    if has_final_newline:
        body.pop()
    count = b"" if len(body) == 1 else b",%d" % len(body)

    lines.append(b"--- /dev/null")
    lines.append(b"+++ " + _quote_path("b/", path))
    lines.append(b"@@ -0,0 +1" + count + b" @@")
    lines.extend(b"+" + line for line in body)
    if not has_final_newline:
        lines.append(b"\\ No newline at end of file")
    return b"\n".join(lines) + b"\n"


def _quote_path(prefix: str, path: str) -> bytes:
    """Write a patch header name, C-quoted as git does when it must be."""
    name = os.fsencode(prefix + path)
    if all(byte in _PLAIN_PATH_BYTES for byte in name):
        return name

    escaped = (_PATH_ESCAPES.get(byte) or _escape_byte(byte) for byte in name)
    return b'"' + b"".join(escaped) + b'"'


def _escape_byte(byte: int) -> bytes:
    """Keep a printable byte (a space) as is; write any other in octal."""
    if 0x20 <= byte < 0x7F:
        return bytes([byte])
    return b"\\%03o" % byte
