"""fasttemplate mode replaces ``{{ key }}`` exactly as Argo CD's valyala/fasttemplate does."""

from __future__ import annotations

import contextlib
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.appset.fasttemplate import FastTemplateError, render_tree, replace


def test_known_string_keys_are_replaced_and_unknown_tags_kept_verbatim() -> None:
    params = {"name": "a", "path.basename": "b", "n": 3}
    assert replace("{{name}}-myapp", params) == "a-myapp"
    assert replace("{{ name }}/{{path.basename}}", params) == "a/b"
    assert replace("{{nope}} {{ n }} {{}}", params) == "{{nope}} {{ n }} {{}}"


def test_strings_without_a_closed_tag_on_one_line_are_left_alone() -> None:
    assert replace("no tags", {}) == "no tags"
    assert replace("x{{y", {}) == "x{{y"
    assert replace("{{a\n}}", {"a": "A"}) == "{{a\n}}"


def test_an_unclosed_tag_in_a_templated_string_is_an_error() -> None:
    with pytest.raises(FastTemplateError, match="cannot find end tag"):
        replace("{{a}} {{b", {"a": "A"})


def test_trees_template_values_and_keys_and_drop_nulls() -> None:
    tree = {"metadata": {"labels": {"{{k}}": "{{v}}"}}, "list": ["{{v}}", 1, None], "gone": None}
    assert render_tree(tree, {"k": "key", "v": "val"}) == {
        "metadata": {"labels": {"key": "val"}},
        "list": ["val", 1, None],
    }


@given(
    st.text(alphabet="{} ab\n", max_size=60),
    st.dictionaries(st.sampled_from(["a", "b", " a"]), st.text(max_size=5)),
)
def test_replace_returns_text_or_raises_its_own_error(text: str, params: dict[str, str]) -> None:
    with contextlib.suppress(FastTemplateError):
        assert isinstance(replace(text, params), str)


def test_hostile_input_is_linear_time() -> None:
    text = "{{" * 50_000 + "x"
    started = time.monotonic()
    assert replace(text, {}) == text  # no closing tag on the line: not templated
    assert time.monotonic() - started < 1.0
