"""PATCH bodies applied to an Application in memory: merge patch and JSON patch."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitward.model.errors import GitwardError
from gitward.server.api.patching import apply, merge
from gitward.server.errors import InvalidArgument

APP = {
    "metadata": {"name": "web", "labels": {"a": "1"}},
    "spec": {"project": "default", "source": {"repoURL": "https://g/x", "path": "p"}},
}


def test_merge_patch_sets_and_removes_keys_without_touching_the_input() -> None:
    patched = apply(
        APP, json.dumps({"spec": {"source": {"path": None, "targetRevision": "v2"}}}), "merge"
    )
    assert patched["spec"]["source"] == {"repoURL": "https://g/x", "targetRevision": "v2"}
    assert APP["spec"]["source"]["path"] == "p"


def test_json_patch_replaces_by_pointer() -> None:
    ops = [{"op": "replace", "path": "/spec/source/path", "value": "q"}]
    patched = apply(APP, json.dumps(ops), "json")
    assert patched["spec"]["source"]["path"] == "q"
    assert APP["spec"]["source"]["path"] == "p"


@pytest.mark.parametrize(
    ("patch", "kind", "field"),
    [
        (None, "merge", "patch"),
        ("{", "merge", "patch"),
        ("[]", "merge", "patch"),
        ("{}", "strategic", "patchType"),
        ('[{"op": "replace", "path": "/nope/x", "value": 1}]', "json", "patch"),
        ('[{"op": "bogus"}]', "json", "patch"),
        ("{}", "json", "patch"),
    ],
)
def test_bad_patches_name_the_field(patch: object, kind: str, field: str) -> None:
    with pytest.raises(InvalidArgument, match=field):
        apply(APP, patch, kind)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(_json, st.sampled_from(["merge", "json", "", None, "x"]))
def test_any_patch_applies_or_is_refused_with_our_error(document: object, kind: object) -> None:
    with contextlib.suppress(GitwardError):
        apply(APP, json.dumps(document), kind)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=3), _json, max_size=4))
def test_merging_a_patch_twice_changes_nothing_more(patch: dict[str, object]) -> None:
    once = merge(APP, patch)
    assert merge(once, patch) == once
