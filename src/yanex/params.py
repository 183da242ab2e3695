"""Resolving an experiment's parameters from every place they can come from.

Highest priority first:

1. ``--param KEY=VALUE`` on the command line, in the order given;
2. ``YANEX_PARAM_<KEY>`` environment variables (``__`` in the name is a dot,
   since shells cannot export dots: ``YANEX_PARAM_model__lr``);
3. config files, ``--config`` ones merged left to right, or ``./config.yaml``
   when none is named;
4. defaults in the script itself (``yanex.get_param("lr", default=0.1)``).

Dotted keys address nested mappings and mappings merge deeply; any other
value replaces what a lower source said. Values are typed by
:mod:`yanex.values`. A sweep expression anywhere (``lr=logspace(-4,-1,4)``)
becomes a :class:`yanex.sweep.Sweep` in the tree, which
:func:`yanex.sweep.expand` later turns into one parameter set per member.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from yanex import sweep, values
from yanex.errors import ConfigError, ParamError

ENV_PREFIX = "YANEX_PARAM_"
DEFAULT_CONFIG = "config.yaml"

_KEY_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def parse_key(key: str, source: str) -> list[str]:
    """Split a dotted key into its parts, refusing empty or odd ones."""
    parts = key.strip().split(".")
    for part in parts:
        if not _KEY_PART.fullmatch(part):
            shown = part or "(empty)"
            raise ParamError(
                f"{source}: invalid key {key.strip()!r}: part {shown!r} must be"
                " letters, digits, '_' or '-'"
            )
    return parts


def read_value(text: str, source: str) -> Any:
    """Type one textual value, turning a sweep expression into a Sweep."""
    stripped = text.strip()
    quoted = stripped[:1] in ('"', "'")
    if not quoted:
        found = sweep.maybe_parse(stripped, quoted=False, source=source)
        if found is not None:
            return found
    value = values.parse_value(stripped, source)
    if quoted and isinstance(value, str):
        found = sweep.maybe_parse(value, quoted=True, source=source)
        if found is not None:
            return found
    return value


def parse_assignment(text: str, source: str = "--param") -> tuple[list[str], Any]:
    """Read ``KEY=VALUE`` into the key's parts and the typed value."""
    key, separator, raw = text.partition("=")
    if not separator or not key.strip():
        raise ParamError(f"{source} {text!r}: expected KEY=VALUE")
    # The key names the value in messages; shown as written when it can be.
    shown = key.strip() if key.strip().isprintable() else repr(key.strip())
    label = f"{source} {shown}"
    return parse_key(key, label), read_value(raw, label)


def environment_assignments(
    environ: Mapping[str, str],
) -> list[tuple[list[str], Any]]:
    """The ``YANEX_PARAM_*`` variables as assignments, sorted by name."""
    assignments = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX:
            continue
        key = name[len(ENV_PREFIX) :].replace("__", ".")
        label = f"environment variable {name}"
        assignments.append((parse_key(key, label), read_value(environ[name], label)))
    return assignments


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read one config file: a YAML mapping, possibly holding sweeps."""
    location = Path(path)
    try:
        text = location.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {str(path)!r} is a directory") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {str(path)!r} is not UTF-8 text") from None
    except OSError as error:
        raise ConfigError(
            f"cannot read config file {str(path)!r}: {error.strerror}"
        ) from None
    try:
        document = values.load_yaml(text, str(path))
    except ParamError as error:
        raise ConfigError(str(error)) from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(
            f"config file {str(path)!r} must hold a mapping of parameters,"
            f" not a {type(document).__name__}"
        )
    return _read_sweeps(document, str(path), [])


def _read_sweeps(
    tree: dict[str, Any], source: str, prefix: list[str]
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in tree.items():
        path = [*prefix, key]
        if isinstance(value, dict):
            result[key] = _read_sweeps(value, source, path)
        elif isinstance(value, str):
            label = f"{source}: {'.'.join(path)}"
            found = sweep.sweep_from_value(value, label)
            result[key] = found if found is not None else str(value)
        else:
            result[key] = _plain_strings(value)
    return result


def _plain_strings(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain_strings(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain_strings(item) for key, item in value.items()}
    if isinstance(value, str):
        return str(value)
    return value


def config_files(explicit: Iterable[str], cwd: str | os.PathLike[str]) -> list[Path]:
    """The config files to load: those named, else ``config.yaml`` if present."""
    named = [Path(path) for path in explicit]
    if named:
        return named
    default = Path(cwd) / DEFAULT_CONFIG
    return [default] if default.is_file() else []


def resolve(
    configs: Iterable[str | os.PathLike[str]],
    assignments: Iterable[str],
    environ: Mapping[str, str] | None = None,
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Merge every source into one parameter tree, highest priority last.

    ``base`` lies beneath all of them (a rerun starts from the parameters
    its original recorded).
    """
    tree: dict[str, Any] = values.check_plain_data(dict(base or {}), "parameters")
    for path in configs:
        tree = deep_merge(tree, load_config(path))
    environment = os.environ if environ is None else environ
    for key, value in environment_assignments(environment):
        set_path(tree, key, value, "YANEX_PARAM_" + "__".join(key))
    for text in assignments:
        key, value = parse_assignment(text)
        set_path(tree, key, value, f"--param {'.'.join(key)}")
    return tree


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``; nested mappings merge too."""
    merged = dict(base)
    for key, value in override.items():
        existing = merged.get(key)
        if isinstance(existing, dict) and isinstance(value, dict):
            merged[key] = deep_merge(existing, value)
        else:
            merged[key] = value
    return merged


def set_path(tree: dict[str, Any], key: list[str], value: Any, source: str) -> None:
    """Set a dotted key in ``tree``, creating mappings on the way.

    A value that is not a mapping in the way is a conflict, reported rather
    than silently replaced: ``model.lr=1`` cannot apply when ``model`` is a
    string.
    """
    node = tree
    for depth, part in enumerate(key[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            owner = ".".join(key[: depth + 1])
            raise ParamError(
                f"{source}: cannot set {'.'.join(key)} because {owner} is"
                f" {describe(child)}, not a mapping"
            )
        node = child
    existing = node.get(key[-1])
    if isinstance(existing, dict) and isinstance(value, dict):
        node[key[-1]] = deep_merge(existing, value)
    else:
        node[key[-1]] = value


def describe(value: Any) -> str:
    """A short description of a value for messages."""
    if isinstance(value, sweep.Sweep):
        return f"the sweep {value.text!r}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys to leaf values: ``{"model": {"lr": 1}}`` -> ``{"model.lr": 1}``.

    An empty mapping is kept as a leaf so that nothing disappears.
    """
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat
