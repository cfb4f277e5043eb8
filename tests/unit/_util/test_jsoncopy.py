"""json_copy: a deep copy of JSON-shaped trees, sharing nothing mutable."""

from __future__ import annotations

from gitward._util.jsoncopy import json_copy


def test_copies_are_equal_and_share_no_dict_or_list() -> None:
    tree = {"a": [1, {"b": "c", "d": [True, None, 2.5]}], "e": {"f": {}}}
    copied = json_copy(tree)
    assert copied == tree
    copied["a"][1]["d"].append("new")
    copied["e"]["f"]["g"] = 1
    assert tree == {"a": [1, {"b": "c", "d": [True, None, 2.5]}], "e": {"f": {}}}


def test_scalars_come_back_as_they_are() -> None:
    assert json_copy("text") == "text"
    assert json_copy(7) == 7
    assert json_copy(None) is None
