"""Finding, showing and comparing experiments through the real CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import Project, wait_for

TRAIN = """\
import sys, time, yanex
lr = yanex.get_param("lr", default=0.1)
opt = yanex.get_param("opt", default="adam")
for step in range(3):
    yanex.log_metrics({"acc": 1 - lr * (3 - step), "loss": lr * step}, step=step)
yanex.save_artifact({"lr": lr}, "summary.json")
print("trained with", lr)
time.sleep(yanex.get_param("sleep", default=0))
sys.exit(yanex.get_param("code", default=0))
"""


@pytest.fixture
def populated(project: Project) -> Project:
    """Five experiments: a sweep of three, a failure, a tagged single run."""
    project.write("train.py", TRAIN)
    for args in (
        ["--param", "lr=list(0.1, 0.2, 0.3)", "--name", "sweep", "--tag", "grid"],
        ["--param", "code=3", "--name", "broken"],
        [
            "--param",
            "lr=0.05",
            "--param",
            "opt=sgd",
            "--name",
            "best",
            "--tag",
            "grid",
            "--tag",
            "final",
        ],
    ):
        project.yanex("run", "train.py", *args)
    return project


def listed(project: Project, *args: str) -> list[dict]:
    result = project.yanex("list", "-F", "json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def names(project: Project, *args: str) -> list[str]:
    return [row["name"] for row in listed(project, *args)]


def test_list_shows_newest_first(populated: Project) -> None:
    assert names(populated) == [
        "best",
        "broken",
        "sweep lr=0.3",
        "sweep lr=0.2",
        "sweep lr=0.1",
    ]


def test_list_table_has_the_expected_columns(populated: Project) -> None:
    result = populated.yanex("list")

    header = result.stdout.splitlines()[0].split()
    assert header == ["id", "name", "status", "script", "tags", "started", "duration"]
    assert "best" in result.stdout and "grid, final" in result.stdout


def test_list_limit_says_how_many_more_match(populated: Project) -> None:
    result = populated.yanex("list", "--limit", "2")

    assert len(result.stdout.splitlines()) == 3
    assert result.error_lines == ["yanex: 3 more match; use --limit 0 to see them all"]


def test_status_filter(populated: Project) -> None:
    assert names(populated, "--status", "failed") == ["broken"]


def test_tags_must_all_match(populated: Project) -> None:
    assert names(populated, "--tag", "grid", "--tag", "final") == ["best"]
    assert len(names(populated, "--tag", "grid")) == 4


def test_name_glob(populated: Project) -> None:
    assert names(populated, "--name", "sweep*") == [
        "sweep lr=0.3",
        "sweep lr=0.2",
        "sweep lr=0.1",
    ]


def test_script_filter(populated: Project) -> None:
    assert len(names(populated, "--script", "train.py")) == 5
    assert names(populated, "--script", "other.py") == []


def test_sweep_filter_takes_a_prefix(populated: Project) -> None:
    sweep_id = populated.metadata(populated.store / listed(populated)[2]["id"])[
        "sweep"
    ]["id"]

    assert len(names(populated, "--sweep", sweep_id[:4])) == 3


def test_where_on_params_and_metrics(populated: Project) -> None:
    assert names(populated, "--where", "lr<0.1") == ["best"]
    assert names(populated, "--where", "opt==sgd") == ["best"]
    assert names(populated, "--where", "acc>=0.8", "--where", "opt!=sgd") == [
        "broken",
        "sweep lr=0.2",
        "sweep lr=0.1",
    ]
    assert names(populated, "--where", "metrics.loss>0.5") == ["sweep lr=0.3"]


def test_where_not_equal_includes_experiments_without_the_key(project: Project) -> None:
    project.write("train.py", TRAIN)
    project.write("plain.py", "")
    project.yanex("run", "train.py", "--param", "opt=sgd", "--name", "sgd")
    project.yanex("run", "plain.py", "--name", "plain")

    assert names(project, "--where", "opt!=sgd") == ["plain"]


def test_date_filters_accept_phrases_and_iso(populated: Project) -> None:
    assert len(names(populated, "--started-after", "1 hour ago")) == 5
    assert names(populated, "--started-before", "2 days ago") == []
    assert len(names(populated, "--ended-before", "2999-01-01")) == 5


def test_bad_filters_are_one_line_usage_errors(populated: Project) -> None:
    for args in (
        ["--where", "lr~1"],
        ["--started-after", "a fortnight"],
        ["--status", "sleeping"],
    ):
        result = populated.yanex("list", *args)
        assert result.returncode == 2
        assert len(result.error_lines) == 1
        assert result.error_lines[0].startswith("Error: ")


def test_json_carries_real_numbers_and_nulls(populated: Project) -> None:
    rows = listed(populated, "--name", "broken")

    assert rows[0]["status"] == "failed"
    assert isinstance(rows[0]["duration"], float)
    assert rows[0]["tags"] == []


def test_csv_has_a_header_and_one_row_each(populated: Project) -> None:
    result = populated.yanex("list", "-F", "csv")

    parsed = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(parsed) == 5
    assert parsed[0]["name"] == "best"
    assert float(parsed[0]["duration"]) >= 0


def test_markdown_is_a_table(populated: Project) -> None:
    lines = populated.yanex("list", "-F", "markdown").stdout.splitlines()

    assert lines[0].startswith("| id | name | status")
    assert lines[1].startswith("| --- |")
    assert len(lines) == 7


def test_output_piped_into_head_ends_quietly(populated: Project) -> None:
    done = subprocess.run(
        f"{_yanex_shell()} list --limit 0 | head -n 1",
        shell=True,
        cwd=populated.root,
        env=populated.env,
        capture_output=True,
        text=True,
    )

    assert done.returncode == 0
    assert done.stderr == ""


def _yanex_shell() -> str:
    import shlex
    import sys

    return f"{shlex.quote(sys.executable)} -m yanex"


def test_show_describes_everything(populated: Project) -> None:
    experiment_id = listed(populated, "--name", "best")[0]["id"]

    result = populated.yanex("show", experiment_id[:5])

    text = result.stdout
    assert result.returncode == 0, result.stderr
    assert f"experiment {experiment_id}  best" in text
    assert "status:      completed" in text
    assert "lr   0.05" in text and "opt  sgd" in text
    assert "commit:" in text and "dirty:       no" in text
    assert "acc   0.95 / 0.85 / 0.95" in text
    assert "summary.json" in text
    assert "trained with 0.05" in text


def test_show_json_is_data(populated: Project) -> None:
    experiment_id = listed(populated, "--name", "best")[0]["id"]

    shown = json.loads(populated.yanex("show", experiment_id, "-F", "json").stdout)

    assert shown["params"] == {"lr": 0.05, "opt": "sgd"}
    assert shown["metrics"]["final"] == {"acc": 0.95, "loss": 0.1}
    assert shown["artifacts"] == {"summary.json": 17}


def test_experiments_can_be_named_by_exact_name(populated: Project) -> None:
    result = populated.yanex("get", "status", "broken")

    assert result.stdout == "failed\n"


def test_ambiguous_prefix_is_a_usage_error(project: Project) -> None:
    project.write("train.py", "")
    for _ in range(40):
        project.yanex("run", "train.py", "--param", "i=range(0, 1)")
    ids = project.experiment_ids()
    prefix = next(a[0] for a in ids if sum(1 for b in ids if b[0] == a[0]) > 1)

    result = project.yanex("show", prefix)

    assert result.returncode == 2
    [line] = result.error_lines
    assert line.startswith(f"Error: '{prefix}' is ambiguous: it matches ")


def test_unknown_experiment_is_a_usage_error(populated: Project) -> None:
    result = populated.yanex("show", "nothing-like-this")

    assert result.returncode == 2
    assert result.error_lines == [
        "Error: no experiment has the id or name 'nothing-like-this'"
    ]


@pytest.mark.parametrize("text", ["../../etc", "/etc/passwd", "..", "abc/../..", "*"])
def test_paths_cannot_name_experiments(populated: Project, text: str) -> None:
    result = populated.yanex("get", "dir", text)

    assert result.returncode == 2
    assert len(result.error_lines) == 1


def test_links_inside_the_store_are_not_followed(
    populated: Project, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    real = populated.store / listed(populated)[0]["id"]
    shutil.copytree(real, outside / "copy")
    (populated.store / "deadbeef").symlink_to(outside / "copy")

    assert len(listed(populated)) == 5
    assert populated.yanex("show", "deadbeef").returncode == 2


def test_get_prints_single_values_for_scripts(populated: Project) -> None:
    experiment_id = listed(populated, "--name", "best")[0]["id"]

    def get(*args: str) -> str:
        result = populated.yanex("get", *args, experiment_id)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert get("status") == "completed\n"
    assert get("params.lr") == "0.05\n"
    assert get("metrics.acc") == "0.95\n"
    assert get("git.commit") == populated.git("rev-parse", "HEAD")
    assert get("dir") == f"{populated.store / experiment_id}\n"
    assert get("stdout", "--tail", "1") == "trained with 0.05\n"
    assert get("tags") == '["grid", "final"]\n'


def test_get_of_a_missing_field_is_a_usage_error(populated: Project) -> None:
    result = populated.yanex("get", "params.nope", "best")

    assert result.returncode == 2
    assert result.error_lines == [
        "Error: the experiment has no params.nope (see 'yanex get --help')"
    ]


def test_get_reads_sweep_fields(populated: Project) -> None:
    member = listed(populated, "--name", "sweep lr=0.2")[0]["id"]

    result = populated.yanex("get", "sweep.index", member)

    assert (result.returncode, result.stdout) == (0, "1\n")


def test_get_of_an_unknown_field_names_the_known_ones(populated: Project) -> None:
    result = populated.yanex("get", "colour", "best")

    assert result.returncode == 2
    [line] = result.error_lines
    assert line.startswith("Error: unknown field 'colour'; known: id, name,")
    assert line.endswith(
        "params.KEY, metrics.KEY, git.KEY, sweep.KEY (see 'yanex get --help')"
    )


def test_compare_shows_differing_params_and_metrics(populated: Project) -> None:
    result = populated.yanex("compare", "--tag", "grid", "-F", "csv", "--sort", "acc")

    parsed = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(parsed[0]) == ["id", "name", "status", "lr", "opt", "acc", "loss"]
    assert [row["name"] for row in parsed] == [
        "sweep lr=0.3",
        "sweep lr=0.2",
        "sweep lr=0.1",
        "best",
    ]


def test_compare_descending_and_by_ids(populated: Project) -> None:
    ids = [row["id"] for row in listed(populated, "--name", "sweep*")]

    result = populated.yanex("compare", *ids, "--sort", "lr", "--desc", "-F", "json")

    rows = json.loads(result.stdout)
    assert [row["lr"] for row in rows] == [0.3, 0.2, 0.1]
    assert "opt" not in rows[0]


def test_logs_print_captured_output(populated: Project) -> None:
    result = populated.yanex("logs", "best")

    assert result.stdout == "trained with 0.05\n"


def test_logs_follow_a_running_experiment_until_it_ends(project: Project) -> None:
    project.write(
        "slow.py",
        "import time\nfor i in range(4):\n    print('tick', i, flush=True)\n"
        "    time.sleep(0.5)\n",
    )
    runner = project.popen(
        "run", "slow.py", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_for(lambda: len(project.experiment_ids()) == 1)

    result = project.yanex("logs", "-f", project.experiment_ids()[0])

    runner.wait(timeout=30)
    assert result.stdout == "".join(f"tick {i}\n" for i in range(4))


def test_update_changes_name_and_tags(populated: Project) -> None:
    result = populated.yanex(
        "update", "best", "--name", "champion", "--add-tag", "x", "--remove-tag", "grid"
    )

    assert result.returncode == 0, result.stderr
    [row] = listed(populated, "--name", "champion")
    assert row["tags"] == ["final", "x"]


def test_archive_hides_and_unarchive_restores(populated: Project) -> None:
    assert populated.yanex("archive", "--tag", "grid", "--yes").returncode == 0

    assert names(populated) == ["broken"]
    assert len(names(populated, "--all")) == 5
    assert populated.yanex("unarchive", "best", "--yes").returncode == 0
    assert names(populated) == ["best", "broken"]


def test_destructive_commands_want_confirmation(populated: Project) -> None:
    result = populated.yanex("delete", "broken")

    assert result.returncode == 2
    assert result.error_lines == [
        "Error: delete 1 experiment? pass --yes to confirm (see 'yanex delete --help')"
    ]
    assert len(names(populated)) == 5


def test_delete_without_selection_is_refused(populated: Project) -> None:
    result = populated.yanex("delete", "--yes")

    assert result.returncode == 2
    assert len(names(populated)) == 5


def test_delete_removes_the_experiment(populated: Project) -> None:
    experiment_id = listed(populated, "--name", "broken")[0]["id"]

    result = populated.yanex("delete", "broken", "--yes")

    assert result.returncode == 0
    assert not (populated.store / experiment_id).exists()
    assert "broken" not in names(populated, "--all")


def test_rerun_reuses_script_params_and_tags(populated: Project) -> None:
    result = populated.yanex("rerun", "best", "--param", "lr=0.07")

    assert result.returncode == 0, result.stderr
    newest = listed(populated)[0]
    assert newest["name"] == "best"
    assert newest["tags"] == ["grid", "final"]
    assert populated.params(populated.store / newest["id"]) == {
        "lr": 0.07,
        "opt": "sgd",
    }


def test_a_killed_runner_reads_back_as_lost(project: Project) -> None:
    project.write("train.py", TRAIN)
    runner = project.popen(
        "run",
        "train.py",
        "--param",
        "sleep=60",
        "--name",
        "victim",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: names(project, "--status", "running") == ["victim"])

    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=20)

    assert names(project, "--status", "lost") == ["victim"]
    assert names(project, "--status", "running") == []
    shown = project.yanex("show", "victim").stdout
    assert "status:      lost (its runner (pid" in shown
    assert project.yanex("get", "status", "victim").stdout == "lost\n"
    metadata = project.metadata(project.only_experiment())
    assert metadata["status"] == "running"


def test_a_deleted_index_is_rebuilt(populated: Project) -> None:
    names(populated)
    (populated.store / "index.sqlite").unlink()

    assert len(names(populated)) == 5
    assert (populated.store / "index.sqlite").exists()


def test_a_damaged_index_is_rebuilt(populated: Project) -> None:
    names(populated)
    for suffix in ("", "-wal", "-shm"):
        path = populated.store / f"index.sqlite{suffix}"
        if path.exists():
            path.write_bytes(os.urandom(4096))

    assert len(names(populated)) == 5


def test_directories_copied_into_the_store_are_found(populated: Project) -> None:
    names(populated)
    source = populated.store / listed(populated, "--name", "best")[0]["id"]
    shutil.copytree(source, populated.store / "0123abcd")
    metadata = json.loads((populated.store / "0123abcd" / "metadata.json").read_text())
    metadata.update(id="0123abcd", name="copied")
    (populated.store / "0123abcd" / "metadata.json").write_text(json.dumps(metadata))

    assert "copied" in names(populated)


def test_records_changed_behind_its_back_are_picked_up(populated: Project) -> None:
    names(populated)
    directory = populated.store / listed(populated, "--name", "broken")[0]["id"]
    metadata = json.loads((directory / "metadata.json").read_text())
    metadata["name"] = "renamed by hand"
    time.sleep(0.01)
    (directory / "metadata.json").write_text(json.dumps(metadata))

    assert "renamed by hand" in names(populated)


def test_listing_while_runners_write(project: Project) -> None:
    project.write("train.py", TRAIN)
    sweep = project.popen(
        "run",
        "train.py",
        "--param",
        "lr=linspace(0.01, 0.2, 12)",
        "-j",
        "2",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen = 0
    while sweep.poll() is None:
        rows = listed(project, "--limit", "0")
        seen = max(seen, len(rows))
    assert sweep.wait() == 0
    assert len(listed(project, "--limit", "0")) == 12
    assert {row["status"] for row in listed(project, "--limit", "0")} == {"completed"}
