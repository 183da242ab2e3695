"""Merging parameter sources and dotted keys, as a library."""

from __future__ import annotations

from pathlib import Path

import pytest

from yanex import params
from yanex.errors import ConfigError, ParamError


def test_dotted_assignment_builds_nested_mappings() -> None:
    tree: dict = {}
    key, value = params.parse_assignment("model.encoder.depth=4")
    params.set_path(tree, key, value, "test")
    assert tree == {"model": {"encoder": {"depth": 4}}}


def test_value_may_contain_equals_signs() -> None:
    assert params.parse_assignment("expr=a=b") == (["expr"], "a=b")


def test_mapping_values_merge_into_existing_mappings() -> None:
    tree = {"model": {"lr": 1, "depth": 2}}
    params.set_path(tree, ["model"], {"lr": 3}, "test")
    assert tree == {"model": {"lr": 3, "depth": 2}}


def test_deep_merge_replaces_non_mappings() -> None:
    merged = params.deep_merge({"a": {"b": 1}, "c": [1]}, {"a": {"d": 2}, "c": [2]})
    assert merged == {"a": {"b": 1, "d": 2}, "c": [2]}


def test_environment_names_use_double_underscore_for_dots() -> None:
    assignments = params.environment_assignments(
        {"YANEX_PARAM_model__lr": "0.1", "OTHER": "x", "YANEX_PARAM_": "y"}
    )
    assert assignments == [(["model", "lr"], 0.1)]


def test_resolve_orders_sources_by_priority(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("a: 1\nb: 1\nc: 1\n")
    tree = params.resolve(
        [config], ["c=3"], {"YANEX_PARAM_b": "2", "YANEX_PARAM_c": "2"}
    )
    assert tree == {"a": 1, "b": 2, "c": 3}


def test_default_config_is_used_only_when_none_is_named(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("a: 1\n")
    assert params.config_files([], tmp_path) == [tmp_path / "config.yaml"]
    assert params.config_files(["other.yaml"], tmp_path) == [Path("other.yaml")]


def test_empty_config_is_an_empty_mapping(tmp_path: Path) -> None:
    config = tmp_path / "empty.yaml"
    config.write_text("# nothing yet\n")
    assert params.load_config(config) == {}


def test_config_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "latin.yaml"
    config.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        params.load_config(config)


def test_key_parts_must_be_plain_names() -> None:
    with pytest.raises(ParamError, match="part 'a b'"):
        params.parse_assignment("a b=1")


def test_flatten_gives_dotted_keys_and_keeps_empty_mappings() -> None:
    assert params.flatten({"a": {"b": 1, "c": {}}, "d": 2}) == {
        "a.b": 1,
        "a.c": {},
        "d": 2,
    }


def test_a_key_that_is_not_printable_is_named_in_one_line() -> None:
    with pytest.raises(ParamError) as caught:
        params.parse_assignment("a\nb=1")

    assert str(caught.value) == (
        "--param 'a\\nb': invalid key 'a\\nb': part 'a\\nb' must be letters,"
        " digits, '_' or '-'"
    )
