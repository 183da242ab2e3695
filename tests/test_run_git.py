"""How ``yanex run`` records the code state and guards against dirty trees."""

from __future__ import annotations

import json
import subprocess

from conftest import Project


def test_clean_run_records_commit_branch_and_remote(project: Project) -> None:
    project.write("train.py", "print('hi')\n")
    project.git("remote", "add", "origin", "https://example.com/lab/repo.git")
    head = project.git("rev-parse", "HEAD").strip()

    result = project.yanex("run", "train.py")

    assert result.returncode == 0, result.stderr
    git = json.loads((project.only_experiment() / "git.json").read_text())
    assert git["commit"] == head
    assert git["branch"] == "main"
    assert git["remotes"] == {"origin": "https://example.com/lab/repo.git"}
    assert git["dirty"] is False
    assert git["yanex_format"] == 1
    assert not (project.only_experiment() / "git.patch").exists()


def test_modified_tracked_file_refuses_the_run(project: Project) -> None:
    project.write("train.py", "print('hi')\n")
    project.write("train.py", "print('changed')\n", commit=False)

    result = project.yanex("run", "train.py")

    assert result.returncode == 1
    assert result.error_lines == [
        "Error: uncommitted changes to train.py; commit them or pass --ignore-dirty"
    ]
    assert not project.store.exists()


def test_untracked_files_do_not_block_and_are_listed(project: Project) -> None:
    project.write("train.py", "print('hi')\n")
    project.write("notes.txt", "scratch\n", commit=False)

    result = project.yanex("run", "train.py")

    assert result.returncode == 0, result.stderr
    git = json.loads((project.only_experiment() / "git.json").read_text())
    assert git["untracked"] == ["notes.txt"]
    assert git["dirty"] is False


def test_ignore_dirty_saves_a_patch_that_reproduces_the_tree(project: Project) -> None:
    project.write("train.py", "print('v1')\n")
    project.write("train.py", "print('v2')\n", commit=False)
    project.write("helper.py", "X = 1\n", commit=False)

    result = project.yanex("run", "train.py", "--ignore-dirty")

    assert result.stdout == "v2\n"
    directory = project.only_experiment()
    git = json.loads((directory / "git.json").read_text())
    assert git["dirty"] is True
    assert git["patch"]["untracked_included"] == ["helper.py"]
    clone = project.root.parent / "clone"
    subprocess.run(
        ["git", "clone", "-q", str(project.root), str(clone)],
        check=True,
        env=project.env,
    )
    subprocess.run(
        ["git", "apply", str(directory / "git.patch")],
        cwd=clone,
        check=True,
        env=project.env,
    )
    assert (clone / "train.py").read_text() == "print('v2')\n"
    assert (clone / "helper.py").read_text() == "X = 1\n"


def test_outside_a_repository_the_run_proceeds_with_a_warning(
    plain_dir: Project,
) -> None:
    plain_dir.write("train.py", "print('hi')\n", commit=False)

    result = plain_dir.yanex("run", "train.py")

    assert result.returncode == 0
    assert result.error_lines[0] == (
        "yanex: warning: not in a git repository: the code state is not recorded"
    )
    git = json.loads((plain_dir.only_experiment() / "git.json").read_text())
    assert git["is_repo"] is False
