"""The store: ids, records, locks and tolerance of damage."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest

from yanex import layout
from yanex.errors import DamagedRecordError, ExperimentNotFoundError
from yanex.store import ExperimentSpec, Store


def make(store: Store, **fields: object) -> str:
    return store.create(ExperimentSpec(params={"lr": 0.1}, **fields))


def test_new_experiments_get_eight_hex_ids(tmp_path: Path) -> None:
    store = Store(tmp_path)
    experiment_id = make(store)
    assert layout.is_valid_id(experiment_id)
    assert (tmp_path / experiment_id / "metadata.json").is_file()


def leftover(incoming: Path, name: str, age_s: float) -> Path:
    """A folder in ``.new/`` as a crashed creator leaves it, ``age_s`` old."""
    import os
    import time

    folder = incoming / name
    folder.mkdir(parents=True)
    (folder / "params.json").write_text("{}")
    then = time.time() - age_s
    os.utime(folder, (then, then))
    return folder


def test_a_day_old_leftover_in_new_is_removed_by_the_next_creator(
    tmp_path: Path,
) -> None:
    stale = leftover(tmp_path / ".new", "4242-0badcafe", 25 * 3600)

    make(Store(tmp_path))

    assert not stale.exists()


def test_recent_or_unknown_entries_in_new_are_left_alone(tmp_path: Path) -> None:
    incoming = tmp_path / ".new"
    recent = leftover(incoming, "4242-0badcafe", 3600)
    foreign = leftover(incoming, "notes", 25 * 3600)
    outside = leftover(tmp_path / "elsewhere", "4243-0badcafe", 25 * 3600)
    (incoming / "4244-0badcafe").symlink_to(outside, target_is_directory=True)

    make(Store(tmp_path))

    assert recent.exists() and foreign.exists()
    assert (outside / "params.json").exists()
    assert (incoming / "4244-0badcafe").is_symlink()


def _create_many(root: str, count: int) -> list[str]:
    store = Store(root)
    return [make(store) for _ in range(count)]


def test_concurrent_creators_never_share_an_id(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        batches = pool.starmap(_create_many, [(str(tmp_path), 50)] * 4)
    ids = [i for batch in batches for i in batch]
    assert len(set(ids)) == 200
    assert sorted(Store(tmp_path).experiment_ids()) == sorted(ids)


def _bump(root: str, experiment_id: str, count: int) -> None:
    store = Store(root)
    for _ in range(count):
        store.update_metadata(
            experiment_id, lambda m: m.update(restarts=m["restarts"] + 1)
        )


def test_concurrent_metadata_updates_lose_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    experiment_id = make(store)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.starmap(_bump, [(str(tmp_path), experiment_id, 50)] * 4)
    assert store.read_metadata(experiment_id)["restarts"] == 200


@pytest.mark.parametrize("text", ["../etc", "/etc/passwd", "abc", "ABCDEF12", "..", ""])
def test_only_exact_ids_name_directories(tmp_path: Path, text: str) -> None:
    with pytest.raises(ExperimentNotFoundError):
        Store(tmp_path).directory(text)


def test_damaged_metadata_is_reported_for_that_experiment(tmp_path: Path) -> None:
    store = Store(tmp_path)
    experiment_id = make(store)
    (tmp_path / experiment_id / "metadata.json").write_text('{"id": "trunc')
    with pytest.raises(DamagedRecordError, match=f"experiment {experiment_id}"):
        store.read_metadata(experiment_id)


def test_directory_without_metadata_is_not_an_experiment(tmp_path: Path) -> None:
    store = Store(tmp_path)
    experiment_id = make(store)
    (tmp_path / "0123abcd").mkdir()
    (tmp_path / "not-an-id").mkdir()
    assert store.experiment_ids() == [experiment_id]


def test_records_carry_the_format_version(tmp_path: Path) -> None:
    from yanex.context import MetricsLog

    store = Store(tmp_path)
    directory = tmp_path / make(store)
    MetricsLog(str(directory / "metrics.jsonl")).append({"loss": 1.0}, None)
    for name in ("metadata.json", "params.json"):
        assert json.loads((directory / name).read_text())["yanex_format"] == 1
    header, line = (directory / "metrics.jsonl").read_text().splitlines()
    assert json.loads(header) == {"yanex_format": 1, "kind": "metrics"}
    assert json.loads(line)["metrics"] == {"loss": 1.0}


def test_a_new_experiment_has_no_metrics_file_until_it_logs(tmp_path: Path) -> None:
    store = Store(tmp_path)
    directory = tmp_path / make(store)
    names = sorted(p.name for p in directory.iterdir())
    assert names == [".spare", "metadata.json", "params.json"]


def test_failed_atomic_write_keeps_the_old_record(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    target.write_text('{"old": true}')
    program = (
        "import resource, signal, sys\n"
        "from yanex import layout\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))\n"
        "try:\n"
        f"    layout.write_atomic({str(target)!r}, b'x' * 100_000)\n"
        "except OSError as error:\n"
        "    print(error.errno)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "27"  # EFBIG
    assert target.read_text() == '{"old": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]


def test_spec_fields_are_recorded(tmp_path: Path) -> None:
    store = Store(tmp_path)
    experiment_id = make(
        store,
        name="n",
        description="d",
        tags=("a", "b"),
        script="/x/train.py",
        script_args=("--epochs", "3"),
        cwd="/x",
    )
    metadata = store.read_metadata(experiment_id)
    assert metadata["name"] == "n"
    assert metadata["tags"] == ["a", "b"]
    assert metadata["script"] == {"path": "/x/train.py", "args": ["--epochs", "3"]}
    assert metadata["cwd"] == "/x"
    assert metadata["status"] == "created"
    assert store.read_params(experiment_id) == {"lr": 0.1}
