"""yanex: a Git-aware experiment runner for Python research.

Inside a script::

    import yanex

    lr = yanex.get_param("model.lr", default=0.001)
    for epoch in range(3):
        yanex.log_metrics({"loss": 1 / (epoch + 1)}, step=epoch)
    yanex.save_artifact({"lr": lr}, "summary.json")

Run it with ``yanex run train.py --param model.lr=0.01``; run it with plain
``python`` and the same calls use defaults and write nothing. Reading results
back is :mod:`yanex.results`.

Importing this package loads only the standard library and the small module
that talks to the current experiment; everything else is imported on use.
"""

from __future__ import annotations

import os

from yanex.context import (
    get_artifacts_dir,
    get_experiment_dir,
    get_experiment_id,
    get_metadata,
    get_param,
    get_params,
    get_status,
    has_context,
    is_standalone,
    log_metrics,
    log_results,
)
from yanex.errors import YanexError

# ``typing`` costs milliseconds that every script would pay; the constant
# below is how type checkers still see the names.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from yanex.session import ExperimentSession

__version__ = "0.1.0"

__all__ = [
    "YanexError",
    "artifact_exists",
    "copy_artifact",
    "create_experiment",
    "get_artifacts_dir",
    "get_experiment_dir",
    "get_experiment_id",
    "get_metadata",
    "get_param",
    "get_params",
    "get_status",
    "has_context",
    "is_standalone",
    "list_artifacts",
    "load_artifact",
    "log_metrics",
    "log_results",
    "save_artifact",
]


def copy_artifact(
    src_path: str | os.PathLike[str], filename: str | None = None
) -> None:
    """Copy a file or folder into the current experiment's artifacts."""
    from yanex import artifacts

    artifacts.copy_artifact(src_path, filename)


def save_artifact(obj: Any, filename: str, saver: Any = None, **kwargs: Any) -> None:
    """Save an object as an artifact; the extension picks the format."""
    from yanex import artifacts

    artifacts.save_artifact(obj, filename, saver, **kwargs)


def load_artifact(filename: str, loader: Any = None, format: str | None = None) -> Any:
    """Load one of the current experiment's artifacts, or None if absent."""
    from yanex import artifacts

    return artifacts.load_artifact(filename, loader, format)


def list_artifacts() -> list[str]:
    """Names of the current experiment's artifacts."""
    from yanex import artifacts

    return artifacts.list_artifacts()


def artifact_exists(filename: str) -> bool:
    """Whether the current experiment has this artifact."""
    from yanex import artifacts

    return artifacts.artifact_exists(filename)


def create_experiment(
    script_path: str | Path | None = None,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    description: str | None = None,
) -> ExperimentSession:
    """Start an experiment from inside Python, e.g. a notebook.

    Use it as a context manager; leaving the block records the experiment
    completed, failed (an exception) or cancelled (Ctrl-C)::

        with yanex.create_experiment(name="probe", config={"lr": 0.1}):
            yanex.log_metrics({"loss": 0.5})
    """
    from yanex.session import ExperimentSession

    return ExperimentSession(
        script_path=script_path,
        name=name,
        config=config,
        tags=tags,
        description=description,
    )


def __getattr__(name: str) -> Any:
    if name == "results":
        import importlib

        return importlib.import_module("yanex.results")
    raise AttributeError(f"module 'yanex' has no attribute {name!r}")
