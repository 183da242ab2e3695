"""Hostile and mangled input, property by property, at a fixed budget.

Every property feeds arbitrary or adversarial text to one way in: --param
assignments, config files (deep, aliased, tagged), --where and the other
filters, experiment ids and names, artifact names. The only outcomes
allowed are success or the project's own error with a one-line message;
never another exception, a hang (each example has a deadline) or a write
outside the store. The parsers' own properties live beside them
(test_sweep, test_where, test_values, test_timeparse); these go through
the layers above.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faultkit import figures
from yanex import artifacts, context, layout, params, query, sweep
from yanex.cli import run_command
from yanex.errors import (
    ArtifactError,
    ConfigError,
    ExperimentNotFoundError,
    ParamError,
)
from yanex.store import ExperimentSpec, Store

#: Examples per property: everyday, and with -m slow.
BUDGETS = [
    pytest.param(1, id="ci"),
    pytest.param(10, id="full", marks=pytest.mark.slow),
]
BASE_EXAMPLES = 150


def budget_settings(scale: int, examples: int = BASE_EXAMPLES) -> settings:
    return settings(
        max_examples=examples * scale,
        deadline=2000,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
        ],
    )


def one_line(error: Exception) -> None:
    message = str(error)
    assert message and "\n" not in message, repr(message)


# --- --param -----------------------------------------------------------------

SWEEPISH = "listrangelinspacelogspace()[]{},:'\"\\&*!<>=. -+_#~\t0123456789eE"
VALUE_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=SWEEPISH, max_size=40),
    st.builds(
        "".join,
        st.tuples(
            st.sampled_from(
                [
                    "list(",
                    "range(",
                    "linspace(",
                    "logspace(",
                    "[",
                    "{",
                    "'",
                    '"',
                    "&a ",
                    "!!python/object ",
                ]
            ),
            st.text(alphabet=SWEEPISH, max_size=30),
        ),
    ),
)
ASSIGNMENT = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda key, value: f"{key}={value}",
        st.one_of(
            st.from_regex(r"[a-z_][a-z0-9_.-]{0,12}", fullmatch=True),
            st.text(max_size=8),
        ),
        VALUE_TEXT,
    ),
)


@pytest.mark.parametrize("scale", BUDGETS)
def test_any_param_assignments_resolve_or_are_refused(scale: int) -> None:
    @budget_settings(scale)
    @given(st.lists(ASSIGNMENT, min_size=1, max_size=4))
    def check(assignments: list[str]) -> None:
        figures.record("fuzzing", "--param assignments", len(assignments))
        try:
            tree = params.resolve([], assignments, environ={})
            members = sweep.expand(tree)
        except ParamError as error:
            one_line(error)
            return
        assert 1 <= len(members) <= sweep.MAX_MEMBERS
        for member in members[:50]:
            layout.encode_json(member.params)

    check()


# --- config files ------------------------------------------------------------

KEY = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
SCALAR_TEXT = st.sampled_from(
    [
        "1",
        "0.5",
        "true",
        "null",
        "~",
        "yes",
        "'q'",
        '"d"',
        "1e3",
        ".inf",
        ".nan",
        "0x1f",
        "2026-01-01",
        "!!binary aGk=",
        "!!python/name:os.system",
        "!custom x",
        "list(1, 2)",
        "range(0, 3)",
        "logspace(-4, -1, 4)",
        "[1, 2]",
        "{a: 1}",
        "x" * 300,
    ]
)


def yaml_documents() -> st.SearchStrategy[str]:
    """YAML text: lines of odd scalars and tags, "billion laughs" aliases of
    any depth and fan-out, deep flow and block nesting, repeated merges."""
    line = st.builds(lambda key, value: f"{key}: {value}", KEY, SCALAR_TEXT)
    lines = st.builds(
        lambda items: "\n".join(items) + "\n", st.lists(line, min_size=1, max_size=4)
    )
    laughs = st.builds(
        lambda depth, fan: (
            f"a0: &a0 [{', '.join(['x'] * fan)}]\n"
            + "".join(
                f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]\n"
                for i in range(1, depth)
            )
        ),
        st.integers(1, 12),
        st.integers(1, 12),
    )
    nested = st.builds(
        lambda depth, opener: "x: " + opener[0] * depth + opener[1] * depth + "\n",
        st.integers(1, 3000),
        st.sampled_from(["[]", "{}"]),
    )
    indented = st.builds(
        lambda depth: (
            "".join(f"{'  ' * i}k{i}:\n" for i in range(depth))
            + "  " * depth
            + "v: 1\n"
        ),
        st.integers(1, 300),
    )
    merged = st.just("base: &b {lr: 1}\nrun:\n  <<: *b\n  <<: *b\n")
    return st.one_of(
        st.text(max_size=200),
        lines,
        laughs,
        nested,
        indented,
        merged,
        st.builds(
            lambda a, b: a + b,
            lines,
            st.text(alphabet=":-&*!|>[]{}#'\" \n\tab1", max_size=60),
        ),
    )


@pytest.mark.parametrize("scale", BUDGETS)
def test_any_config_file_loads_as_plain_data_or_is_refused(
    scale: int, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"

    @budget_settings(scale)
    @given(yaml_documents())
    def check(text: str) -> None:
        figures.record("fuzzing", "config files")
        config.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            tree = params.load_config(config)
            members = sweep.expand(tree)
        except (ConfigError, ParamError) as error:
            one_line(error)
            return
        for member in members[:20]:
            layout.encode_json(member.params)

    check()


# --- a store to read: filters, ids, names ------------------------------------


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Experiments with every kind of parameter and final metric value."""
    root = tmp_path_factory.mktemp("fuzz") / "store"
    store = Store(root)
    values: list[Any] = [
        1,
        -2.5,
        "adam",
        True,
        None,
        [1, 2],
        {"a": 1},
        float("nan"),
        10**20,
    ]
    for index, value in enumerate(values):
        experiment_id = store.create(
            ExperimentSpec(
                params={"x": value, "model": {"lr": 0.1 * index}},
                name=f"run {index}",
                tags=["grid"] if index % 2 else [],
                script="/nowhere/train.py",
                sweep={"id": "feedbeef", "index": index, "size": 9, "swept": {}},
            )
        )
        store.update_metadata(
            experiment_id,
            lambda metadata, v=value: metadata.update(
                status="completed",
                started_at="2026-01-01T00:00:00+00:00",
                metrics_summary={"final": {"acc": v, "loss": 0.5}, "steps": 1},
            ),
        )
    return root


@contextmanager
def cli_in(store: Path) -> Iterator[io.BytesIO]:
    """Run commands in this process against ``store``; yields their stderr."""
    err = io.BytesIO()
    saved = sys.stdout, sys.stderr, os.environ.get(layout.ENV_STORE)
    sys.stdout = io.TextIOWrapper(io.BytesIO())
    sys.stderr = io.TextIOWrapper(err, write_through=True)
    os.environ[layout.ENV_STORE] = str(store)
    try:
        yield err
    finally:
        sys.stdout, sys.stderr = saved[:2]
        if saved[2] is None:
            os.environ.pop(layout.ENV_STORE, None)
        else:
            os.environ[layout.ENV_STORE] = saved[2]


def run_cli(store: Path, argv: list[str]) -> tuple[int, bytes]:
    """Exit code and stderr of one command; it must end in one line or none."""
    with cli_in(store) as err:
        code = run_command(argv)
        written = err.getvalue()
    lines = written.splitlines()
    if code != 0:
        assert len(lines) == 1 and lines[0].startswith(b"Error: "), lines
    return code, written


def files_outside(root: Path, store: Path) -> set[str]:
    return {
        os.path.join(folder, name)
        for folder, folders, names in os.walk(root)
        if not folder.startswith(str(store))
        for name in names
    }


FILTER_TEXT = st.one_of(
    st.text(max_size=30),
    st.builds(
        lambda key, op, value: f"{key}{op}{value}",
        st.sampled_from(
            ["x", "acc", "model.lr", "params.x", "metrics.acc", "loss", ""]
        ),
        st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "=", "~", " in "]),
        st.text(alphabet="0123456789.eE-+[]{}'\"adm ,nulltruefals", max_size=12),
    ),
)
OPTION = st.sampled_from(
    [
        "--where",
        "--name",
        "--script",
        "--sweep",
        "--tag",
        "--started-after",
        "--ended-before",
        "--status",
    ]
)


@pytest.mark.parametrize("scale", BUDGETS)
def test_any_filters_list_or_are_refused(small_store: Path, scale: int) -> None:
    @budget_settings(scale)
    @given(
        st.lists(st.tuples(OPTION, FILTER_TEXT), min_size=1, max_size=3),
        st.sampled_from(["list", "compare"]),
        st.sampled_from(["table", "json", "csv", "markdown"]),
    )
    def check(filters: list[tuple[str, str]], command: str, output: str) -> None:
        figures.record("fuzzing", "filter options", len(filters))
        argv = [command, "-F", output]
        for option, text in filters:
            argv += [option, text]
        code, _ = run_cli(small_store, argv)
        assert code in (0, 2)

    before = files_outside(small_store.parent, small_store)
    check()
    assert files_outside(small_store.parent, small_store) == before


ID_TEXT = st.one_of(
    st.text(max_size=20),
    st.text(alphabet="0123456789abcdef", min_size=1, max_size=9),
    st.sampled_from(
        ["..", "../..", "/etc/passwd", "./", "*", "run 1", "run ?", "[r]*", "~", "\x00"]
    ),
    st.builds(
        lambda a, b: a + b,
        st.sampled_from(["../", "/", "./", "run "]),
        st.text(max_size=10),
    ),
)


@pytest.mark.parametrize("scale", BUDGETS)
def test_any_id_or_name_names_one_experiment_or_none(
    small_store: Path, scale: int
) -> None:
    store = Store(small_store)
    known = set(store.experiment_ids())

    @budget_settings(scale)
    @given(ID_TEXT, st.sampled_from(["show", "get", "logs", "compare"]))
    def check(text: str, command: str) -> None:
        figures.record("fuzzing", "experiment ids and names")
        try:
            assert query.resolve(store, text) in known
        except ExperimentNotFoundError as error:
            one_line(error)
        argv = {"get": ["get", "dir", text], "compare": ["compare", text]}.get(
            command, [command, text]
        )
        code, _ = run_cli(small_store, argv)
        assert code in (0, 2)

    before = files_outside(small_store.parent, small_store)
    check()
    assert files_outside(small_store.parent, small_store) == before


@pytest.mark.parametrize("scale", BUDGETS)
def test_any_name_given_to_an_experiment_finds_it_again(
    small_store: Path, scale: int
) -> None:
    store = Store(small_store)
    experiment_id, *others = sorted(store.experiment_ids())
    taken = {store.read_metadata(i)["name"] for i in others}

    @budget_settings(scale, examples=BASE_EXAMPLES // 3)
    @given(st.text(min_size=1, max_size=30))
    def check(name: str) -> None:
        figures.record("fuzzing", "experiment names")
        assert run_cli(small_store, ["update", experiment_id, "--name", name])[0] == 0
        for argv in (["list", "--limit", "0"], ["show", experiment_id], ["compare"]):
            assert run_cli(small_store, argv)[0] == 0
        findable = (
            name == name.strip() and name not in taken and not _looks_like_an_id(name)
        )
        try:
            found = query.resolve(store, name)
        except ExperimentNotFoundError as error:
            one_line(error)
            assert not findable
        else:
            assert found == experiment_id or not findable

    check()


def _looks_like_an_id(text: str) -> bool:
    return len(text) <= 8 and all(c in "0123456789abcdef" for c in text)


# --- artifact names -----------------------------------------------------------

ESCAPE_PROBE = "/yanex-escape-probe/passwd"

ARTIFACT_NAME = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="ab./\\\x00 ~-", max_size=20),
    st.sampled_from(
        [
            "../x",
            # An absolute name that names no real file: an escape would
            # create it, and nothing of the system is at stake.
            ESCAPE_PROBE,
            "a/../../b",
            "..",
            ".",
            "a//b",
            "x" * 300,
            "a/" * 200 + "b",
        ]
    ),
)


@pytest.mark.parametrize("scale", BUDGETS)
def test_any_artifact_name_stays_inside_the_artifacts_folder(scale: int) -> None:
    @budget_settings(scale)
    @given(ARTIFACT_NAME, st.sampled_from(["save", "copy", "load", "exists"]))
    def check(name: str, action: str) -> None:
        figures.record("fuzzing", "artifact names")
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            experiment = root / "store" / "0123abcd"
            experiment.mkdir(parents=True)
            source = root / "source.txt"
            source.write_text("data")
            before = files_outside(root, experiment / "artifacts")
            current = context.Context("0123abcd", str(experiment))
            context.push(current)
            try:
                _act(action, name, source)
            except ArtifactError as error:
                one_line(error)
            finally:
                context.pop(current)
            assert files_outside(root, experiment / "artifacts") == before
            assert not Path(ESCAPE_PROBE).parent.exists()

    check()


def _act(action: str, name: str, source: Path) -> None:
    if action == "save":
        artifacts.save_artifact(b"bytes", name)
    elif action == "copy":
        artifacts.copy_artifact(source, name)
    elif action == "load":
        artifacts.load_artifact(name)
    else:
        artifacts.artifact_exists(name)
