"""Where ``yanex run`` takes parameters from, and which source wins."""

from __future__ import annotations

from conftest import Project

SHOW = "import json, yanex\nprint(json.dumps(yanex.get_params(), sort_keys=True))\n"


def params_seen(project: Project, *args: str, env: dict[str, str] | None = None) -> str:
    project.write("show.py", SHOW)
    result = project.yanex("run", "show.py", *args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_config_yaml_in_the_current_directory_is_loaded_by_default(
    project: Project,
) -> None:
    project.write("config.yaml", "lr: 0.1\nmodel:\n  depth: 3\n")

    assert params_seen(project) == '{"lr": 0.1, "model": {"depth": 3}}'


def test_named_configs_merge_left_to_right_and_deeply(project: Project) -> None:
    project.write("config.yaml", "ignored: true\n")
    project.write("a.yaml", "model:\n  depth: 3\n  width: 8\nlr: 0.1\n")
    project.write("b.yaml", "model:\n  width: 16\n")

    seen = params_seen(project, "--config", "a.yaml", "--config", "b.yaml")

    assert seen == '{"lr": 0.1, "model": {"depth": 3, "width": 16}}'


def test_environment_variables_override_config(project: Project) -> None:
    project.write("config.yaml", "lr: 0.1\nmodel:\n  lr: 0.2\n")

    seen = params_seen(
        project, env={"YANEX_PARAM_lr": "0.3", "YANEX_PARAM_model__lr": "0.4"}
    )

    assert seen == '{"lr": 0.3, "model": {"lr": 0.4}}'


def test_param_option_overrides_environment_and_config(project: Project) -> None:
    project.write("config.yaml", "lr: 0.1\n")

    seen = params_seen(project, "--param", "lr=0.5", env={"YANEX_PARAM_lr": "0.3"})

    assert seen == '{"lr": 0.5}'


def test_param_values_are_typed_as_yaml(project: Project) -> None:
    seen = params_seen(
        project,
        "-p",
        "i=100",
        "-p",
        "f=0.001",
        "-p",
        "e=1e-3",
        "-p",
        "b=true",
        "-p",
        "n=null",
        "-p",
        "l=[64,128]",
        "-p",
        "m={a: 1}",
        "-p",
        'q="123"',
        "-p",
        "s=adam",
        "-p",
        "c=a,b",
        "-p",
        "o=on",
    )

    assert seen == (
        '{"b": true, "c": "a,b", "e": 0.001, "f": 0.001, "i": 100, "l": [64, 128],'
        ' "m": {"a": 1}, "n": null, "o": "on", "q": "123", "s": "adam"}'
    )


def test_script_default_applies_when_no_source_sets_a_key(project: Project) -> None:
    project.write(
        "train.py", "import yanex\nprint(yanex.get_param('model.lr', default=0.7))\n"
    )

    result = project.yanex("run", "train.py")

    assert result.stdout == "0.7\n"


def test_resolved_parameters_are_saved_as_the_script_saw_them(project: Project) -> None:
    project.write("config.yaml", "model:\n  lr: 0.1\n")

    seen = params_seen(project, "--param", "model.depth=4")

    assert project.params(project.only_experiment()) == {
        "model": {"lr": 0.1, "depth": 4}
    }
    assert seen == '{"model": {"depth": 4, "lr": 0.1}}'


def test_malformed_param_is_a_one_line_usage_error(project: Project) -> None:
    project.write("train.py", "raise SystemExit('must not run')\n")

    result = project.yanex("run", "train.py", "--param", "lr")

    assert result.returncode == 2
    assert result.error_lines == ["Error: --param 'lr': expected KEY=VALUE"]
    assert project.experiment_ids() == []


def test_invalid_param_key_is_named_in_the_error(project: Project) -> None:
    project.write("train.py", "")

    result = project.yanex("run", "train.py", "--param", "model..lr=1")

    assert result.returncode == 2
    assert result.error_lines == [
        "Error: --param model..lr: invalid key 'model..lr': part '(empty)' must be"
        " letters, digits, '_' or '-'"
    ]


def test_unparseable_flow_value_is_a_usage_error(project: Project) -> None:
    project.write("train.py", "")

    result = project.yanex("run", "train.py", "--param", "sizes=[1, 2")

    assert result.returncode == 2
    assert len(result.error_lines) == 1
    assert result.error_lines[0].startswith("Error: --param sizes: ")


def test_missing_config_is_a_usage_error_naming_the_file(project: Project) -> None:
    project.write("train.py", "")

    result = project.yanex("run", "train.py", "--config", "nope.yaml")

    assert result.returncode == 2
    assert result.error_lines == ["Error: config file 'nope.yaml' does not exist"]
    assert project.experiment_ids() == []


def test_unreadable_yaml_is_a_usage_error_with_its_line(project: Project) -> None:
    project.write("train.py", "")
    project.write("bad.yaml", "lr: 0.1\nmodel: [1, 2\n")

    result = project.yanex("run", "train.py", "--config", "bad.yaml")

    assert result.returncode == 2
    assert len(result.error_lines) == 1
    assert result.error_lines[0].startswith("Error: bad.yaml: ")
    assert "line" in result.error_lines[0]
    assert project.experiment_ids() == []


def test_config_that_is_not_a_mapping_is_refused(project: Project) -> None:
    project.write("train.py", "")
    project.write("list.yaml", "- 1\n- 2\n")

    result = project.yanex("run", "train.py", "--config", "list.yaml")

    assert result.returncode == 2
    assert result.error_lines == [
        "Error: config file 'list.yaml' must hold a mapping of parameters, not a list"
    ]


def test_python_tags_in_yaml_are_refused(project: Project) -> None:
    project.write("train.py", "")
    project.write("evil.yaml", "x: !!python/object/apply:os.system ['touch pwned']\n")

    result = project.yanex("run", "train.py", "--config", "evil.yaml")

    assert result.returncode == 2
    assert not (project.root / "pwned").exists()


def test_missing_script_is_a_usage_error(project: Project) -> None:
    result = project.yanex("run", "nope.py")

    assert result.returncode == 2
    assert result.error_lines == ["Error: script 'nope.py' does not exist"]
    assert not project.store.exists()


def test_unknown_option_is_a_one_line_usage_error(project: Project) -> None:
    project.write("train.py", "")

    result = project.yanex("run", "train.py", "--frobnicate")

    assert result.returncode == 2
    [line] = result.error_lines
    assert line.startswith("Error: No such option")
    assert "--frobnicate" in line
    assert line.endswith("(see 'yanex run --help')")


def test_conflicting_dotted_key_is_reported(project: Project) -> None:
    project.write("train.py", "")
    project.write("config.yaml", "model: resnet\n")

    result = project.yanex("run", "train.py", "--param", "model.lr=0.1")

    assert result.returncode == 2
    assert result.error_lines == [
        "Error: --param model.lr: cannot set model.lr because model is 'resnet',"
        " not a mapping"
    ]
