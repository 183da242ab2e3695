"""One experiment's records as the page shows them.

Each function takes an id the caller already resolved and reads through
:class:`~yanex.experiment.Experiment`, so statuses are the truthful ones
and artifact names cannot leave the experiment's artifacts folder.
"""

from __future__ import annotations

import codecs
import mimetypes
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

from yanex import query
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


def detail(store: Store, experiment_id: str) -> dict[str, Any]:
    """Metadata, parameters, git state, final metrics and artifacts."""
    experiment = Experiment(store, experiment_id)
    sizes = experiment.artifact_sizes()
    data = experiment.to_dict()
    data.pop("directory", None)
    data.pop("runner", None)
    data.update(
        id=experiment.id,
        params=experiment.params,
        flat_params=query.params_and_metrics(store, [experiment.id])[0].get(
            experiment.id, {}
        ),
        git=experiment.git,
        has_patch=experiment.has_patch,
        final_metrics=experiment.final_metrics,
        artifacts=[
            {"name": name, "size": size, "image": _is_image(name)}
            for name, size in sizes.items()
        ],
    )
    return data


def _is_image(name: str) -> bool:
    return Path(name).suffix.lower() in INLINE_IMAGES


def metrics(store: Store, experiment_id: str) -> dict[str, Any]:
    """Every logged step, and the metric names in first-logged order."""
    history = Experiment(store, experiment_id).metrics_history()
    return {
        "names": history.names(),
        "steps": history.steps,
        "damaged_lines": history.damaged_lines,
    }


def output(
    store: Store, experiment_id: str, stream: str, offset: int | None
) -> dict[str, Any]:
    """Captured output from byte ``offset`` on, or its tail without one.

    The answer's ``offset`` is where the next request continues. A
    character cut in half at the end is left for that request, so the
    page never shows a replacement mark where none was written. If the
    file shrank below ``offset`` (rewritten), reading restarts at zero and
    ``reset`` tells the page to clear what it shows.
    """
    if stream not in STREAMS:
        raise UsageError(f"stream must be stdout or stderr, not {stream!r}")
    experiment = Experiment(store, experiment_id)
    path = experiment.output_path(stream)
    size = _size(path)
    reset = offset is not None and offset > size
    start = max(0, size - OUTPUT_TAIL) if offset is None else offset
    start = 0 if reset else start
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
        "truncated": offset is None and start > 0,
        "status": experiment.status,
    }


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


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
    return experiment.patch_path.read_bytes().decode("utf-8", "replace")


class ArtifactFile(NamedTuple):
    """An artifact file to send and how to send it."""

    path: Path
    media_type: str
    inline: bool
    name: str


def artifact_file(store: Store, experiment_id: str, name: str) -> ArtifactFile:
    """The artifact ``name`` refers to; only regular files inside artifacts/."""
    experiment = Experiment(store, experiment_id)
    path = experiment.artifact_path(name)
    if not path.is_file():
        raise ExperimentNotFoundError(f"experiment {experiment_id} has no {name!r}")
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
    return {
        "name": name,
        "size": size,
        "text": data.decode("utf-8", "replace"),
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
