"""Sweep expressions: syntax, typing, errors, grids and member names."""

from __future__ import annotations

import doctest
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yanex import sweep as sweep_module
from yanex.errors import SweepError
from yanex.sweep import (
    MAX_MEMBERS,
    Member,
    Sweep,
    expand,
    find_sweeps,
    maybe_parse,
    member_name,
    parse_sweep,
    sweep_from_value,
)
from yanex.values import PlainText, load_yaml

SOURCE = "--param lr"


def values_of(text: str) -> list[Any]:
    return parse_sweep(text, source=SOURCE).values()


def error_of(text: str) -> str:
    with pytest.raises(SweepError) as caught:
        parse_sweep(text, source=SOURCE)
    return str(caught.value)


def sweep(text: str) -> Sweep:
    return parse_sweep(text, source=SOURCE)


# list(...)


def test_list_types_each_element_like_a_param_value() -> None:
    assert values_of("list(1, 2.5, 1e-3, true, false, null, ~, adam)") == [
        1,
        2.5,
        0.001,
        True,
        False,
        None,
        None,
        "adam",
    ]


def test_list_keeps_yaml_words_like_yes_as_strings() -> None:
    assert values_of("list(yes, no, on)") == ["yes", "no", "on"]


def test_list_keeps_commas_inside_quoted_strings() -> None:
    assert values_of("list('a, b', \"c, d\")") == ["a, b", "c, d"]


def test_list_keeps_parentheses_inside_quoted_strings() -> None:
    assert values_of("list('f(x)', \"g)(\")") == ["f(x)", "g)("]


def test_list_reads_quoted_numbers_as_strings() -> None:
    assert values_of("list('1', \"2.5\")") == ["1", "2.5"]


def test_list_reads_escaped_quotes_inside_quoted_strings() -> None:
    assert values_of("list('it''s, ok', \"say \\\"hi, there\\\"\")") == [
        "it's, ok",
        'say "hi, there"',
    ]


def test_list_reads_flow_lists_as_single_elements() -> None:
    assert values_of("list([64, 128], [256, 512, 1024])") == [
        [64, 128],
        [256, 512, 1024],
    ]


def test_list_reads_flow_mappings_as_single_elements() -> None:
    assert values_of("list({a: 1, b: [2, 3]}, {a: 'x, y'})") == [
        {"a": 1, "b": [2, 3]},
        {"a": "x, y"},
    ]


def test_list_keeps_apostrophes_inside_bare_words() -> None:
    assert values_of("list(don't, won't)") == ["don't", "won't"]


def test_list_keeps_inner_spaces_of_bare_strings() -> None:
    assert values_of("list(big  model, small)") == ["big  model", "small"]


def test_list_of_one_element_is_a_sweep_of_one() -> None:
    assert values_of("list(42)") == [42]


def test_white_space_around_every_token_is_ignored() -> None:
    assert values_of("  list (  1 ,2,\n\t3 )  ") == [1, 2, 3]


# range(...)


def test_range_of_ints_gives_ints_and_excludes_stop() -> None:
    values = values_of("range(0, 5)")

    assert values == [0, 1, 2, 3, 4]
    assert all(type(value) is int for value in values)


def test_range_with_step() -> None:
    assert values_of("range(1, 10, 4)") == [1, 5, 9]


def test_range_with_negative_step_counts_down() -> None:
    assert values_of("range(10, 0, -3)") == [10, 7, 4, 1]


def test_range_with_negative_bounds() -> None:
    assert values_of("range(-3, 0)") == [-3, -2, -1]


def test_range_accepts_signed_and_hex_ints() -> None:
    assert values_of("range(+2, 0x5)") == [2, 3, 4]


def test_float_range_values_equal_their_literals() -> None:
    assert values_of("range(0.01, 0.1, 0.01)") == [
        0.01,
        0.02,
        0.03,
        0.04,
        0.05,
        0.06,
        0.07,
        0.08,
        0.09,
    ]


def test_float_range_never_drifts() -> None:
    assert values_of("range(0.1, 0.4, 0.1)") == [0.1, 0.2, 0.3]


def test_float_range_excludes_stop() -> None:
    assert values_of("range(0, 1, 0.25)") == [0.0, 0.25, 0.5, 0.75]


def test_range_with_any_float_bound_gives_floats() -> None:
    values = values_of("range(0.0, 3)")

    assert values == [0.0, 1.0, 2.0]
    assert all(type(value) is float for value in values)


def test_float_range_with_negative_step() -> None:
    assert values_of("range(0.3, 0, -0.1)") == [0.3, 0.2, 0.1]


def test_float_range_accepts_yaml_number_forms() -> None:
    assert values_of("range(.5, 2E0, 5e-1)") == [0.5, 1.0, 1.5]


# linspace(...) and logspace(...)


def test_linspace_includes_both_ends() -> None:
    assert values_of("linspace(0, 1, 5)") == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_linspace_tenths_are_clean() -> None:
    assert values_of("linspace(0, 1, 11)") == [
        0.0,
        0.1,
        0.2,
        0.3,
        0.4,
        0.5,
        0.6,
        0.7,
        0.8,
        0.9,
        1.0,
    ]


def test_linspace_of_one_value_is_its_start() -> None:
    assert values_of("linspace(3, 7, 1)") == [3.0]


def test_linspace_can_descend() -> None:
    assert values_of("linspace(1, -1, 3)") == [1.0, 0.0, -1.0]


def test_logspace_gives_exact_powers_of_ten() -> None:
    assert values_of("logspace(-4, -1, 4)") == [0.0001, 0.001, 0.01, 0.1]


def test_logspace_between_whole_exponents() -> None:
    assert values_of("logspace(0, 1, 3)") == [1.0, 10**0.5, 10.0]


def test_logspace_of_one_value_ignores_its_stop() -> None:
    assert values_of("logspace(0, 1000, 1)") == [1.0]


def test_logspace_accepts_float_exponents() -> None:
    assert values_of("logspace(-2.0, 0.0, 3)") == [0.01, 0.1, 1.0]


# The Sweep object


def test_sweep_records_its_text_and_function() -> None:
    parsed = sweep("  range(0, 3)  ")

    assert parsed.text == "range(0, 3)"
    assert parsed.function == "range"


def test_len_of_a_large_sweep_needs_no_values() -> None:
    assert len(sweep(f"range(0, {MAX_MEMBERS})")) == MAX_MEMBERS


def test_values_are_a_fresh_copy_each_time() -> None:
    parsed = sweep("list([1, 2], {a: 1})")

    first = parsed.values()
    first[0].append(3)
    first[1]["a"] = 99

    assert parsed.values() == [[1, 2], {"a": 1}]


def test_sweeps_with_equal_text_are_equal_and_hashable() -> None:
    assert sweep("list(1, 2)") == sweep("list(1, 2)")
    assert len({sweep("list([1], [2])"), sweep("list([1], [2])")}) == 1


# Errors


def test_num_of_zero_is_refused() -> None:
    assert error_of("linspace(0, 1, 0)") == (
        "--param lr: linspace(0, 1, 0): num must be at least 1 (at '0', column 16)"
    )


def test_negative_num_is_refused() -> None:
    assert error_of("logspace(0, 1, -2)").endswith(
        "num must be at least 1 (at '-2', column 16)"
    )


def test_fractional_num_is_refused() -> None:
    assert error_of("linspace(0, 1, 2.5)").endswith(
        "num must be a whole number (at '2.5', column 16)"
    )


def test_zero_step_is_refused() -> None:
    assert error_of("range(0, 1, 0)") == (
        "--param lr: range(0, 1, 0): step must not be zero (at '0', column 13)"
    )


def test_zero_float_step_is_refused() -> None:
    assert error_of("range(0, 1, 0.0)").endswith(
        "step must not be zero (at '0.0', column 13)"
    )


def test_word_as_bound_is_refused() -> None:
    assert error_of("range(a, 2)").endswith("start must be a number (at 'a', column 7)")


def test_quoted_number_as_bound_is_refused() -> None:
    assert error_of('range(0, "5")').endswith(
        "stop must be a number (at '\"5\"', column 10)"
    )


def test_bool_as_bound_is_refused() -> None:
    assert error_of("linspace(true, 2, 3)").endswith(
        "start must be a number (at 'true', column 10)"
    )


def test_expression_as_bound_is_refused() -> None:
    assert error_of("range(0, 10**3)").endswith(
        "stop must be a number (at '10**3', column 10)"
    )


def test_range_with_one_argument_is_refused() -> None:
    assert error_of("range(5)") == (
        "--param lr: range(5): range takes 2 or 3 arguments (start, stop[, step]), "
        "got 1 (at '(5)', column 6)"
    )


def test_range_with_four_arguments_is_refused() -> None:
    assert "range takes 2 or 3 arguments (start, stop[, step]), got 4" in error_of(
        "range(1, 2, 3, 4)"
    )


def test_linspace_with_two_arguments_is_refused() -> None:
    assert error_of("linspace(0, 1)").endswith(
        "linspace takes 3 arguments (start, stop, num), got 2 (at '(0, 1)', column 9)"
    )


def test_logspace_with_four_arguments_is_refused() -> None:
    assert "logspace takes 3 arguments (start_exp, stop_exp, num), got 4" in (
        error_of("logspace(0, 1, 2, 3)")
    )


def test_missing_closing_parenthesis_is_refused() -> None:
    assert error_of("range(1, 2") == (
        "--param lr: range(1, 2: missing ')' (at the end, column 11)"
    )


def test_text_ending_after_a_comma_is_missing_a_parenthesis() -> None:
    assert error_of("range(1, ").endswith("missing ')' (at the end, column 9)")


def test_unclosed_bracket_is_refused() -> None:
    assert error_of("list([1, 2)").endswith("unclosed '[' (at '[', column 6)")


def test_unclosed_brace_at_the_end_is_refused() -> None:
    assert error_of("list({a: 1").endswith("unclosed '{' (at '{', column 6)")


def test_unmatched_closing_bracket_is_refused() -> None:
    assert error_of("list(1])").endswith("unmatched ']' (at ']', column 7)")


def test_unclosed_quote_is_refused() -> None:
    assert error_of("list('abc, 2)").endswith(
        "unclosed quote (at ''abc, 2)', column 6)"
    )


def test_text_after_the_closing_parenthesis_is_refused() -> None:
    assert error_of("range(1, 3) x") == (
        "--param lr: range(1, 3) x: unexpected text after ')' (at 'x', column 13)"
    )


def test_a_second_call_after_the_first_is_refused() -> None:
    assert error_of("list(1)(2)").endswith(
        "unexpected text after ')' (at '(2)', column 8)"
    )


def test_empty_list_is_refused() -> None:
    assert error_of("list()") == (
        "--param lr: list(): list needs at least one element (at '()', column 5)"
    )


def test_empty_element_is_refused() -> None:
    assert error_of("list(1, , 2)").endswith(
        "missing value before ',' (at ',', column 9)"
    )


def test_trailing_comma_is_refused() -> None:
    assert error_of("list(1, 2,)").endswith(
        "missing value before ')' (at ')', column 11)"
    )


def test_unknown_function_names_the_known_ones_and_quoting() -> None:
    assert error_of("lnspace(0, 1, 5)") == (
        "--param lr: lnspace(0, 1, 5): unknown sweep function 'lnspace'; "
        "use list, range, linspace or logspace, "
        "or quote the value to keep it as a plain string (at 'lnspace', column 1)"
    )


def test_text_that_is_no_call_is_refused_by_parse_sweep() -> None:
    assert error_of("0.001") == (
        "--param lr: 0.001: not a sweep expression; write a call such as "
        "range(0, 10) (at '0.001', column 1)"
    )


def test_nested_sweep_is_refused() -> None:
    assert error_of("list(1, range(2, 4))").endswith(
        "sweeps cannot be nested; quote it to keep it as text "
        "(at 'range(2, 4)', column 9)"
    )


def test_call_as_list_element_is_refused() -> None:
    assert error_of("list(f(x), 2)").endswith(
        "a list element cannot be a call; quote it to keep it as text "
        "(at 'f(x)', column 6)"
    )


def test_malformed_flow_element_is_refused() -> None:
    assert error_of("list({a: 1, a: 2})").endswith(
        "bad list element: key 'a' appears twice (at '{a: 1, a: 2}', column 6)"
    )


def test_two_values_in_one_element_are_refused() -> None:
    message = error_of('list("a" b, c)')

    assert message.startswith('--param lr: list("a" b, c): bad list element: ')
    assert message.endswith("(at '\"a\" b', column 6)")


def test_huge_range_fails_before_making_values() -> None:
    assert error_of("range(0, 1000000000000000)") == (
        "--param lr: range(0, 1000000000000000): would make "
        "1,000,000,000,000,000 values, more than the limit of 100,000 "
        "(at 'range(0, 1000000000000000)', column 1)"
    )


def test_tiny_float_step_fails_before_making_values() -> None:
    assert "would make 100,000,000,000,000,000,000 values" in error_of(
        "range(0, 1, 1e-20)"
    )


def test_huge_num_is_refused() -> None:
    assert "would make 100,001 values, more than the limit of 100,000" in (
        error_of("linspace(0, 1, 100001)")
    )


def test_list_with_too_many_elements_is_refused() -> None:
    elements = ", ".join(["1"] * (MAX_MEMBERS + 1))

    assert "would make 100,001 values" in error_of(f"list({elements})")


def test_overflowing_float_bound_is_refused() -> None:
    assert error_of("range(0, 1e999)").endswith(
        "stop is too large for a float (at '1e999', column 10)"
    )


def test_underflowing_float_step_is_refused() -> None:
    assert error_of("range(0, 1, 1e-99999999)").endswith(
        "step is too close to zero for a float (at '1e-99999999', column 13)"
    )


def test_infinite_bound_is_refused() -> None:
    assert error_of("linspace(0, .inf, 3)").endswith(
        "stop must be finite (at '.inf', column 13)"
    )


def test_nan_bound_is_refused() -> None:
    assert error_of("range(.nan, 1)").endswith(
        "start must be finite (at '.nan', column 7)"
    )


def test_giant_digit_string_is_refused() -> None:
    message = error_of(f"range(0, {'9' * 5000})")

    assert "stop is longer than 100 characters (at '99999" in message
    assert len(message) < 200


def test_logspace_exponent_beyond_floats_is_refused() -> None:
    assert error_of("logspace(0, 309, 3)").endswith(
        "10**stop_exp is too large for a float (at '309', column 13)"
    )


def test_logspace_exponent_below_floats_is_refused() -> None:
    assert error_of("logspace(-400, 0, 3)").endswith(
        "10**start_exp is too small for a float (at '-400', column 10)"
    )


def test_range_going_up_with_negative_step_is_refused() -> None:
    assert error_of("range(1, 5, -1)").endswith(
        "range is empty: start must be above stop when step is negative "
        "(at '(1, 5, -1)', column 6)"
    )


def test_range_going_down_with_positive_step_is_refused() -> None:
    assert error_of("range(5, 1)").endswith(
        "range is empty: start must be below stop when step is positive "
        "(at '(5, 1)', column 6)"
    )


def test_deep_nesting_is_refused() -> None:
    message = error_of("list(" + "[" * 500 + "]" * 500 + ")")

    assert message.endswith("nested more than 100 levels deep (at '[', column 106)")


def test_error_on_several_lines_of_text_is_one_line() -> None:
    message = error_of("range(1,\n x)")

    assert message == (
        "--param lr: range(1,  x): stop must be a number (at 'x', column 11)"
    )


def test_error_shortens_a_long_expression() -> None:
    message = error_of("list(" + "a, " * 100 + ")")

    assert message.startswith("--param lr: list(a, a, ")
    assert "..." in message
    assert message.endswith("missing value before ')' (at ')', column 306)")


# Deciding whether text is a sweep


def test_unquoted_call_is_a_sweep() -> None:
    found = maybe_parse("range(0, 3)", quoted=False, source=SOURCE)

    assert found is not None
    assert found.values() == [0, 1, 2]


@pytest.mark.parametrize(
    "text", ["0.001", "adam", "range", "range 1, 2", "", "(1, 2)", "a.b(1)", "é(1)"]
)
def test_text_that_is_no_call_is_not_a_sweep(text: str) -> None:
    assert maybe_parse(text, quoted=False, source=SOURCE) is None


def test_unquoted_unknown_call_is_an_error() -> None:
    with pytest.raises(SweepError, match="unknown sweep function 'foo'"):
        maybe_parse("foo(1)", quoted=False, source=SOURCE)


def test_quoted_known_call_is_a_sweep() -> None:
    found = maybe_parse("logspace(-4,-1,4)", quoted=True, source=SOURCE)

    assert found is not None
    assert found.values() == [0.0001, 0.001, 0.01, 0.1]


def test_quoted_unknown_call_stays_a_string() -> None:
    assert maybe_parse("foo(1, 2)", quoted=True, source=SOURCE) is None


def test_quoted_malformed_known_call_is_an_error() -> None:
    with pytest.raises(SweepError, match=re.escape("missing ')'")):
        maybe_parse("range(1, 2", quoted=True, source=SOURCE)


def test_function_names_are_case_sensitive() -> None:
    assert maybe_parse("Range(1, 2)", quoted=True, source=SOURCE) is None


def test_surrounding_white_space_does_not_hide_a_call() -> None:
    found = maybe_parse("  list(1)  ", quoted=False, source=SOURCE)

    assert found is not None
    assert found.text == "list(1)"


def test_yaml_plain_text_call_is_unquoted() -> None:
    with pytest.raises(SweepError, match="unknown sweep function 'foo'"):
        sweep_from_value(PlainText("foo(1)"), "lr")


def test_yaml_quoted_text_call_is_quoted() -> None:
    assert sweep_from_value("foo(1)", "lr") is None


def test_yaml_known_call_is_a_sweep_either_way() -> None:
    plain = sweep_from_value(PlainText("list(1, 2)"), "lr")
    quoted = sweep_from_value("list(1, 2)", "lr")

    assert plain is not None and quoted is not None
    assert plain.values() == quoted.values() == [1, 2]


def test_yaml_document_keeps_unquoted_and_quoted_calls_apart() -> None:
    document = load_yaml('a: range(0, 2)\nb: "range(0, 2)"\nc: "see(x)"', "file")

    found = {key: sweep_from_value(value, key) for key, value in document.items()}

    assert found["a"] is not None and found["a"].values() == [0, 1]
    assert found["b"] is not None and found["b"].values() == [0, 1]
    assert found["c"] is None


@pytest.mark.parametrize("value", [1, 0.5, None, True, [1, 2], {"a": 1}])
def test_yaml_non_string_is_never_a_sweep(value: Any) -> None:
    assert sweep_from_value(value, "lr") is None


# Finding sweeps in a tree


def test_find_sweeps_gives_dotted_keys_depth_first() -> None:
    lr = sweep("list(1, 2)")
    depth = sweep("range(1, 3)")
    seed = sweep("list(7)")
    tree = {"lr": lr, "model": {"depth": depth, "name": "x"}, "seed": seed}

    assert find_sweeps(tree) == [("lr", lr), ("model.depth", depth), ("seed", seed)]


def test_find_sweeps_in_a_tree_without_sweeps_is_empty() -> None:
    assert find_sweeps({"lr": 0.1, "model": {"layers": [1, 2]}}) == []


def test_sweep_inside_a_list_is_refused_by_path() -> None:
    tree = {"model": {"layers": [1, {"width": sweep("list(1, 2)")}]}}

    with pytest.raises(SweepError) as caught:
        find_sweeps(tree)

    assert str(caught.value) == (
        "model.layers[1].width: a sweep inside a list is not supported; "
        "sweep the whole list instead, e.g. list([1, 2], [3, 4])"
    )


# Expanding the grid


def test_tree_without_sweeps_expands_to_one_member() -> None:
    tree: dict[str, Any] = {"lr": 0.1, "model": {"layers": [1, 2]}}

    members = expand(tree)

    assert members == [Member(params=tree, swept={})]
    assert members[0].params is not tree
    assert members[0].params["model"]["layers"] is not tree["model"]["layers"]


def test_first_swept_parameter_varies_slowest() -> None:
    tree = {"lr": sweep("list(0.1, 0.01)"), "bs": sweep("list(32, 64, 128)")}

    assert [member.swept for member in expand(tree)] == [
        {"lr": 0.1, "bs": 32},
        {"lr": 0.1, "bs": 64},
        {"lr": 0.1, "bs": 128},
        {"lr": 0.01, "bs": 32},
        {"lr": 0.01, "bs": 64},
        {"lr": 0.01, "bs": 128},
    ]


def test_grid_size_is_the_product_of_sweep_lengths() -> None:
    tree = {"a": sweep("range(0, 4)"), "b": {"c": sweep("linspace(0, 1, 5)")}}

    assert len(expand(tree)) == 20


def test_member_params_hold_the_chosen_values_in_place() -> None:
    tree = {"lr": 0.1, "model": {"depth": sweep("list(2, 4)"), "act": "relu"}}

    assert [member.params for member in expand(tree)] == [
        {"lr": 0.1, "model": {"depth": 2, "act": "relu"}},
        {"lr": 0.1, "model": {"depth": 4, "act": "relu"}},
    ]


def test_members_share_no_mutable_values() -> None:
    tree: dict[str, Any] = {
        "shape": sweep("list([1, 2])"),
        "extra": {"tags": ["a"]},
        "x": sweep("list(1, 2)"),
    }

    first, second = expand(tree)
    first.params["shape"].append(3)
    first.params["extra"]["tags"].append("b")

    assert second.params["shape"] == [1, 2]
    assert second.params["extra"]["tags"] == ["a"]
    assert first.swept["shape"] == [1, 2]
    assert tree["extra"]["tags"] == ["a"]


def test_grid_too_large_is_refused_before_expanding() -> None:
    tree = {"a": sweep("range(0, 1000)"), "b": {"c": sweep("range(0, 1000)")}}

    with pytest.raises(SweepError) as caught:
        expand(tree)

    assert str(caught.value) == (
        "sweep grid has 1,000,000 members (a: 1,000 x b.c: 1,000), "
        "more than the limit of 100,000"
    )


def test_two_sweeps_with_one_dotted_key_are_refused() -> None:
    tree = {"a.b": sweep("list(1)"), "a": {"b": sweep("list(2)")}}

    with pytest.raises(
        SweepError, match=re.escape("a.b: two sweeps have this dotted key")
    ):
        expand(tree)


# Naming members


def test_member_name_follows_base_with_swept_values() -> None:
    swept = {"lr": 0.001, "batch_size": 32}

    assert member_name("baseline", swept) == "baseline lr=0.001 batch_size=32"


def test_member_name_without_base_is_the_swept_values() -> None:
    assert member_name(None, {"lr": 0.001, "batch_size": 32}) == (
        "lr=0.001 batch_size=32"
    )


def test_member_name_without_swept_values_is_the_base() -> None:
    assert member_name("baseline", {}) == "baseline"
    assert member_name(None, {}) is None


def test_member_name_writes_floats_by_repr() -> None:
    assert member_name(None, {"lr": 1e-05, "m": 0.9}) == "lr=1e-05 m=0.9"


def test_member_name_writes_yaml_constants() -> None:
    assert member_name(None, {"a": True, "b": False, "c": None}) == (
        "a=true b=false c=null"
    )


def test_member_name_writes_collections_compactly() -> None:
    swept = {"hidden": [64, 128], "opt": {"name": "adam", "beta": 0.9}, "act": "relu"}

    assert member_name(None, swept) == (
        "hidden=[64,128] opt={name:adam,beta:0.9} act=relu"
    )


def test_member_name_uses_dotted_keys() -> None:
    assert member_name("run", {"model.depth": 4}) == "run model.depth=4"


def test_module_docstring_examples_hold() -> None:
    assert doctest.testmod(sweep_module).failed == 0


# Properties

SWEEPISH = "listrangelinspacelogspace()[]{},'\"\\ 0123456789.eE-+:_#~\n"


@settings(max_examples=300, deadline=500, database=None)
@given(
    text=st.one_of(
        st.text(max_size=80),
        st.text(alphabet=SWEEPISH, max_size=80),
        st.builds(
            "".join,
            st.tuples(
                st.sampled_from(["list(", "range(", "linspace(", "logspace(", "f("]),
                st.text(alphabet=SWEEPISH, max_size=60),
            ),
        ),
    ),
    quoted=st.booleans(),
)
def test_any_text_is_a_sweep_or_not_or_a_sweep_error(text: str, quoted: bool) -> None:
    try:
        found = maybe_parse(text, quoted=quoted, source=SOURCE)
    except SweepError as error:
        assert "\n" not in str(error)
        return

    if found is not None:
        assert isinstance(found, Sweep)
        assert 1 <= len(found) <= MAX_MEMBERS


def decimal_text(hundredths: int) -> str:
    sign = "-" if hundredths < 0 else ""
    whole, part = divmod(abs(hundredths), 100)
    return f"{sign}{whole}.{part:02d}"


@settings(max_examples=200, deadline=500, database=None)
@given(
    start=st.integers(-1000, 1000),
    stop=st.integers(-1000, 1000),
    step=st.integers(-300, 300).filter(bool),
    as_floats=st.booleans(),
)
def test_len_matches_the_values_of_any_valid_range(
    start: int, stop: int, step: int, as_floats: bool
) -> None:
    bounds = (start, stop, step)
    texts = [decimal_text(n) if as_floats else str(n) for n in bounds]
    expected = len(range(*bounds))

    try:
        found = parse_sweep(f"range({', '.join(texts)})", source=SOURCE)
    except SweepError:
        assert expected == 0
        return

    assert len(found) == len(found.values()) == expected
    if as_floats:
        assert found.values()[0] == start / 100
