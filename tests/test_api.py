"""The in-script API (``import yanex``) against a real experiment directory."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

import yanex
from yanex import context
from yanex.errors import ArtifactError, MetricError
from yanex.metrics import read_history
from yanex.store import ExperimentSpec, Store


@pytest.fixture
def experiment(store_env: Path) -> Iterator[Path]:
    store = Store()
    experiment_id = store.create(ExperimentSpec(params={"model": {"lr": 0.1}, "n": 3}))
    current = context.Context(experiment_id, str(store.directory(experiment_id)))
    context.push(current)
    yield store.directory(experiment_id)
    context.pop(current)


def history(directory: Path) -> list[dict]:
    return read_history(str(directory / "metrics.jsonl")).steps


def test_get_param_reads_dotted_keys_with_defaults(experiment: Path) -> None:
    assert yanex.get_param("model.lr") == 0.1
    assert yanex.get_param("model.depth", default=5) == 5
    assert yanex.get_param("n.x", default="d") == "d"
    assert yanex.get_params() == {"model": {"lr": 0.1}, "n": 3}


def test_steps_increment_automatically(experiment: Path) -> None:
    yanex.log_metrics({"a": 1})
    yanex.log_metrics({"a": 2})
    yanex.log_metrics({"a": 3}, step=10)
    yanex.log_metrics({"a": 4})
    assert [row["step"] for row in history(experiment)] == [0, 1, 10, 11]


def test_values_logged_twice_for_one_step_are_merged(experiment: Path) -> None:
    yanex.log_metrics({"loss": 0.5}, step=3)
    yanex.log_metrics({"acc": 0.9}, step=3)
    assert history(experiment) == [
        {
            "step": 3,
            "time": history(experiment)[0]["time"],
            "metrics": {"loss": 0.5, "acc": 0.9},
        }
    ]


def test_numpy_scalars_are_converted(experiment: Path) -> None:
    numpy = pytest.importorskip("numpy")
    yanex.log_metrics(
        {
            "f": numpy.float32(0.5),
            "i": numpy.int64(3),
            "b": numpy.bool_(True),
            "a": numpy.array(2.0),
            "fr": Fraction(1, 4),
        }
    )
    metrics = history(experiment)[0]["metrics"]
    assert metrics == {"f": 0.5, "i": 3, "b": True, "a": 2.0, "fr": 0.25}
    assert type(metrics["i"]) is int


def test_unstorable_values_raise_after_storing_the_rest(experiment: Path) -> None:
    with pytest.raises(MetricError, match="metric 'bad': cannot store a list"):
        yanex.log_metrics({"good": 1.0, "bad": [1, 2]})
    assert history(experiment)[0]["metrics"] == {"good": 1.0}


def test_non_integer_step_is_refused(experiment: Path) -> None:
    with pytest.raises(MetricError, match="step must be an integer"):
        yanex.log_metrics({"a": 1}, step=1.5)  # type: ignore[arg-type]


def test_metric_error_is_also_a_type_error(experiment: Path) -> None:
    with pytest.raises(TypeError):
        yanex.log_metrics({"a": object()})


def test_save_and_load_artifacts_by_extension(experiment: Path) -> None:
    yanex.save_artifact({"a": [1, 2]}, "summary.json")
    yanex.save_artifact("hello", "notes.txt")
    yanex.save_artifact([{"x": 1, "y": 2}], "rows.csv")
    yanex.save_artifact({"k": (1, 2)}, "obj.pkl")
    yanex.save_artifact(b"\x00\x01", "blob.bin")
    assert yanex.load_artifact("summary.json") == {"a": [1, 2]}
    assert yanex.load_artifact("notes.txt") == "hello"
    assert yanex.load_artifact("obj.pkl") == {"k": (1, 2)}
    assert yanex.load_artifact("blob.bin") == b"\x00\x01"
    assert yanex.load_artifact("missing.json") is None
    assert yanex.list_artifacts() == [
        "blob.bin",
        "notes.txt",
        "obj.pkl",
        "rows.csv",
        "summary.json",
    ]


def test_numpy_arrays_round_trip(experiment: Path) -> None:
    numpy = pytest.importorskip("numpy")
    yanex.save_artifact(numpy.arange(5), "a.npy")
    assert list(yanex.load_artifact("a.npy")) == [0, 1, 2, 3, 4]


def test_matplotlib_figure_saves_as_png(experiment: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.plot([1, 2, 3])
    yanex.save_artifact(figure, "plot.png")
    plt.close(figure)
    assert (experiment / "artifacts" / "plot.png").read_bytes()[:4] == b"\x89PNG"


def test_artifacts_may_live_in_subfolders(experiment: Path) -> None:
    yanex.save_artifact("x", "plots/deep/a.txt")
    assert yanex.list_artifacts() == ["plots/deep/a.txt"]


# The absolute name names no real file, so a broken check harms nothing.
ABSOLUTE = "/yanex-escape-probe/escape.txt"


@pytest.mark.parametrize(
    "name", ["../escape.txt", ABSOLUTE, "a/../../b.txt", "", "a\\b.txt", "a\x00b"]
)
def test_artifact_names_cannot_leave_the_folder(experiment: Path, name: str) -> None:
    with pytest.raises(ArtifactError):
        yanex.save_artifact("x", name)
    assert not (experiment.parent / "escape.txt").exists()
    assert not Path(ABSOLUTE).parent.exists()


@pytest.mark.parametrize("name", ["x" * 201, "a/" * 40 + "b"])
def test_overlong_artifact_names_are_refused(experiment: Path, name: str) -> None:
    with pytest.raises(ArtifactError, match="is too long"):
        yanex.save_artifact(b"x", name)


def test_an_artifact_below_an_existing_file_is_an_artifact_error(
    experiment: Path,
) -> None:
    yanex.save_artifact(b"a file", "a")

    with pytest.raises(ArtifactError, match="cannot write artifact b"):
        yanex.save_artifact(b"x", "a/b")


def test_links_out_of_the_artifacts_folder_are_refused(
    experiment: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (experiment / "artifacts").mkdir()
    (experiment / "artifacts" / "link").symlink_to(outside)
    with pytest.raises(ArtifactError, match="outside"):
        yanex.save_artifact("x", "link/a.txt")
    assert not (outside / "a.txt").exists()


def test_copy_artifact_copies_files_and_folders(
    experiment: Path, tmp_path: Path
) -> None:
    source = tmp_path / "ckpt"
    source.mkdir()
    (source / "w.bin").write_bytes(b"w")
    (tmp_path / "model.pt").write_text("m")
    yanex.copy_artifact(tmp_path / "model.pt")
    yanex.copy_artifact(source, "checkpoint")
    assert yanex.list_artifacts() == ["checkpoint/w.bin", "model.pt"]


def test_copy_artifact_of_a_missing_file_is_an_error(experiment: Path) -> None:
    with pytest.raises(ArtifactError, match="does not exist"):
        yanex.copy_artifact("nope.pt")


def test_unknown_extension_needs_a_saver(experiment: Path) -> None:
    with pytest.raises(ArtifactError, match="unknown extension"):
        yanex.save_artifact({"a": 1}, "thing.xyz")
    yanex.save_artifact({"a": 1}, "thing.xyz", saver=lambda o, p: p.write_text(str(o)))
    assert (experiment / "artifacts" / "thing.xyz").read_text() == "{'a': 1}"


def test_experiment_identity_is_visible(experiment: Path) -> None:
    assert yanex.get_experiment_id() == experiment.name
    assert yanex.get_experiment_dir() == experiment
    assert yanex.get_artifacts_dir() == experiment / "artifacts"
    assert yanex.has_context() and not yanex.is_standalone()
    assert yanex.get_status() == "created"


def test_create_experiment_records_a_notebook_session(
    store_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with yanex.create_experiment(name="probe", config={"lr": 0.1}, tags=["nb"]) as run:
        assert yanex.get_param("lr") == 0.1
        yanex.log_metrics({"loss": 0.5})
        directory = run.directory
    metadata = json.loads((directory / "metadata.json").read_text())
    assert metadata["status"] == "completed"
    assert metadata["name"] == "probe"
    assert metadata["tags"] == ["nb"]
    assert history(directory)[0]["metrics"] == {"loss": 0.5}
    assert yanex.is_standalone()


def test_create_experiment_records_failure_and_reraises(
    store_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    session = yanex.create_experiment(name="boom")
    with pytest.raises(ZeroDivisionError), session:
        1 / 0  # noqa: B018
    metadata = json.loads((session.directory / "metadata.json").read_text())
    assert metadata["status"] == "failed"
    assert metadata["reason"] == "ZeroDivisionError: division by zero"


def test_import_yanex_loads_no_heavy_module() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import yanex\n"
        "heavy = {'click', 'yaml', 'sqlite3', 'typing', 'json', 'pathlib'}\n"
        "heavy |= {'subprocess', 'pandas', 'numpy'}\n"
        "print(sorted(heavy & (set(sys.modules) - before)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr
