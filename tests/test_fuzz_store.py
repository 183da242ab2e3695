"""Damaged stores: random bytes and wrong shapes in place of any record.

Each example of the property test copies a small store made by real runs,
damages one to three things in it, and asks every reader about it: ``yanex
list``, ``show``, ``compare``, ``get`` and ``logs`` (in this process,
through the command line's own entry point) and the results API. Each may
succeed or report the damage as a :class:`~yanex.errors.YanexError`;
nothing else may escape, and nothing outside the store may change. The
tests before it are damage the fuzzing found, kept as examples.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import GIT_ENV, Project
from faultkit import figures
from yanex import query, results
from yanex.cli import run_command
from yanex.errors import ArtifactError, YanexError
from yanex.store import ExperimentSpec, Store


def damage_field(project: Project, field: str, value: Any) -> str:
    """Run one experiment, then give a field of its metadata ``value``."""
    project.write("train.py", "print('ok')\n")
    assert project.yanex("run", "train.py").returncode == 0
    directory = project.only_experiment()
    metadata = project.metadata(directory)
    metadata[field] = value
    (directory / "metadata.json").write_text(json.dumps(metadata))
    return directory.name


def test_metadata_of_the_wrong_shape_is_reported_as_damage(project: Project) -> None:
    experiment_id = damage_field(project, "sweep", [1])

    listed = project.yanex("list")
    shown = project.yanex("show", experiment_id)

    problem = f"experiment {experiment_id}: metadata.json is damaged (sweep is a list)"
    assert listed.returncode == 0
    assert listed.error_lines == [
        f"yanex: warning: 1 experiment is left out, damaged: {problem}",
        "yanex: no experiment matches",
    ]
    assert (shown.returncode, shown.error_lines) == (1, [f"Error: {problem}"])


def test_numbers_beyond_what_the_index_holds_are_still_listed(
    project: Project,
) -> None:
    experiment_id = damage_field(project, "exit_code", 2**63)
    params = project.store / experiment_id / "params.json"
    params.write_text('{"yanex_format": 1, "params": {"x": 1' + "0" * 400 + "}}")

    listed = project.yanex("list", "-F", "json", "--where", "x>1")
    compared = project.yanex("compare", "-F", "csv", "--all-params")

    assert (listed.returncode, json.loads(listed.stdout)) == (0, [])
    assert compared.returncode == 0
    assert compared.stdout.splitlines()[1].endswith("1" + "0" * 400)


def test_an_index_damaged_past_its_first_page_is_rebuilt(
    store_env: Path,
) -> None:
    store = Store(store_env)
    ids = [store.create(ExperimentSpec(params={"seed": seed})) for seed in range(5)]
    for experiment_id in ids:
        store.update_metadata(
            experiment_id,
            lambda metadata: metadata.update(metrics_summary={"final": {"acc": 0.7}}),
        )
    assert len(query.select(store, query.Filters()).rows) == 5
    index = store_env / "index.sqlite"
    index.write_bytes(index.read_bytes()[:-1000])
    store.update_metadata(ids[0], lambda metadata: metadata.update(name="renamed"))

    selection = query.select(store, query.Filters(name="renamed"))

    assert [row["id"] for row in selection.rows] == [ids[0]]


LOGGING = """\
import yanex
yanex.log_metrics({"acc": 0.5})
yanex.save_artifact("inside", "note.txt")
print("inside")
"""


def plant_link(path: Path, target: Path) -> None:
    """Put a link to ``target`` where ``path`` was."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.symlink_to(target)


def test_links_planted_in_an_experiment_are_reported_not_followed(
    project: Project, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    project.write("train.py", LOGGING)
    assert project.yanex("run", "train.py").returncode == 0
    directory = project.only_experiment()
    for name in ("stdout.log", "metrics.jsonl"):
        plant_link(directory / name, outside / "secret.txt")
    plant_link(directory / "artifacts", outside)

    logs = project.yanex("logs", directory.name)
    shown = project.yanex("show", directory.name)
    metrics = project.yanex("get", "metrics", directory.name)

    assert (logs.returncode, logs.error_lines) == (
        1,
        ["Error: stdout.log cannot be read (it is a link)"],
    )
    assert shown.returncode == 1
    assert metrics.error_lines == ["Error: metrics.jsonl cannot be read (it is a link)"]
    assert "secret" not in logs.stdout + shown.stdout + metrics.stdout
    experiment = results.get_experiment(directory.name, store=project.store)
    with pytest.raises(ArtifactError, match="is a link; not following it"):
        experiment.load_artifact("secret.txt")


@pytest.mark.parametrize("plant", ["folder", "link"])
def test_the_tail_of_output_that_cannot_be_read_is_reported(
    project: Project, tmp_path: Path, plant: str
) -> None:
    project.write("train.py", LOGGING)
    assert project.yanex("run", "train.py").returncode == 0
    stdout = project.only_experiment() / "stdout.log"
    stdout.unlink()
    if plant == "folder":
        stdout.mkdir()
    else:
        stdout.symlink_to(tmp_path)

    result = project.yanex("logs", project.only_experiment().name, "--tail", "2")

    reason = "Is a directory" if plant == "folder" else "it is a link"
    assert (result.returncode, result.error_lines) == (
        1,
        [f"Error: stdout.log cannot be read ({reason})"],
    )


def test_a_run_never_writes_through_links_planted_in_its_experiment(
    project: Project, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "metrics.jsonl").write_text("")
    project.write("train.py", LOGGING)
    first, second, third = project.yanex(
        "run", "train.py", "--param", "seed=range(0, 3)", "--stage"
    ).stdout.split()
    plant_link(project.store / first / "stdout.log", outside / "stdout.log")
    plant_link(project.store / second / "metrics.jsonl", outside / "metrics.jsonl")
    plant_link(project.store / third / ".lock", outside / "lock")

    result = project.yanex("run", "--staged")

    assert result.returncode == 1
    assert sorted(p.name for p in outside.iterdir()) == ["metrics.jsonl"]
    assert (outside / "metrics.jsonl").read_text() == ""
    statuses = [
        project.metadata(project.store / i)["status"] for i in (first, second, third)
    ]
    assert statuses == ["failed", "failed", "staged"]


# The property: every reader on any damaged store.

BUDGETS = [
    pytest.param(150, id="ci"),
    pytest.param(3000, id="full", marks=pytest.mark.slow),
]

TRAIN = """\
import sys, yanex
for step in range(3):
    yanex.log_metrics({"acc": 0.5 + step / 10, "loss": 1 / (step + 1)}, step=step)
yanex.save_artifact({"seed": yanex.get_param("seed", 0)}, "summary.json")
print("trained")
sys.exit(yanex.get_param("code", 0))
"""

RECORDS = [
    "metadata.json",
    "params.json",
    "git.json",
    "metrics.jsonl",
    "stdout.log",
    ".heartbeat",
    "artifacts",
    ".",
]

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)

METADATA_FIELDS = [
    "id",
    "name",
    "tags",
    "status",
    "script",
    "sweep",
    "runner",
    "started_at",
    "created_at",
    "duration_s",
    "exit_code",
    "metrics_summary",
    "archived",
    "cwd",
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store made by real runs: a sweep, a failure, a staged experiment."""
    root = tmp_path_factory.mktemp("template")
    repo, store = root / "repo", root / "store"
    repo.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YANEX_")}
    env.update(GIT_ENV, YANEX_EXPERIMENTS_DIR=str(store), HOME=str(root))
    (repo / "train.py").write_text(TRAIN)

    def run(*args: str) -> None:
        subprocess.run(args, cwd=repo, env=env, check=True, capture_output=True)

    run("git", "init", "-q", "-b", "main")
    run("git", "add", "train.py")
    run("git", "commit", "-q", "-m", "train")
    yanex = [sys.executable, "-m", "yanex", "run", "train.py"]
    run(*yanex, "--param", "seed=range(0, 3)", "--tag", "grid")
    subprocess.run(
        [*yanex, "--param", "code=3"], cwd=repo, env=env, capture_output=True
    )
    run(*yanex, "--param", "seed=9", "--stage")
    run(sys.executable, "-m", "yanex", "list")
    return store


class Damage:
    """One thing done to one record of one experiment (or to the index)."""

    def __init__(self, target: int, record: str, how: str, payload: Any) -> None:
        self.target, self.record, self.how, self.payload = target, record, how, payload

    def __repr__(self) -> str:
        return f"Damage({self.target}, {self.record!r}, {self.how!r}, {self.payload!r})"

    def apply(self, store: Path) -> None:
        ids = sorted(p.name for p in store.iterdir() if len(p.name) == 8)
        if self.record == "index.sqlite":
            path = store / "index.sqlite"
        else:
            path = store / ids[self.target % len(ids)] / self.record
        try:
            _DAMAGES[self.how](path, self.payload)
        except OSError:
            pass  # an earlier damage took the place away


def _replace_bytes(path: Path, data: bytes) -> None:
    _clear(path)
    path.write_bytes(data)


def _truncate(path: Path, fraction: float) -> None:
    if path.is_file():
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])


def _wrong_field(path: Path, change: tuple[str, Any]) -> None:
    """Give one field of a JSON record a value of any shape."""
    try:
        record = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return
    if isinstance(record, dict):
        record[change[0]] = change[1]
        path.write_text(json.dumps(record))


def _other_document(path: Path, document: Any) -> None:
    _clear(path)
    path.write_text(json.dumps(document))


def _remove(path: Path, _: Any) -> None:
    _clear(path)


def _folder(path: Path, _: Any) -> None:
    _clear(path)
    path.mkdir()


def _link_outside(path: Path, _: Any) -> None:
    """Replace a record by a link to a decoy beside the store.

    The decoy, never a real system file: a later damage of the same record
    writes through the link, and must harm nothing but the decoy.
    """
    _clear(path)
    store = next(p for p in path.parents if not _is_id(p.name))
    outside = store.parent / "outside"
    outside.mkdir(exist_ok=True)
    decoy = outside / "decoy"
    if not decoy.exists():
        decoy.write_text("root:x:0:0:decoy\n")
    is_folder = path.name == "artifacts" or _is_id(path.name)
    path.symlink_to(outside if is_folder else decoy)


def _is_id(name: str) -> bool:
    return len(name) == 8 and all(c in "0123456789abcdef" for c in name)


def _clear(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


_DAMAGES: dict[str, Callable[[Path, Any], None]] = {
    "bytes": _replace_bytes,
    "truncate": _truncate,
    "field": _wrong_field,
    "document": _other_document,
    "remove": _remove,
    "folder": _folder,
    "link": _link_outside,
}

DAMAGE = st.one_of(
    st.builds(
        Damage,
        st.integers(0, 9),
        st.sampled_from([*RECORDS, "index.sqlite"]),
        st.just("bytes"),
        st.binary(max_size=200),
    ),
    st.builds(
        Damage,
        st.integers(0, 9),
        st.sampled_from([*RECORDS, "index.sqlite"]),
        st.just("truncate"),
        st.floats(0, 1),
    ),
    st.builds(
        Damage,
        st.integers(0, 9),
        st.just("metadata.json"),
        st.just("field"),
        st.tuples(st.sampled_from(METADATA_FIELDS), JSON),
    ),
    st.builds(
        Damage,
        st.integers(0, 9),
        st.sampled_from(["metadata.json", "params.json", "git.json"]),
        st.just("document"),
        JSON,
    ),
    st.builds(
        Damage,
        st.integers(0, 9),
        st.sampled_from(RECORDS),
        st.sampled_from(["remove", "folder", "link"]),
        st.none(),
    ),
)


def readers(store: Path, some_id: str) -> Iterator[tuple[str, Callable[[], Any]]]:
    """Every way of reading the store, each a name and a call."""
    for argv in (
        ["list", "--limit", "0", "--all"],
        ["list", "-F", "json", "--where", "acc>0.1"],
        ["compare", "-F", "csv"],
        ["compare", some_id],
        ["show", some_id],
        ["show", some_id, "-F", "json"],
        ["get", "params", some_id],
        ["get", "metrics.acc", some_id],
        ["get", "git.commit", some_id],
        ["logs", some_id, "--tail", "2"],
    ):
        yield " ".join(argv), lambda argv=argv: _cli(argv)
    yield "results.find", lambda: [_touch(e) for e in results.find(store=store)]
    yield (
        "results.get_experiment",
        lambda: _touch(results.get_experiment(some_id, store=store)),
    )
    yield "results.get_best", lambda: results.get_best("acc", store=store)
    yield "results.compare", lambda: results.compare(store=store)
    yield "results.metrics", lambda: results.metrics(store=store)


def _cli(argv: list[str]) -> None:
    code = run_command(argv)
    assert code in (0, 1, 2), f"exit code {code}"


def _touch(experiment: results.Experiment) -> tuple[Any, ...]:
    """Read everything an experiment object offers."""
    return (
        experiment.to_dict(),
        experiment.params,
        experiment.git,
        experiment.final_metrics,
        experiment.list_artifacts(),
        experiment.artifact_sizes(),
        experiment.output("stdout", tail=3),
    )


def snapshot(root: Path, store: Path) -> dict[str, tuple[int, int]]:
    """Sizes and times of every file under ``root`` but the store."""
    found = {}
    for folder, folders, files in os.walk(root):
        if Path(folder) == store:
            folders.clear()
            continue
        for name in files:
            info = os.lstat(os.path.join(folder, name))
            found[os.path.join(folder, name)] = (info.st_size, info.st_mtime_ns)
    return found


@pytest.mark.parametrize("budget", BUDGETS)
def test_every_reader_reports_damage_or_succeeds(
    template: Path, budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    @settings(
        max_examples=budget,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(damages=st.lists(DAMAGE, min_size=1, max_size=3))
    def check(damages: list[Damage]) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            store = Path(scratch) / "store"
            shutil.copytree(template, store, symlinks=True)
            some_id = sorted(p.name for p in store.iterdir() if len(p.name) == 8)[0]
            for damage in damages:
                damage.apply(store)
            monkeypatch.setenv("YANEX_EXPERIMENTS_DIR", str(store))
            before = snapshot(Path(scratch), store)
            for name, read in readers(store, some_id):
                with captured_output() as err:
                    try:
                        read()
                    except YanexError:
                        pass
                    except Exception as error:
                        message = f"{name} crashed on {damages}: {error!r}"
                        raise AssertionError(message) from error
                    assert b"Traceback" not in err.getvalue()
            assert snapshot(Path(scratch), store) == before
        figures.record("fuzzing", "damaged stores read by every reader")

    check()


@contextmanager
def captured_output() -> Iterator[io.BytesIO]:
    """Stand-ins for stdout and stderr that take bytes as well as text;
    yields what was written to stderr."""
    err = io.BytesIO()
    streams = sys.stdout, sys.stderr
    sys.stdout = io.TextIOWrapper(io.BytesIO())
    sys.stderr = io.TextIOWrapper(err, write_through=True)
    try:
        yield err
    finally:
        sys.stdout, sys.stderr = streams
