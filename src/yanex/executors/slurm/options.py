"""What a user asks of Slurm for each task, and the project's defaults.

Resources given on the command line (``--slurm-partition gpu``) win over
the project's defaults, which live in the ``slurm:`` section of a
``yanex.yaml`` file in the directory yanex runs from or the nearest parent
up to the git repository's root::

    slurm:
      partition: gpu
      time: "2:00:00"
      cpus: 4
      mem: 16G
      gpus: 1
      account: my-lab
      qos: normal
      requeue: true
      options: ["--constraint=a100", "--mail-type=FAIL"]

``options`` go to sbatch as they are, before any ``--slurm-option`` given
on the command line (sbatch lets the later of two settings win).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from yanex.errors import ConfigError, UsageError

PROJECT_FILE = "yanex.yaml"

#: sbatch options yanex sets itself; passing them through would break the
#: array or the bookkeeping of its tasks.
_RESERVED = ("-a", "--array", "--wrap", "--parsable", "-o", "--output")

# Paths that compute nodes usually do not share with the login node.
_NODE_LOCAL = ("/tmp", "/var/tmp", "/dev/shm", "/run")


class SlurmOptions(NamedTuple):
    """Resources for every task of an array, in sbatch's terms."""

    partition: str | None = None
    time: str | None = None
    gpus: int | None = None
    cpus: int | None = None
    mem: str | None = None
    account: str | None = None
    qos: str | None = None
    options: tuple[str, ...] = ()
    requeue: bool | None = None

    def sbatch_arguments(self) -> list[str]:
        """The sbatch options these settings stand for."""
        named = [
            ("--partition", self.partition),
            ("--time", self.time),
            ("--gres", f"gpu:{self.gpus}" if self.gpus else None),
            ("--cpus-per-task", self.cpus),
            ("--mem", self.mem),
            ("--account", self.account),
            ("--qos", self.qos),
        ]
        arguments = [f"{flag}={value}" for flag, value in named if value is not None]
        arguments.append("--requeue" if self.requeue else "--no-requeue")
        return [*arguments, *self.options]

    def over(self, defaults: SlurmOptions) -> SlurmOptions:
        """These options, with ``defaults`` filling in what was not given."""
        chosen: dict[str, Any] = {
            name: mine if mine is not None else getattr(defaults, name)
            for name, mine in zip(self._fields, self, strict=True)
        }
        chosen["options"] = (*defaults.options, *self.options)
        return SlurmOptions(**chosen)


def check_pass_through(options: Sequence[str], source: str) -> tuple[str, ...]:
    """Options for sbatch as given, refusing what would break the array."""
    for option in options:
        if not option.startswith("-"):
            raise UsageError(
                f"{source} {option!r}: not an sbatch option (options start with '-')"
            )
        name = option.split("=", 1)[0]
        if name in _RESERVED:
            raise UsageError(f"{source} {option!r}: yanex sets {name} itself")
    return tuple(options)


def find_project_file(cwd: str) -> Path | None:
    """The ``yanex.yaml`` that applies in ``cwd``, if any."""
    directory = Path(cwd).absolute()
    while True:
        candidate = directory / PROJECT_FILE
        if candidate.is_file():
            return candidate
        if (directory / ".git").exists() or directory.parent == directory:
            return None
        directory = directory.parent


def project_defaults(cwd: str) -> SlurmOptions:
    """The project's Slurm defaults: the ``slurm:`` section of yanex.yaml."""
    path = find_project_file(cwd)
    if path is None:
        return SlurmOptions()
    section = _read_section(path)
    known = set(SlurmOptions._fields)
    for key in section:
        if key not in known:
            names = ", ".join(SlurmOptions._fields)
            raise ConfigError(f"{path}: slurm.{key}: unknown setting; use {names}")
    values: dict[str, Any] = {
        key: _checked(path, key, value) for key, value in section.items()
    }
    return SlurmOptions(**values)


def _read_section(path: Path) -> dict[str, Any]:
    from yanex import values
    from yanex.errors import ParamError

    try:
        document = values.load_yaml(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    except ParamError as error:
        raise ConfigError(str(error)) from None
    section = document.get("slurm") if isinstance(document, dict) else None
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: slurm must be a mapping of sbatch settings")
    return section


def _checked(path: Path, key: str, value: Any) -> Any:
    where = f"{path}: slurm.{key}"
    if value is None:
        return () if key == "options" else None
    if key == "requeue":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: must be true or false")
        return value
    if key in ("gpus", "cpus"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{where}: must be a whole number")
        return value
    if key == "options":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ConfigError(f"{where}: must be a list of sbatch options")
        try:
            return check_pass_through(items, where)
        except UsageError as error:
            raise ConfigError(str(error)) from None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(f"{where}: must be text")
    return str(value)


def store_warning(root: Path) -> str | None:
    """A warning when the store is on a path compute nodes may not see."""
    resolved = str(root.resolve())
    local = {*_NODE_LOCAL, os.path.realpath(tempfile.gettempdir())}
    for prefix in sorted(local):
        if resolved == prefix or resolved.startswith(prefix.rstrip(os.sep) + os.sep):
            return (
                f"the store {resolved} is under {prefix}, which compute nodes"
                " usually do not share; set YANEX_EXPERIMENTS_DIR to a shared"
                " filesystem"
            )
    return None
