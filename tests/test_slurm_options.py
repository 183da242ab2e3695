"""Slurm options, project defaults and the errors that need no cluster."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from conftest import Project
from yanex.executors.slurm.options import SlurmOptions

SCRIPT = "print('hello')\n"


def without_slurm(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH has git and nothing of Slurm."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    git = shutil.which("git")
    assert git is not None
    os.symlink(git, bin_dir / "git")
    return {"PATH": str(bin_dir)}


def test_options_map_to_sbatch_options_in_order() -> None:
    options = SlurmOptions(
        partition="gpu",
        time="2:00:00",
        gpus=1,
        cpus=4,
        mem="16G",
        account="lab",
        qos="high",
        options=("--constraint=a100",),
        requeue=True,
    )

    assert options.sbatch_arguments() == [
        "--partition=gpu",
        "--time=2:00:00",
        "--gres=gpu:1",
        "--cpus-per-task=4",
        "--mem=16G",
        "--account=lab",
        "--qos=high",
        "--requeue",
        "--constraint=a100",
    ]


def test_tasks_are_not_requeued_unless_asked() -> None:
    assert SlurmOptions().sbatch_arguments() == ["--no-requeue"]


def test_given_options_win_over_defaults_and_pass_through_adds_up() -> None:
    given = SlurmOptions(time="0:10:00", options=("--comment=mine",))
    defaults = SlurmOptions(time="2:00:00", mem="8G", options=("--comment=lab",))

    merged = given.over(defaults)

    assert (merged.time, merged.mem) == ("0:10:00", "8G")
    assert merged.options == ("--comment=lab", "--comment=mine")


def test_detach_without_slurm_is_a_usage_error(project: Project) -> None:
    project.write("train.py", SCRIPT)

    result = project.yanex("run", "train.py", "--detach", "--slurm-time", "1")

    assert result.returncode == 2
    assert result.error_lines == [
        "Error: --detach, --slurm-time need --executor slurm (see 'yanex run --help')"
    ]
    assert project.experiment_ids() == []


def test_a_pass_through_that_is_not_an_option_is_refused(project: Project) -> None:
    project.write("train.py", SCRIPT)

    result = project.yanex(
        "run", "train.py", "--executor", "slurm", "--slurm-option", "a100"
    )

    assert result.returncode == 2
    assert result.error_lines == [
        "Error: --slurm-option 'a100': not an sbatch option (options start with '-')"
    ]


def test_a_pass_through_of_the_array_option_is_refused(project: Project) -> None:
    project.write("train.py", SCRIPT)

    result = project.yanex(
        "run", "train.py", "--executor", "slurm", "--slurm-option=--array=0-3"
    )

    assert result.returncode == 2
    assert result.error_lines == [
        "Error: --slurm-option '--array=0-3': yanex sets --array itself"
    ]


def test_stage_with_slurm_points_to_staged(project: Project) -> None:
    project.write("train.py", SCRIPT)

    result = project.yanex("run", "train.py", "--stage", "--executor", "slurm")

    assert result.returncode == 2
    assert result.error_lines == [
        "Error: --stage runs nothing; send staged experiments to Slurm with"
        " 'yanex run --staged --executor slurm' (see 'yanex run --help')"
    ]


def test_an_unknown_project_default_names_the_file_and_key(
    project: Project,
) -> None:
    project.write("train.py", SCRIPT)
    path = project.write("yanex.yaml", "slurm:\n  partitions: gpu\n")

    result = project.yanex("run", "train.py", "--executor", "slurm")

    assert result.returncode == 2
    assert result.error_lines == [
        f"Error: {path}: slurm.partitions: unknown setting; use partition, time,"
        " gpus, cpus, mem, account, qos, options, requeue"
    ]


def test_a_project_default_of_the_wrong_type_is_refused(project: Project) -> None:
    project.write("train.py", SCRIPT)
    path = project.write("yanex.yaml", "slurm:\n  cpus: four\n")

    result = project.yanex("run", "train.py", "--executor", "slurm")

    assert result.returncode == 2
    assert result.error_lines == [f"Error: {path}: slurm.cpus: must be a whole number"]


def test_project_defaults_are_found_from_a_subdirectory(project: Project) -> None:
    from yanex.executors.slurm.options import project_defaults

    project.write("yanex.yaml", "slurm:\n  partition: gpu\n  requeue: true\n")
    (project.root / "sub").mkdir()

    found = project_defaults(str(project.root / "sub"))

    assert (found.partition, found.requeue) == ("gpu", True)


def test_without_sbatch_nothing_is_recorded(project: Project, tmp_path: Path) -> None:
    project.write("train.py", SCRIPT)

    result = project.yanex(
        "run",
        "train.py",
        "--param",
        "i=range(0, 3)",
        "--executor",
        "slurm",
        env=without_slurm(tmp_path),
    )

    assert result.returncode == 1
    assert result.error_lines == [
        "Error: sbatch is not on PATH: run this where Slurm's commands are"
        " installed (e.g. a login node)"
    ]
    assert project.experiment_ids() == []


def test_without_sbatch_staged_experiments_stay_staged(
    project: Project, tmp_path: Path
) -> None:
    project.write("train.py", SCRIPT)
    project.yanex("run", "train.py", "--stage")

    result = project.yanex(
        "run", "--staged", "--executor", "slurm", env=without_slurm(tmp_path)
    )

    assert result.returncode == 1
    assert project.metadata(project.only_experiment())["status"] == "staged"


def test_a_dry_run_for_slurm_needs_no_cluster(project: Project, tmp_path: Path) -> None:
    project.write("train.py", SCRIPT)

    result = project.yanex(
        "run",
        "train.py",
        "--param",
        "i=range(0, 2)",
        "--executor",
        "slurm",
        "--dry-run",
        env=without_slurm(tmp_path),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "2 experiments would run:"
