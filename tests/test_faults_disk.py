"""Full disks and write failures: clear errors, truthful records, a usable store.

The store lives on a small tmpfs mounted for the test (this needs root, as
CI has); where mounting is not allowed those tests are skipped and the
file-size limit tests still cover running out of room.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Project
from faultkit import figures, invariants
from faultkit.witness import WORK_SCRIPT, read_witnesses

CHATTY = """\
import sys
line = "x" * 99 + "\\n"
for _ in range(200_000):
    sys.stdout.write(line)
"""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs, mounted for the test, or a skip where that is denied."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "yanex-test", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def on_disk(project: Project, small_disk: Path) -> Project:
    """A project whose store is on the small disk, with the work script."""
    project.store = small_disk / "store"
    project.env["YANEX_EXPERIMENTS_DIR"] = str(project.store)
    project.write("work.py", WORK_SCRIPT)
    project.write("chatty.py", CHATTY)
    witness = project.root.parent / "witness"
    witness.mkdir()
    project.env["FAULT_WITNESS_DIR"] = str(witness)
    return project


def fill(disk: Path, leave: int) -> Path:
    """Fill the disk but ``leave`` bytes, with one file; returns that file."""
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        if free - leave > 0:
            os.posix_fallocate(descriptor, 0, free - leave)
    finally:
        os.close(descriptor)
    return filler


def check_usable_after_freeing(project: Project, filler: Path) -> None:
    """With room again, the store lists, compares and runs as before."""
    filler.unlink()
    before = set(project.experiment_ids())
    listed = project.yanex("list", "-F", "json", "--limit", "0")
    assert listed.returncode == 0, listed.stderr
    assert {row["id"] for row in json.loads(listed.stdout)} == before
    assert project.yanex("compare", "-F", "csv").returncode == 0
    ran = project.yanex("run", "work.py", "--param", "rows=3")
    assert ran.returncode == 0, ran.stderr
    assert len(project.experiment_ids()) == len(before) + 1


def test_output_filling_the_disk_fails_the_run_with_a_clear_reason(
    on_disk: Project, small_disk: Path
) -> None:
    filler = fill(small_disk, 2 << 20)

    result = on_disk.yanex("run", "chatty.py")

    assert result.returncode == 1
    reason = "disk full: output capture incomplete (No space left on device)"
    experiment_id = on_disk.experiment_ids()[0]
    assert result.error_lines[-1].startswith(
        f"yanex: experiment {experiment_id} failed"
    )
    assert result.error_lines[-1].endswith(reason)
    metadata = on_disk.metadata(on_disk.only_experiment())
    assert (metadata["status"], metadata["reason"]) == ("failed", reason)
    figures.record("full disk", "runs whose output filled the disk")
    check_usable_after_freeing(on_disk, filler)


def test_metrics_on_a_full_disk_keep_every_acknowledged_row(
    on_disk: Project, small_disk: Path
) -> None:
    filler = fill(small_disk, 1 << 20)

    result = on_disk.yanex(
        "run", "work.py", "--param", "rows=1000000", "--param", "delay=0"
    )

    assert result.returncode == 1
    assert "OSError: [Errno 28] No space left on device" in result.stderr
    witnesses = read_witnesses(Path(on_disk.env["FAULT_WITNESS_DIR"]))
    findings = invariants.check(on_disk.store, witnesses, 1000000, ("failed",))
    assert findings.violations == []
    acknowledged = findings.counts["metric rows acknowledged"]
    assert acknowledged > 1000
    metadata = on_disk.metadata(on_disk.only_experiment())
    assert metadata["reason"].startswith("exit code 1")
    assert "OSError" in metadata["stderr_tail"]
    figures.record("full disk", "runs whose metrics filled the disk")
    figures.record("full disk", "metric rows acknowledged", acknowledged)
    figures.record("full disk", "metric rows lost", findings.counts["metric rows lost"])
    check_usable_after_freeing(on_disk, filler)


def test_a_run_on_a_full_disk_is_refused_with_one_line_and_leaves_nothing(
    on_disk: Project, small_disk: Path
) -> None:
    assert on_disk.yanex("run", "work.py", "--param", "rows=1").returncode == 0
    filler = fill(small_disk, 0)

    result = on_disk.yanex("run", "work.py")

    assert result.returncode == 1
    assert result.error_lines == [
        f"Error: cannot record experiment in {on_disk.store}:"
        " [Errno 28] No space left on device"
    ]
    assert len(on_disk.experiment_ids()) == 1
    assert list((on_disk.store / ".new").iterdir()) == []
    figures.record("full disk", "runs refused on a full disk")
    check_usable_after_freeing(on_disk, filler)


def test_a_sweep_on_a_filling_disk_ends_every_member_truthfully(
    on_disk: Project, small_disk: Path
) -> None:
    filler = fill(small_disk, 3 << 20)

    result = on_disk.yanex("run", "chatty.py", "--param", "seed=range(0, 4)", "-j", "2")

    assert result.returncode == 1
    statuses = [
        on_disk.metadata(on_disk.store / i)["status"] for i in on_disk.experiment_ids()
    ]
    assert len(statuses) == 4
    assert set(statuses) <= {"completed", "failed"}
    assert "failed" in statuses
    findings = invariants.check(on_disk.store, {}, 0, ("completed", "failed"))
    assert findings.violations == []
    figures.record("full disk", "sweeps on a filling disk")
    check_usable_after_freeing(on_disk, filler)


def test_staging_on_a_filling_disk_keeps_whole_experiments_only(
    on_disk: Project, small_disk: Path
) -> None:
    big = "x" * 60_000
    on_disk.write("config.yaml", f"padding: {big}\n")
    filler = fill(small_disk, 400_000)

    result = on_disk.yanex("run", "work.py", "--param", "seed=range(0, 40)", "--stage")

    assert result.returncode == 1
    assert result.error_lines[-1].startswith("Error: cannot record experiment in")
    staged = on_disk.experiment_ids()
    assert 0 < len(staged) < 40
    filler.unlink()
    drained = on_disk.yanex("run", "--staged", "-j", "2")
    assert drained.returncode == 0, drained.stderr
    witnesses = read_witnesses(Path(on_disk.env["FAULT_WITNESS_DIR"]))
    findings = invariants.check(on_disk.store, witnesses, 20, ("completed",))
    assert findings.violations == []
    figures.record("full disk", "stagings on a filling disk")


LIMITED = """\
import resource, runpy, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
sys.argv = ["yanex", *sys.argv[2:]]
runpy.run_module("yanex", run_name="__main__")
"""


def test_a_file_size_limit_fails_the_run_with_a_clear_reason(project: Project) -> None:
    project.write("chatty.py", CHATTY)
    project.write("limited.py", LIMITED)

    done = subprocess.run(
        [sys.executable, "limited.py", str(1 << 20), "run", "chatty.py"],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
    )

    assert done.returncode == 1, done.stderr
    metadata = project.metadata(project.only_experiment())
    assert metadata["status"] == "failed"
    assert metadata["reason"] == "disk full: output capture incomplete (File too large)"
    assert (project.only_experiment() / "stdout.log").stat().st_size == 1 << 20
    figures.record("full disk", "runs under a file-size limit")


def test_the_room_for_the_final_record_is_given_back_when_a_run_ends(
    project: Project,
) -> None:
    project.write("work.py", "print('done')\n")

    staged = project.yanex("run", "work.py", "--stage").stdout.split()
    assert (project.store / staged[0] / ".spare").stat().st_size == 16 * 1024
    assert project.yanex("run", "--staged").returncode == 0

    assert not (project.store / staged[0] / ".spare").exists()
