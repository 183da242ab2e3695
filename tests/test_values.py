"""Typing of values by the YAML 1.2 core rules, and safe YAML loading."""

from __future__ import annotations

import math

import pytest

from yanex import values
from yanex.errors import ParamError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100", 100),
        ("-7", -7),
        ("0x1f", 31),
        ("0o17", 15),
        ("007", 7),
        ("0.001", 0.001),
        ("1e-3", 0.001),
        (".5", 0.5),
        ("true", True),
        ("False", False),
        ("null", None),
        ("~", None),
        ("", None),
        ("yes", "yes"),
        ("on", "on"),
        ("2024-01-01", "2024-01-01"),
        ("adam", "adam"),
        ("a,b", "a,b"),
        ("hello: world", "hello: world"),
        ("#not a comment", "#not a comment"),
    ],
)
def test_plain_text_is_typed_by_the_core_schema(text: str, expected: object) -> None:
    value = values.parse_value(text)
    assert value == expected
    assert type(value) is type(expected)


def test_infinities_and_nan_are_floats() -> None:
    assert values.parse_value(".inf") == math.inf
    assert values.parse_value("-.inf") == -math.inf
    assert math.isnan(values.parse_value(".nan"))


def test_quoted_text_stays_a_string() -> None:
    assert values.parse_value('"123"') == "123"
    assert values.parse_value("'true'") == "true"


def test_flow_collections_are_parsed() -> None:
    assert values.parse_value("[64, 128]") == [64, 128]
    assert values.parse_value("{a: 1, b: [x, y]}") == {"a": 1, "b": ["x", "y"]}


def test_text_after_a_quoted_string_is_an_error() -> None:
    with pytest.raises(ParamError, match="--param x"):
        values.parse_value('"a" b', "--param x")


def test_huge_integers_are_refused() -> None:
    with pytest.raises(ParamError, match="too large"):
        values.parse_value("9" * 5000)


def test_yaml_documents_use_the_same_typing() -> None:
    document = values.load_yaml("a: yes\nb: 1e-3\nc: 2024-01-01\nd: 017\n", "f")
    assert document == {"a": "yes", "b": 0.001, "c": "2024-01-01", "d": 17}


def test_duplicate_keys_are_refused_with_their_line() -> None:
    with pytest.raises(ParamError, match=r"key 'lr' appears twice \(line 2"):
        values.load_yaml("lr: 1\nlr: 2\n", "config.yaml")


def test_non_string_keys_are_refused() -> None:
    with pytest.raises(ParamError, match="mapping key 1 is not a string"):
        values.load_yaml("weights:\n  1: 0.5\n", "config.yaml")


def test_merge_keys_work_and_do_not_count_as_duplicates() -> None:
    document = values.load_yaml(
        "base: &b {lr: 1, depth: 2}\nrun:\n  <<: *b\n  lr: 3\n", "f"
    )
    assert document["run"] == {"lr": 3, "depth": 2}


def test_aliases_are_copied_so_changing_one_leaves_the_other() -> None:
    document = values.load_yaml("a: &x {lr: 1}\nb: *x\n", "f")
    document["a"]["lr"] = 2
    assert document["b"] == {"lr": 1}


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    with pytest.raises(ParamError, match="expands to more than"):
        values.load_yaml("\n".join(lines) + "\n", "bomb.yaml")


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(ParamError, match="nest"):
        values.load_yaml("x: " + "[" * 5000 + "]" * 5000 + "\n", "deep.yaml")


def test_python_tags_are_refused() -> None:
    with pytest.raises(ParamError):
        values.load_yaml("x: !!python/object/apply:os.system ['true']\n", "evil.yaml")


def test_binary_and_dates_by_explicit_tag_are_refused() -> None:
    with pytest.raises(ParamError, match="not supported"):
        values.load_yaml("x: !!binary aGVsbG8=\n", "f")


def test_a_control_character_is_named_in_one_line() -> None:
    with pytest.raises(ParamError) as caught:
        values.load_yaml("lr: 1\n\x1f", "config.yaml")

    assert str(caught.value) == (
        "config.yaml: unacceptable character #x001f at character 7"
        " (control characters are not allowed)"
    )
