"""The Python results API over a real store."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Project
from yanex import results
from yanex.errors import ExperimentNotFoundError, FilterError

TRAIN = """\
import yanex
lr = yanex.get_param("lr")
for step in range(3):
    yanex.log_metrics({"acc": 0.5 + lr * step}, step=step)
"""


@pytest.fixture
def store(project: Project) -> Path:
    project.write("train.py", TRAIN)
    project.yanex("run", "train.py", "--param", "lr=list(0.1, 0.2, 0.05)", "--tag", "s")
    project.yanex("run", "train.py", "--param", "lr=0.3", "--name", "solo")
    return project.store


def test_find_filters_like_the_command_line(store: Path) -> None:
    found = results.find(store=store, tags=["s"], where="lr>=0.1")
    assert sorted(e.params["lr"] for e in found) == [0.1, 0.2]
    assert all(e.status == "completed" for e in found)


def test_get_experiment_by_name_and_prefix(store: Path) -> None:
    solo = results.get_experiment("solo", store=store)
    assert results.get_experiment(solo.id[:6], store=store).id == solo.id
    with pytest.raises(ExperimentNotFoundError):
        results.get_experiment("nope", store=store)


def test_get_latest_is_the_newest(store: Path) -> None:
    latest = results.get_latest(store=store)
    assert latest is not None and latest.name == "solo"


def test_get_best_uses_final_metrics(store: Path) -> None:
    best = results.get_best("acc", maximize=True, store=store, tags=["s"])
    worst = results.get_best("acc", maximize=False, store=store)
    assert best is not None and best.params == {"lr": 0.2}
    assert worst is not None and worst.params == {"lr": 0.05}


def test_experiment_objects_expose_histories(store: Path) -> None:
    solo = results.get_experiment("solo", store=store)
    steps = solo.metrics_history().steps
    assert [s["metrics"]["acc"] for s in steps] == [0.5, 0.8, 1.1]
    assert solo.best_metric("acc") == 1.1
    assert solo.git is not None and solo.git["branch"] == "main"


def test_compare_returns_a_dataframe(store: Path) -> None:
    frame = results.compare(store=store, tags=["s"])
    assert list(frame.columns) == ["id", "name", "status", "lr", "acc"]
    assert sorted(frame["lr"]) == [0.05, 0.1, 0.2]


def test_metrics_returns_a_long_dataframe(store: Path) -> None:
    frame = results.metrics(store=store, name="solo")
    assert list(frame["step"]) == [0, 1, 2]
    assert list(frame["acc"]) == [0.5, 0.8, 1.1]


def test_unknown_filters_are_refused(store: Path) -> None:
    with pytest.raises(TypeError, match="colour"):
        results.find(store=store, colour="red")
    with pytest.raises(FilterError):
        results.find(store=store, started_after="the other day")
