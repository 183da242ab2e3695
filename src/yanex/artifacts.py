"""Artifacts: files a script keeps with its experiment, by name.

Names are relative paths inside the experiment's ``artifacts/`` directory
(``model.pt``, ``plots/loss.png``); anything that could leave it (``..``,
absolute paths, links pointing outside) is refused. Every artifact is written
to a temporary file beside its final place and renamed into it, so a killed
script never leaves half an artifact under the real name.

The format follows the extension. Libraries a format needs (numpy, pandas,
matplotlib, torch, PIL) are imported only when that format is used. When the
script runs standalone, saving does nothing and loading finds nothing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from yanex import context, layout
from yanex.errors import ArtifactError

Saver = Callable[..., None]
Loader = Callable[[Path], Any]

_TEXT = {".txt", ".log", ".md", ".yaml", ".yml", ".html", ".tex"}
_IMAGES = {".png", ".jpg", ".jpeg", ".svg", ".pdf"}


def validate_name(name: Any) -> str:
    """Check an artifact name and return it normalised (``a/./b`` -> ``a/b``)."""
    if not isinstance(name, str) or not name.strip():
        raise ArtifactError(f"artifact name must be a non-empty string, not {name!r}")
    if "\x00" in name or "\\" in name:
        raise ArtifactError(f"artifact name {name!r} contains a forbidden character")
    if name.startswith("/"):
        raise ArtifactError(f"artifact name {name!r} must be relative")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        raise ArtifactError(
            f"artifact name {name!r} may not leave the artifacts folder"
        )
    longest = max(len(part.encode("utf-8", "surrogatepass")) for part in parts)
    if longest > _MAX_PART_BYTES or len(parts) > _MAX_DEPTH:
        raise ArtifactError(f"artifact name {_shortened(name)!r} is too long")
    return "/".join(parts)


# File names may have 255 bytes; the temporary name an artifact is written
# under first adds 16.
_MAX_PART_BYTES = 200
_MAX_DEPTH = 32


def _shortened(name: str) -> str:
    return name if len(name) <= 40 else name[:37] + "..."


def artifact_path(directory: str | Path, name: str) -> Path:
    """The path of artifact ``name`` under ``directory``, which it cannot leave.

    Links inside the artifacts folder are resolved, so a link pointing
    elsewhere is refused rather than followed.
    """
    if Path(directory).is_symlink():
        raise ArtifactError(
            f"the artifacts folder {directory} is a link; not following it"
        )
    base = Path(directory).resolve()
    target = base / validate_name(name)
    resolved = target.resolve()
    if resolved != base and base not in resolved.parents:
        raise ArtifactError(
            f"artifact name {name!r} leads outside the artifacts folder"
        )
    return target


def _current_artifacts_dir() -> Path | None:
    current = context.current()
    if current is None:
        return None
    return Path(current.directory) / layout.ARTIFACTS_DIR


def copy_artifact(
    src_path: str | os.PathLike[str], filename: str | None = None
) -> None:
    """Copy a file or folder into the experiment's artifacts."""
    source = Path(src_path)
    if not source.exists():
        raise ArtifactError(f"cannot copy artifact: {source} does not exist")
    name = validate_name(filename if filename is not None else source.name)
    directory = _current_artifacts_dir()
    if directory is None:
        return
    target = artifact_path(directory, name)

    def copy(temporary: Path) -> None:
        if source.is_dir():
            shutil.copytree(source, temporary, symlinks=True)
        else:
            shutil.copyfile(source, temporary)

    _write_via_temporary(target, copy)


def save_artifact(
    obj: Any, filename: str, saver: Saver | None = None, **kwargs: Any
) -> None:
    """Save ``obj`` as artifact ``filename``, in the format its extension names.

    ``saver(obj, path, **kwargs)`` overrides the format. Supported: text
    (.txt, .md, ...), .json, .jsonl, .csv (a DataFrame, or rows as dicts or
    lists), .npy/.npz (numpy), .pkl/.pickle, .pt/.pth (torch), images
    (.png, .jpg, .svg, .pdf) from a matplotlib figure or PIL image, and raw
    ``bytes`` under any name.
    """
    name = validate_name(filename)
    write = _saver_for(obj, name) if saver is None else saver
    directory = _current_artifacts_dir()
    if directory is None:
        return
    target = artifact_path(directory, name)
    _write_via_temporary(target, lambda temporary: write(obj, temporary, **kwargs))


def load_artifact(
    filename: str, loader: Loader | None = None, format: str | None = None
) -> Any:
    """Load artifact ``filename`` of the current experiment, or None if absent."""
    directory = _current_artifacts_dir()
    if directory is None:
        return None
    return load_from(directory, filename, loader=loader, format=format)


def load_from(
    directory: str | Path,
    filename: str,
    loader: Loader | None = None,
    format: str | None = None,
) -> Any:
    """Load an artifact from an artifacts folder; None if it does not exist."""
    path = artifact_path(directory, filename)
    if not path.exists():
        return None
    if loader is not None:
        return loader(path)
    extension = f".{format.lstrip('.')}" if format else path.suffix.lower()
    return _load(path, extension)


def list_artifacts() -> list[str]:
    """Names of the current experiment's artifacts, sorted; ``[]`` standalone."""
    directory = _current_artifacts_dir()
    return list_in(directory) if directory is not None else []


def list_in(directory: str | Path) -> list[str]:
    """Names of the artifacts in an artifacts folder, temporary files excluded."""
    base = Path(directory)
    if base.is_symlink():
        raise ArtifactError(
            f"the artifacts folder {directory} is a link; not following it"
        )
    if not base.is_dir():
        return []
    names = []
    for path in base.rglob("*"):
        is_file = path.is_symlink() or path.is_file()
        if is_file and not path.name.startswith(".yanex-"):
            names.append(path.relative_to(base).as_posix())
    return sorted(names)


def artifact_exists(filename: str) -> bool:
    """Whether the current experiment has artifact ``filename``."""
    directory = _current_artifacts_dir()
    return directory is not None and artifact_path(directory, filename).exists()


def _write_via_temporary(target: Path, write: Callable[[Path], None]) -> None:
    temporary = target.with_name(f".yanex-{layout.new_id()}-{target.name}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write(temporary)
        os.replace(temporary, target)
    except ArtifactError:
        _remove(temporary)
        raise
    except OSError as error:
        _remove(temporary)
        raise ArtifactError(f"cannot write artifact {target.name}: {error}") from None
    except BaseException:
        _remove(temporary)
        raise


def _remove(path: Path) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except OSError:
            pass


def _saver_for(obj: Any, name: str) -> Saver:
    extension = Path(name).suffix.lower()
    if isinstance(obj, bytes | bytearray):
        return _save_bytes
    savers: dict[str, Saver] = {
        ".json": _save_json,
        ".jsonl": _save_jsonl,
        ".csv": _save_csv,
        ".npy": _save_npy,
        ".npz": _save_npz,
        ".pkl": _save_pickle,
        ".pickle": _save_pickle,
        ".pt": _save_torch,
        ".pth": _save_torch,
    }
    if extension in savers:
        return savers[extension]
    if extension in _TEXT:
        return _save_text
    if extension in _IMAGES:
        return _save_image
    raise ArtifactError(
        f"cannot save a {type(obj).__name__} as {name!r}: unknown extension;"
        " pass saver= or save bytes"
    )


def _save_bytes(obj: bytes, path: Path, **_: Any) -> None:
    path.write_bytes(bytes(obj))


def _save_text(obj: Any, path: Path, **_: Any) -> None:
    if not isinstance(obj, str):
        raise ArtifactError(
            f"a {path.suffix} artifact takes a str, not {type(obj).__name__}"
        )
    path.write_text(obj, encoding="utf-8")


def _save_json(obj: Any, path: Path, **kwargs: Any) -> None:
    import json

    kwargs.setdefault("indent", 2)
    try:
        text = json.dumps(obj, **kwargs)
    except (TypeError, ValueError) as error:
        raise ArtifactError(f"cannot save {path.name} as JSON: {error}") from None
    path.write_text(text + "\n", encoding="utf-8")


def _save_jsonl(obj: Any, path: Path, **kwargs: Any) -> None:
    import json

    try:
        lines = [json.dumps(record, **kwargs) for record in obj]
    except (TypeError, ValueError) as error:
        raise ArtifactError(f"cannot save {path.name} as JSON Lines: {error}") from None
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _save_csv(obj: Any, path: Path, **kwargs: Any) -> None:
    if hasattr(obj, "to_csv"):
        kwargs.setdefault("index", False)
        obj.to_csv(path, **kwargs)
        return
    import csv

    rows = list(obj)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        if rows and isinstance(rows[0], dict):
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), **kwargs)
            writer.writeheader()
            writer.writerows(rows)
        else:
            csv.writer(handle, **kwargs).writerows(rows)


def _save_npy(obj: Any, path: Path, **kwargs: Any) -> None:
    import numpy

    with open(path, "wb") as handle:
        numpy.save(handle, obj, **kwargs)


def _save_npz(obj: Any, path: Path, compressed: bool = False, **_: Any) -> None:
    import numpy

    save = numpy.savez_compressed if compressed else numpy.savez
    with open(path, "wb") as handle:
        if isinstance(obj, dict):
            save(handle, **obj)
        else:
            save(handle, obj)


def _save_pickle(obj: Any, path: Path, **kwargs: Any) -> None:
    import pickle

    with open(path, "wb") as handle:
        pickle.dump(obj, handle, **kwargs)


def _save_torch(obj: Any, path: Path, **kwargs: Any) -> None:
    import torch

    torch.save(obj, path, **kwargs)


def _save_image(obj: Any, path: Path, **kwargs: Any) -> None:
    image_format = path.suffix.lstrip(".").lower()
    if hasattr(obj, "savefig"):
        kwargs.setdefault("format", image_format)
        obj.savefig(path, **kwargs)
    elif hasattr(obj, "save"):
        obj.save(path, format=image_format.upper().replace("JPG", "JPEG"), **kwargs)
    else:
        raise ArtifactError(
            f"cannot save a {type(obj).__name__} as {path.suffix}:"
            " give a matplotlib figure, a PIL image or bytes"
        )


def _load(path: Path, extension: str) -> Any:
    if extension in _TEXT:
        return path.read_text(encoding="utf-8")
    if extension == ".json":
        import json

        return json.loads(path.read_text(encoding="utf-8"))
    if extension == ".jsonl":
        import json

        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    if extension == ".csv":
        return _load_csv(path)
    if extension in (".npy", ".npz"):
        import numpy

        loaded = numpy.load(path, allow_pickle=False)
        return dict(loaded) if extension == ".npz" else loaded
    if extension in (".pkl", ".pickle"):
        import pickle

        with open(path, "rb") as handle:
            return pickle.load(handle)
    if extension in (".pt", ".pth"):
        import torch

        return torch.load(path)
    if extension in _IMAGES - {".svg", ".pdf"}:
        return _load_image(path)
    return path.read_bytes()


def _load_csv(path: Path) -> Any:
    try:
        import pandas
    except ImportError:
        import csv

        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    return pandas.read_csv(path)


def _load_image(path: Path) -> Any:
    try:
        from PIL import Image
    except ImportError:
        return path.read_bytes()
    with Image.open(path) as image:
        image.load()
        return image.copy()
