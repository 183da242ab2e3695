"""Damaged stores: records of the wrong shape are reported, not crashed on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import Project
from yanex import query, results
from yanex.errors import ArtifactError
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
