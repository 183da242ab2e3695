"""One experiment's records as the page shows them.

Each function takes an id the caller already resolved and reads through
:class:`~yanex.experiment.Experiment`, so statuses are the truthful ones
and artifact names are checked by :mod:`yanex.artifacts`. On top of that,
every file sent is checked to lie, links resolved, inside the experiment's
own directory: a store copied in from elsewhere could hold a link named
``stdout.log`` or ``artifacts`` that points anywhere on this machine.
"""

from __future__ import annotations

import codecs
import mimetypes
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

from yanex import layout, params
from yanex.errors import ArtifactError, ExperimentNotFoundError, UsageError
from yanex.experiment import Experiment
from yanex.store import Store

#: The most output one request returns; the page asks again for the rest.
OUTPUT_CHUNK = 256 * 1024
#: How much of the end of an output file a first request returns.
OUTPUT_TAIL = 64 * 1024
#: How much of a text artifact a preview shows.
PREVIEW_BYTES = 64 * 1024

STREAMS = ("stdout", "stderr")

#: Shown in the page itself; anything else is offered as a download.
INLINE_IMAGES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}

#: Previewed as text without being asked to.
TEXT_SUFFIXES = frozenset(
    [
        ".txt",
        ".log",
        ".md",
        ".json",
        ".jsonl",
        ".csv",
        ".tsv",
        ".yaml",
        ".yml",
        ".toml",
        ".ini",
        ".cfg",
        ".py",
        ".tex",
    ]
)


def detail(store: Store, experiment_id: str) -> dict[str, Any]:
    """Metadata, parameters, git state, final metrics and artifacts."""
    experiment = Experiment(store, experiment_id)
    data = experiment.to_dict()
    data.pop("directory", None)
    data.pop("runner", None)
    data.update(
        id=experiment.id,
        params=experiment.params,
        flat_params=params.flatten(experiment.params),
        git=experiment.git,
        has_patch=experiment.has_patch,
        final_metrics=experiment.final_metrics,
        artifacts=_artifacts(experiment),
    )
    return data


def _artifacts(experiment: Experiment) -> list[dict[str, Any]]:
    """The artifacts the page may offer: those that stay inside.

    A linked artifacts folder is not followed, so it offers none.
    """
    try:
        names = experiment.list_artifacts()
    except ArtifactError:
        return []
    shown = []
    for name in names:
        try:
            path = _artifact_path(experiment, name)
        except (ArtifactError, ExperimentNotFoundError):
            continue
        suffix = path.suffix.lower()
        shown.append(
            {
                "name": name,
                "size": path.stat().st_size,
                "image": suffix in INLINE_IMAGES,
                "text": suffix in TEXT_SUFFIXES,
            }
        )
    return shown


def contained(experiment: Experiment, path: Path) -> Path:
    """``path`` if it lies inside the experiment's directory, links resolved."""
    home = experiment.directory.resolve()
    if home not in path.resolve().parents:
        raise ExperimentNotFoundError(
            f"{path.name} of experiment {experiment.id} leads outside its directory"
        )
    return path


def metrics(store: Store, experiment_id: str) -> dict[str, Any]:
    """Every logged step, and the metric names in first-logged order."""
    experiment = Experiment(store, experiment_id)
    contained(experiment, experiment.directory / layout.METRICS_FILE)
    history = experiment.metrics_history()
    return {
        "names": history.names(),
        "steps": history.steps,
        "damaged_lines": history.damaged_lines,
        "status": experiment.status,
    }


def output(
    store: Store, experiment_id: str, stream: str, offset: int | None
) -> dict[str, Any]:
    """Captured output from byte ``offset`` on, or its tail without one.

    The answer's ``offset`` is where the next request continues. A
    character cut in half at the end is left for that request, so the
    page never shows a replacement mark where none was written; a tail
    starts at a line's beginning for the same reason. If the file shrank
    below ``offset`` (rewritten), reading restarts at zero and ``reset``
    tells the page to clear what it shows.
    """
    if stream not in STREAMS:
        raise UsageError(f"stream must be stdout or stderr, not {stream!r}")
    experiment = Experiment(store, experiment_id)
    path = contained(experiment, experiment.output_path(stream))
    size = _size(path)
    reset = offset is not None and offset > size
    if offset is None or reset:
        start = _tail_start(path, size) if offset is None else 0
    else:
        start = offset
    data = _read_range(path, start, OUTPUT_CHUNK)
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    text = decoder.decode(data, final=False)
    pending = len(decoder.getstate()[0])
    return {
        "stream": stream,
        "text": text,
        "offset": start + len(data) - pending,
        "size": size,
        "reset": reset,
        "truncated": start > 0 and offset is None,
        "status": experiment.status,
    }


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _tail_start(path: Path, size: int) -> int:
    """Where the last :data:`OUTPUT_TAIL` bytes begin, moved to a new line."""
    if size <= OUTPUT_TAIL:
        return 0
    start = size - OUTPUT_TAIL
    head = _read_range(path, start, OUTPUT_TAIL)
    newline = head.find(b"\n")
    return start + newline + 1 if newline >= 0 else start


def _read_range(path: Path, start: int, count: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            handle.seek(start)
            return handle.read(count)
    except FileNotFoundError:
        return b""


def patch_text(store: Store, experiment_id: str) -> str:
    """The uncommitted changes recorded at launch, as a unified diff."""
    experiment = Experiment(store, experiment_id)
    if not experiment.has_patch:
        raise ExperimentNotFoundError(f"experiment {experiment_id} has no patch")
    path = contained(experiment, experiment.patch_path)
    return path.read_bytes().decode("utf-8", "replace")


class ArtifactFile(NamedTuple):
    """An artifact file to send and how to send it."""

    path: Path
    media_type: str
    inline: bool
    name: str


def _artifact_path(experiment: Experiment, name: str) -> Path:
    """A regular file of the artifacts folder, or an error saying why not."""
    path = experiment.artifact_path(name)
    if experiment.artifacts_dir.is_symlink():
        raise ArtifactError(f"the artifacts folder of {experiment.id} is a link")
    contained(experiment, path)
    if not path.is_file():
        raise ExperimentNotFoundError(
            f"experiment {experiment.id} has no artifact {name!r}"
        )
    return path


def artifact_file(store: Store, experiment_id: str, name: str) -> ArtifactFile:
    """The artifact ``name`` refers to; only regular files inside artifacts/."""
    path = _artifact_path(Experiment(store, experiment_id), name)
    suffix = path.suffix.lower()
    if suffix in INLINE_IMAGES:
        return ArtifactFile(path, INLINE_IMAGES[suffix], True, path.name)
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return ArtifactFile(path, guessed, False, path.name)


def artifact_preview(store: Store, experiment_id: str, name: str) -> dict[str, Any]:
    """The start of an artifact as text, and whether it was cut short."""
    found = artifact_file(store, experiment_id, name)
    size = found.path.stat().st_size
    with open(found.path, "rb") as handle:
        data = handle.read(PREVIEW_BYTES)
    if b"\x00" in data:
        raise ArtifactError(f"{name!r} is binary; download it instead")
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    return {
        "name": name,
        "size": size,
        "text": decoder.decode(data, final=size <= len(data)),
        "truncated": size > len(data),
    }


def content_disposition(found: ArtifactFile) -> str:
    """A header value naming the file, safe for any characters in the name."""
    kind = "inline" if found.inline else "attachment"
    plain = "".join(
        c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in found.name
    )
    return (
        f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{quote(found.name, safe='')}"
    )
