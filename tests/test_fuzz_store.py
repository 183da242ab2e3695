"""Damaged stores: records of the wrong shape are reported, not crashed on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import Project
from yanex import query
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
