"""Tests for recording git state and rebuilding a dirty tree from its patch."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from yanex.errors import DirtyTreeError, GitError
from yanex.gitstate import GitState, Patch, capture, ensure_clean, make_patch


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the user's git configuration and any enclosing repository away."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` and return its output, failing the test on error."""
    process = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert process.returncode == 0, process.stderr
    return process.stdout


def init_repo(path: Path) -> Path:
    """Create an empty repository on branch main with a local identity."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Ada Tester")
    git(path, "config", "user.email", "ada@example.com")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one commit holding train.py and config.yaml."""
    path = init_repo(tmp_path / "repo")
    (path / "train.py").write_text("print('training')\n")
    (path / "config.yaml").write_text("lr: 0.1\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "first")
    return path


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def apply_to_checkout(repo: Path, patch: Patch, commit: str, tmp_path: Path) -> Path:
    """Clone ``repo``, check out ``commit`` and apply the patch there."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "checkout", "-q", commit)

    patch_file = tmp_path / "git.patch"
    patch_file.write_bytes(patch.data)
    git(clone, "apply", str(patch_file))
    return clone


def snapshot(tree: Path) -> dict[str, tuple[bytes, bool]]:
    """Map each file under ``tree`` but outside .git to bytes and exec bit."""
    files = {}
    for directory, subdirectories, names in os.walk(tree):
        subdirectories[:] = [name for name in subdirectories if name != ".git"]
        for name in names:
            path = Path(directory, name)
            executable = bool(path.stat().st_mode & stat.S_IXUSR)
            files[path.relative_to(tree).as_posix()] = (path.read_bytes(), executable)
    return files


# capture: a clean repository


def test_clean_repo_records_head_commit_and_branch(repo: Path) -> None:
    state = capture(str(repo))

    assert state.is_repo
    assert state.root == str(repo.resolve())
    assert state.commit == head(repo)
    assert state.branch == "main"
    assert not state.detached


def test_clean_repo_has_no_changes(repo: Path) -> None:
    state = capture(str(repo))

    assert state.changed == ()
    assert state.untracked == ()
    assert not state.dirty


def test_branch_without_upstream_records_none(repo: Path) -> None:
    assert capture(str(repo)).upstream is None


def test_repo_without_remotes_records_no_remotes(repo: Path) -> None:
    assert capture(str(repo)).remotes == {}


def test_remotes_map_names_to_fetch_urls(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://example.com/lab/model.git")
    git(repo, "remote", "add", "my.fork", "git@example.com:ada/model.git")

    assert capture(str(repo)).remotes == {
        "origin": "https://example.com/lab/model.git",
        "my.fork": "git@example.com:ada/model.git",
    }


def test_credentials_in_remote_urls_are_not_recorded(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://ada:s3cret@example.com/model.git")

    assert capture(str(repo)).remotes == {"origin": "https://example.com/model.git"}


def test_tracking_branch_records_its_upstream(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))

    assert capture(str(clone)).upstream == "origin/main"


def test_capture_from_a_subdirectory_reports_paths_from_the_root(repo: Path) -> None:
    (repo / "src").mkdir()
    (repo / "train.py").write_text("print('changed')\n")

    state = capture(str(repo / "src"))

    assert state.root == str(repo.resolve())
    assert state.changed == ("train.py",)


def test_capture_does_not_rewrite_the_index(repo: Path) -> None:
    os.utime(repo / "train.py", (1_000_000_000, 1_000_000_000))
    index = (repo / ".git" / "index").read_bytes()

    capture(str(repo))

    assert (repo / ".git" / "index").read_bytes() == index


# capture: changes to tracked files


def test_modified_file_is_changed(repo: Path) -> None:
    (repo / "train.py").write_text("print('tuned')\n")

    state = capture(str(repo))

    assert state.changed == ("train.py",)
    assert state.dirty


def test_staged_new_file_is_changed(repo: Path) -> None:
    (repo / "model.py").write_text("layers = 3\n")
    git(repo, "add", "model.py")

    assert capture(str(repo)).changed == ("model.py",)


def test_deleted_file_is_changed(repo: Path) -> None:
    (repo / "config.yaml").unlink()

    assert capture(str(repo)).changed == ("config.yaml",)


def test_renamed_file_lists_both_names(repo: Path) -> None:
    git(repo, "mv", "train.py", "fit.py")

    assert capture(str(repo)).changed == ("fit.py", "train.py")


def test_type_changed_file_is_changed(repo: Path) -> None:
    (repo / "config.yaml").unlink()
    (repo / "config.yaml").symlink_to("train.py")

    assert capture(str(repo)).changed == ("config.yaml",)


def test_unmerged_file_is_changed(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "other")
    (repo / "train.py").write_text("print('other')\n")
    git(repo, "commit", "-q", "-am", "other")
    git(repo, "checkout", "-q", "main")
    (repo / "train.py").write_text("print('main')\n")
    git(repo, "commit", "-q", "-am", "main")
    subprocess.run(["git", "merge", "-q", "other"], cwd=repo, capture_output=True)

    assert capture(str(repo)).changed == ("train.py",)


def add_submodule(repo: Path, tmp_path: Path) -> Path:
    """Commit a submodule at ``lib`` in ``repo`` and return its checkout."""
    library = init_repo(tmp_path / "library")
    git(library, "commit", "-q", "--allow-empty", "-m", "one")
    allow_file_urls = ("-c", "protocol.file.allow=always")
    git(repo, *allow_file_urls, "submodule", "add", "-q", str(library), "lib")
    git(repo, "commit", "-q", "-m", "add lib")
    return repo / "lib"


def test_submodule_at_another_commit_is_changed(repo: Path, tmp_path: Path) -> None:
    add_submodule(repo, tmp_path)
    git(repo / "lib", "config", "user.email", "ada@example.com")
    git(repo / "lib", "config", "user.name", "Ada Tester")
    git(repo / "lib", "commit", "-q", "--allow-empty", "-m", "two")

    assert capture(str(repo)).changed == ("lib",)


def test_untracked_file_inside_a_submodule_is_not_a_change(
    repo: Path, tmp_path: Path
) -> None:
    (add_submodule(repo, tmp_path) / "scratch.txt").write_text("s\n")

    assert capture(str(repo)).changed == ()


# capture: untracked and ignored files


def test_untracked_file_is_listed_but_not_dirty(repo: Path) -> None:
    (repo / "notes.txt").write_text("try a lower lr\n")

    state = capture(str(repo))

    assert state.untracked == ("notes.txt",)
    assert state.changed == ()
    assert not state.dirty


def test_untracked_directory_is_listed_once(repo: Path) -> None:
    (repo / "data").mkdir()
    (repo / "data" / "a.csv").write_text("1\n")
    (repo / "data" / "b.csv").write_text("2\n")

    assert capture(str(repo)).untracked == ("data/",)


def test_ignored_file_is_not_listed(repo: Path) -> None:
    (repo / ".git" / "info" / "exclude").write_text("*.log\n")
    (repo / "run.log").write_text("loss 0.3\n")

    assert capture(str(repo)).untracked == ()


# capture: unusual heads and places


def test_detached_head_has_commit_but_no_branch(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")

    state = capture(str(repo))

    assert state.detached
    assert state.branch is None
    assert state.commit == head(repo)


def test_repo_without_commits_reports_the_unborn_branch(tmp_path: Path) -> None:
    empty = init_repo(tmp_path / "empty")

    state = capture(str(empty))

    assert state.is_repo
    assert state.commit is None
    assert state.branch == "main"
    assert not state.detached


def test_directory_outside_a_repo_is_not_a_repo(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()

    assert capture(str(outside)) == GitState(is_repo=False)


def test_missing_git_executable_means_not_a_repo(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-such-bin"))

    assert capture(str(repo)) == GitState(is_repo=False)


def test_other_git_failure_raises_git_error_with_gits_message(repo: Path) -> None:
    (repo / ".git" / "config").write_text("[core\n")

    with pytest.raises(GitError) as caught:
        capture(str(repo))

    assert str(caught.value) == "git status: bad config line 1 in file .git/config"


# records


def test_record_is_json_with_dirty_included(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://example.com/model.git")
    (repo / "train.py").write_text("print('tuned')\n")

    record = json.loads(json.dumps(capture(str(repo)).to_record()))

    assert record == {
        "is_repo": True,
        "root": str(repo.resolve()),
        "commit": head(repo),
        "branch": "main",
        "detached": False,
        "upstream": None,
        "remotes": {"origin": "https://example.com/model.git"},
        "changed": ["train.py"],
        "untracked": [],
        "dirty": True,
    }


def test_record_round_trips_to_an_equal_state(repo: Path) -> None:
    (repo / "train.py").write_text("print('tuned')\n")
    (repo / "notes.txt").write_text("n\n")
    state = capture(str(repo))

    record = json.loads(json.dumps(state.to_record()))

    assert GitState.from_record(record) == state


# ensure_clean


def test_ensure_clean_accepts_a_clean_tree(repo: Path) -> None:
    ensure_clean(capture(str(repo)))


def test_ensure_clean_ignores_untracked_files(repo: Path) -> None:
    (repo / "notes.txt").write_text("n\n")

    ensure_clean(capture(str(repo)))


def test_ensure_clean_accepts_a_directory_outside_git() -> None:
    ensure_clean(GitState(is_repo=False))


def test_ensure_clean_refuses_a_modified_file(repo: Path) -> None:
    (repo / "train.py").write_text("print('tuned')\n")

    with pytest.raises(DirtyTreeError) as caught:
        ensure_clean(capture(str(repo)))

    assert str(caught.value) == (
        "uncommitted changes to train.py; commit them or pass --ignore-dirty"
    )


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        (("a.py", "b.py"), "a.py and b.py"),
        (("a.py", "b.py", "c.py"), "a.py, b.py and c.py"),
        (("a.py", "b.py", "c.py", "d.py"), "a.py, b.py, c.py and 1 more file"),
        (("a.py", "b.py", "c.py", "d.py", "e.py"), "a.py, b.py, c.py and 2 more files"),
    ],
)
def test_ensure_clean_names_at_most_three_files(
    changed: tuple[str, ...], named: str
) -> None:
    state = GitState(is_repo=True, changed=changed)

    with pytest.raises(DirtyTreeError) as caught:
        ensure_clean(state)

    assert str(caught.value) == (
        f"uncommitted changes to {named}; commit them or pass --ignore-dirty"
    )


# make_patch


def test_patch_rebuilds_the_dirty_tree_on_a_clean_checkout(
    repo: Path, tmp_path: Path
) -> None:
    (repo / "train.py").write_text("print('tuned')\n")
    (repo / "config.yaml").unlink()
    (repo / "staged.py").write_text("staged = True\n")
    git(repo, "add", "staged.py")
    (repo / "lib" / "nn").mkdir(parents=True)
    (repo / "lib" / "nn" / "layers.py").write_text("def dense():\n    pass\n")
    (repo / "run.sh").write_text("#!/bin/sh\npython train.py\n")
    (repo / "run.sh").chmod(0o755)
    (repo / "my notes.txt").write_text("spaces in the name\n")
    (repo / "données").mkdir()
    (repo / "données" / 'résumé "final".txt').write_text("unicode\n")
    (repo / "weights.bin").write_bytes(b"\x00\x01\x02" * 10)
    (repo / "big.txt").write_text("x" * 99 + "\n" * 2)
    state = capture(str(repo))

    patch = make_patch(state, max_file_bytes=100)
    clone = apply_to_checkout(repo, patch, head(repo), tmp_path)

    expected = snapshot(repo)
    del expected["weights.bin"], expected["big.txt"]
    assert snapshot(clone) == expected
    assert patch.untracked_skipped == (
        ("big.txt", "larger than 100 bytes"),
        ("weights.bin", "binary"),
    )


def test_patch_lists_included_untracked_files_in_path_order(repo: Path) -> None:
    (repo / "zeta.py").write_text("z\n")
    (repo / "pkg").mkdir()
    (repo / "pkg" / "b.py").write_text("b\n")
    (repo / "pkg" / "a.py").write_text("a\n")

    patch = make_patch(capture(str(repo)))

    assert patch.untracked_included == ("pkg/a.py", "pkg/b.py", "zeta.py")


def test_patch_of_a_clean_tree_is_empty(repo: Path) -> None:
    assert make_patch(capture(str(repo))) == Patch(data=b"")


def test_untracked_file_over_the_file_cap_is_skipped(repo: Path) -> None:
    (repo / "huge.txt").write_bytes(b"x\n" * (1 << 19) + b"x")

    patch = make_patch(capture(str(repo)))

    assert patch.untracked_skipped == (("huge.txt", "larger than 1 MiB"),)
    assert patch.data == b""


def test_untracked_file_at_the_file_cap_is_included(repo: Path) -> None:
    (repo / "exact.txt").write_bytes(b"y" * 99 + b"\n")

    patch = make_patch(capture(str(repo)), max_file_bytes=100)

    assert patch.untracked_included == ("exact.txt",)


def test_untracked_files_beyond_the_total_cap_are_skipped(repo: Path) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        (repo / name).write_text("line\n" * 20)

    patch = make_patch(capture(str(repo)), max_total_bytes=450)

    assert patch.untracked_included == ("a.txt", "b.txt")
    assert patch.untracked_skipped == (("c.txt", "size cap reached"),)
    assert len(patch.data) <= 450


def test_tracked_changes_stay_whole_beyond_the_total_cap(
    repo: Path, tmp_path: Path
) -> None:
    (repo / "train.py").write_text("step()\n" * 100)
    (repo / "notes.txt").write_text("n\n")

    patch = make_patch(capture(str(repo)), max_total_bytes=10)
    clone = apply_to_checkout(repo, patch, head(repo), tmp_path)

    assert (clone / "train.py").read_text() == "step()\n" * 100
    assert patch.untracked_skipped == (("notes.txt", "size cap reached"),)


def test_file_without_a_final_newline_is_rebuilt_exactly(
    repo: Path, tmp_path: Path
) -> None:
    (repo / "last.txt").write_bytes(b"first\nno newline")

    patch = make_patch(capture(str(repo)))
    clone = apply_to_checkout(repo, patch, head(repo), tmp_path)

    assert b"\\ No newline at end of file\n" in patch.data
    assert (clone / "last.txt").read_bytes() == b"first\nno newline"


def test_empty_untracked_file_is_rebuilt(repo: Path, tmp_path: Path) -> None:
    (repo / "__init__.py").write_bytes(b"")

    patch = make_patch(capture(str(repo)))
    clone = apply_to_checkout(repo, patch, head(repo), tmp_path)

    assert patch.untracked_included == ("__init__.py",)
    assert (clone / "__init__.py").read_bytes() == b""


def test_carriage_returns_survive_the_patch(repo: Path, tmp_path: Path) -> None:
    (repo / "dos.txt").write_bytes(b"one\r\ntwo\rthree\r\n")

    patch = make_patch(capture(str(repo)))
    clone = apply_to_checkout(repo, patch, head(repo), tmp_path)

    assert (clone / "dos.txt").read_bytes() == b"one\r\ntwo\rthree\r\n"


def test_names_git_must_quote_are_rebuilt(repo: Path, tmp_path: Path) -> None:
    (repo / "tab\there.txt").write_text("t\n")
    (repo / "back\\slash.txt").write_text("b\n")
    (repo / "new\nline.txt").write_text("n\n")

    patch = make_patch(capture(str(repo)))
    clone = apply_to_checkout(repo, patch, head(repo), tmp_path)

    assert snapshot(clone) == snapshot(repo)


def test_untracked_symlink_is_skipped(repo: Path) -> None:
    (repo / "latest").symlink_to("train.py")

    patch = make_patch(capture(str(repo)))

    assert patch.untracked_skipped == (("latest", "symlink"),)


def test_ignored_files_in_an_untracked_directory_stay_out(repo: Path) -> None:
    (repo / ".git" / "info" / "exclude").write_text(".env\n")
    (repo / "service").mkdir()
    (repo / "service" / "app.py").write_text("app = 1\n")
    (repo / "service" / ".env").write_text("TOKEN=secret\n")

    patch = make_patch(capture(str(repo)))

    assert patch.untracked_included == ("service/app.py",)
    assert b"secret" not in patch.data


def test_nested_repository_is_skipped(repo: Path) -> None:
    (repo / "vendor").mkdir()
    init_repo(repo / "vendor" / "tool")
    (repo / "vendor" / "tool" / "tool.py").write_text("t\n")

    patch = make_patch(capture(str(repo)))

    assert patch.untracked_skipped == (("vendor/tool/", "nested git repository"),)


def test_patch_ignores_diff_settings_that_break_apply(
    repo: Path, tmp_path: Path
) -> None:
    for key, value in [
        ("diff.noprefix", "true"),
        ("color.diff", "always"),
        ("diff.mnemonicPrefix", "true"),
        ("diff.relative", "true"),
    ]:
        git(repo, "config", key, value)
    (repo / "train.py").write_text("print('tuned')\n")

    patch = make_patch(capture(str(repo)))
    clone = apply_to_checkout(repo, patch, head(repo), tmp_path)

    assert (clone / "train.py").read_text() == "print('tuned')\n"


def test_patch_without_commits_applies_to_an_empty_repo(tmp_path: Path) -> None:
    fresh = init_repo(tmp_path / "fresh")
    (fresh / "staged.py").write_text("s = 1\n")
    git(fresh, "add", "staged.py")
    (fresh / "loose.py").write_text("l = 2\n")

    patch = make_patch(capture(str(fresh)))
    target = init_repo(tmp_path / "target")
    (tmp_path / "git.patch").write_bytes(patch.data)
    git(target, "apply", str(tmp_path / "git.patch"))

    assert snapshot(target) == snapshot(fresh)


def test_patch_record_describes_the_patch(repo: Path) -> None:
    (repo / "notes.txt").write_text("n\n")
    (repo / "latest").symlink_to("train.py")

    patch = make_patch(capture(str(repo)))

    assert json.loads(json.dumps(patch.to_record())) == {
        "bytes": len(patch.data),
        "untracked_included": ["notes.txt"],
        "untracked_skipped": [{"path": "latest", "reason": "symlink"}],
    }


def test_patch_outside_a_repo_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="outside a git repository"):
        make_patch(GitState(is_repo=False))
