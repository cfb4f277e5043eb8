"""Parameter helpers print, flatten and merge as Argo CD's Go code does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.appset.params import (
    ParamsError,
    combine_strict,
    deep_merge,
    fill_merge,
    flat_strings,
    flatten,
    go_text,
    merge_key,
    sanitize_name,
)

# What Go's fmt.Sprintf("%v", v) printed for each float64 (go1.26, recorded by hand).
GO_FLOATS = [
    (3.0, "3"),
    (1.5, "1.5"),
    (123456.0, "123456"),
    (1234567.0, "1.234567e+06"),
    (999999.0, "999999"),
    (1e6, "1e+06"),
    (1e20, "1e+20"),
    (1e21, "1e+21"),
    (0.0001, "0.0001"),
    (0.00012, "0.00012"),
    (5e-5, "5e-05"),
    (-1234567.5, "-1.2345675e+06"),
    (0.3000000000000001, "0.3000000000000001"),
    (12345678901234567890, "1.2345678901234567e+19"),
    (0.0, "0"),
    (-0.0, "-0"),
]


@pytest.mark.parametrize(("value", "printed"), GO_FLOATS)
def test_numbers_print_as_go_prints_a_float64(value: float, printed: str) -> None:
    assert go_text(value) == printed


def test_other_values_print_as_go_percent_v() -> None:
    assert go_text(True) == "true"
    assert go_text(None) == "<nil>"
    assert go_text("x") == "x"
    assert go_text([1, "a"]) == "[1 a]"
    assert go_text({"b": 1, "a": 2}) == "map[a:2 b:1]"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_go_text_of_a_float_reads_back_as_the_same_float(value: float) -> None:
    assert float(go_text(value).replace("e+", "e")) == value


def test_flatten_is_jeremywohl_dot_style() -> None:
    assert flatten({"a": {"b": [1, {"c": "d"}]}, "e": "f", "g": {}}) == {
        "a.b.0": 1,
        "a.b.1.c": "d",
        "e": "f",
    }
    assert flat_strings({"n": 3, "ok": False}) == {"n": "3", "ok": "false"}


def test_sanitize_name_is_argo_cds_normalize() -> None:
    assert sanitize_name("My_Cluster.Prod-") == "my-cluster.prod"
    assert sanitize_name("-.a") == "a"
    assert len(sanitize_name("x" * 300)) == 253


def test_deep_merge_overrides_but_empty_values_do_not_win() -> None:
    merged = deep_merge(
        {"a": {"x": 1, "y": 2}, "b": "keep", "c": "old"}, {"a": {"y": 3}, "b": "", "c": "new"}
    )
    assert merged == {"a": {"x": 1, "y": 3}, "b": "keep", "c": "new"}


def test_fill_merge_keeps_what_the_generator_template_sets() -> None:
    own = {"metadata": {"name": "own"}, "spec": {"project": ""}}
    base = {"metadata": {"name": "base", "labels": {"a": "b"}}, "spec": {"project": "p"}}
    assert fill_merge(own, base) == {
        "metadata": {"name": "own", "labels": {"a": "b"}},
        "spec": {"project": "p"},
    }


def test_combine_strict_refuses_a_key_with_two_values() -> None:
    assert combine_strict({"a": "1"}, {"a": "1", "b": "2"}) == {"a": "1", "b": "2"}
    with pytest.raises(ParamsError, match="duplicate key a"):
        combine_strict({"a": "1"}, {"a": "2"})


def test_merge_key_finds_top_level_and_nested_keys() -> None:
    assert merge_key({"server": "s", "x": 1}, ["server"]) == '{"server":"s"}'
    assert merge_key({"values": {"sel": "v"}}, ["values.sel"]) == '{"values.sel":"v"}'
    assert merge_key({"values.sel": "v"}, ["values.sel"]) == '{"values.sel":"v"}'
