"""How yanex reads a parameter value, whether typed or written in YAML.

One set of rules, the YAML 1.2 core schema, types values everywhere: on the
command line (``--param lr=1e-3``), in ``YANEX_PARAM_*`` variables and in
config files. Plain text is an int (``100``, ``0x1f``), a float (``0.001``,
``1e-3``, ``.inf``), a bool (``true``/``false`` only), null (``null``, ``~`` or
nothing) or else a string, kept exactly as written. Quoted text is always a
string. ``[...]`` and ``{...}`` are YAML flow collections.

Three departures from PyYAML's defaults are deliberate: ``yes``/``no``/``on``/
``off`` stay strings, ``1e-3`` is a float, and dates stay strings, so that
every parameter is plain JSON data and reaches the script exactly.

Documents are loaded safely (no Python tags) and checked: mapping keys must
be strings, a key may not repeat, nesting is bounded, and aliases may not
expand a document beyond :data:`MAX_VALUES` values (the "billion laughs"
attack), nor refer to themselves.
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar

from yanex.errors import ParamError

#: The largest number of values one document may expand to through aliases.
MAX_VALUES = 1_000_000

#: The deepest nesting of mappings and lists a document may have.
MAX_DEPTH = 100

_NULL = re.compile(r"~|null|Null|NULL|")
_TRUE = re.compile(r"true|True|TRUE")
_FALSE = re.compile(r"false|False|FALSE")
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)

# Python refuses to convert decimal strings longer than this to int.
_MAX_INT_DIGITS = 4300


class PlainText(str):
    """A string that was written unquoted in a YAML document.

    Sweep expressions care about the difference: an unquoted ``foo(1, 2)`` is
    read as a call and reported when ``foo`` is no sweep function, while a
    quoted one is just text.
    """


def type_plain(text: str) -> Any:
    """Type unquoted text by the YAML 1.2 core schema; otherwise keep it.

    >>> type_plain("100"), type_plain("1e-3"), type_plain("on")
    (100, 0.001, 'on')
    """
    if _NULL.fullmatch(text):
        return None
    if _TRUE.fullmatch(text):
        return True
    if _FALSE.fullmatch(text):
        return False
    if _INT.fullmatch(text):
        return _to_int(text)
    if _FLOAT.fullmatch(text):
        return _to_float(text)
    return text


def _to_int(text: str) -> int:
    if text.startswith(("0o", "0x")):
        return int(text, 0)
    if len(text) > _MAX_INT_DIGITS:
        raise ParamError(f"integer with {len(text)} digits is too large")
    return int(text, 10)


def _to_float(text: str) -> float:
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return -math.inf if lowered.startswith("-") else math.inf
    if lowered == ".nan":
        return math.nan
    return float(text)


def parse_value(text: str, source: str = "value") -> Any:
    """Type one value given as text, as ``--param`` and variables do.

    Surrounding white space is dropped. ``source`` names the value in error
    messages, e.g. ``"--param model.lr"``.
    """
    stripped = text.strip()
    if stripped[:1] in ("[", "{", '"', "'"):
        return _parse_yaml_value(stripped, source)
    return type_plain(stripped)


def _parse_yaml_value(text: str, source: str) -> Any:
    value = load_yaml(text, source)
    opener = text[0]
    expected: type = {"[": list, "{": dict}.get(opener, str)
    if not isinstance(value, expected):
        raise ParamError(f"{source}: cannot read {text!r} as a single value")
    return str(value) if isinstance(value, PlainText) else value


def load_yaml(text: str, source: str) -> Any:
    """Load one YAML document safely and check it is plain, bounded data.

    Raises :class:`~yanex.errors.ParamError` (or the subclass the caller
    catches) with ``source`` and the line of the problem.
    """
    import yaml

    try:
        document = yaml.load(text, Loader=_loader_class())
    except yaml.MarkedYAMLError as error:
        raise ParamError(f"{source}: {_describe_yaml_error(error)}") from None
    except yaml.reader.ReaderError as error:
        # Its own text spans two lines and names no file.
        code = error.character
        code = code if isinstance(code, int) else ord(code)
        raise ParamError(
            f"{source}: unacceptable character #x{code:04x} at character"
            f" {error.position + 1} ({error.reason})"
        ) from None
    except yaml.YAMLError as error:
        raise ParamError(f"{source}: invalid YAML ({error})") from None
    except RecursionError:
        raise ParamError(f"{source}: nested too deeply") from None
    except _DocumentError as error:
        raise ParamError(f"{source}: {error}") from None
    return check_plain_data(document, source)


def _describe_yaml_error(error: Any) -> str:
    problem = error.problem or error.context or "invalid YAML"
    mark = error.problem_mark or error.context_mark
    if mark is None:
        return problem
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"


class _DocumentError(Exception):
    """Raised inside the YAML loader; turned into a ParamError by the caller."""


def check_plain_data(document: Any, source: str) -> Any:
    """Return a fresh copy of ``document`` after checking it is plain data.

    Plain data is what JSON can hold: mappings with string keys, lists,
    strings, numbers, booleans and null. Copying breaks the sharing that YAML
    aliases create, so that changing one value never changes another.
    """
    sizes: dict[int, int] = {}
    _measure(document, source, sizes, depth=0, ancestors=set())
    return _copy(document)


def _measure(
    value: Any, path: str, sizes: dict[int, int], depth: int, ancestors: set[int]
) -> int:
    if not isinstance(value, dict | list):
        _check_scalar(value, path)
        return 1
    key = id(value)
    if key in ancestors:
        raise ParamError(f"{path}: an alias refers to itself")
    if key in sizes:
        return sizes[key]
    if depth >= MAX_DEPTH:
        raise ParamError(f"{path}: nested more than {MAX_DEPTH} levels deep")
    ancestors.add(key)
    total = 1
    for name, item in _children(value, path):
        total += _measure(item, name, sizes, depth + 1, ancestors)
        if total > MAX_VALUES:
            raise ParamError(
                f"{path}: expands to more than {MAX_VALUES:,} values through aliases"
            )
    ancestors.discard(key)
    sizes[key] = total
    return total


def _children(value: dict[Any, Any] | list[Any], path: str) -> list[tuple[str, Any]]:
    if isinstance(value, list):
        return [(f"{path}[{i}]", item) for i, item in enumerate(value)]
    for name in value:
        if not isinstance(name, str):
            raise ParamError(f"{path}: mapping key {name!r} is not a string (quote it)")
    return [(f"{path}.{name}", item) for name, item in value.items()]


def _check_scalar(value: Any, path: str) -> None:
    if value is None or isinstance(value, str | bool | int | float):
        return
    raise ParamError(f"{path}: values of type {type(value).__name__} are not supported")


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _copy(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


_LOADER: type | None = None


def _loader_class() -> type:
    """Build (once) a safe YAML loader that types scalars like :func:`type_plain`."""
    global _LOADER
    if _LOADER is None:
        _LOADER = _build_loader()
    return _LOADER


def _build_loader() -> type:
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[valid-type,misc]
        yaml_implicit_resolvers: ClassVar[dict[str, Any]] = {}

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            _reject_duplicate_keys(node)
            return super().construct_mapping(node, deep=deep)

        def construct_plain_or_quoted_str(self, node: Any) -> str:
            text = self.construct_scalar(node)
            return PlainText(text) if node.style is None else text

        def construct_core_scalar(self, node: Any) -> Any:
            try:
                return type_plain(self.construct_scalar(node))
            except ParamError as error:
                raise _DocumentError(_at(node, str(error))) from None

    resolvers = [
        ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
        (
            "tag:yaml.org,2002:bool",
            re.compile(r"true|True|TRUE|false|False|FALSE"),
            list("tTfF"),
        ),
        ("tag:yaml.org,2002:int", _INT, list("-+0123456789")),
        ("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789.")),
        ("tag:yaml.org,2002:merge", re.compile(r"<<"), ["<"]),
    ]
    for tag, pattern, first in resolvers:
        anchored = re.compile(rf"^(?:{pattern.pattern})$")
        Loader.add_implicit_resolver(tag, anchored, first)
    for tag in ("null", "bool", "int", "float"):
        Loader.add_constructor(f"tag:yaml.org,2002:{tag}", Loader.construct_core_scalar)
    Loader.add_constructor(
        "tag:yaml.org,2002:str", Loader.construct_plain_or_quoted_str
    )
    return Loader


def _reject_duplicate_keys(node: Any) -> None:
    seen: set[tuple[str, str]] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge" or not hasattr(key_node, "style"):
            continue
        if not isinstance(key_node.value, str):
            continue
        key = (key_node.tag, key_node.value)
        if key in seen:
            raise _DocumentError(_at(key_node, f"key {key_node.value!r} appears twice"))
        seen.add(key)


def _at(node: Any, message: str) -> str:
    mark = node.start_mark
    return f"{message} (line {mark.line + 1}, column {mark.column + 1})"
