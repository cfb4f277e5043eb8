"""Objects rebuilt with shared keys: equal to what they were, one string per key."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gitward._util.sharedkeys import share_keys

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=40,
)


@given(JSON)
def test_the_rebuilt_object_equals_the_original(value: Any) -> None:
    assert share_keys(value) == value


def test_two_documents_share_one_string_per_key() -> None:
    text = json.dumps({"metadata": {"name": "a", "labels": {"team-x/owner": "me"}}})
    first, second = share_keys(json.loads(text)), share_keys(json.loads(text))
    assert first == second
    key = next(k for k in first["metadata"]["labels"])
    assert key is next(k for k in second["metadata"]["labels"])
    assert next(iter(first)) is next(iter(second))


def test_an_object_nested_as_deep_as_the_api_server_allows() -> None:
    deep: Any = {"leaf": 1}
    for _ in range(10_000):
        deep = {"d": [deep]}
    rebuilt = share_keys(deep)
    for _ in range(10_000):
        rebuilt = rebuilt["d"][0]
    assert rebuilt == {"leaf": 1}
