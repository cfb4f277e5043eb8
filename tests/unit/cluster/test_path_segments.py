"""A name or namespace becomes exactly one segment of an API path, or is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.cluster.discovery import ResourceInfo, segment
from gitward.cluster.errors import InvalidName
from gitward.model.errors import ConfigError

CONFIGMAPS = ResourceInfo("v1", "ConfigMap", "configmaps", True, frozenset())
DNS_NAMES = st.from_regex(r"\A[a-z0-9]([-a-z0-9.]{0,60}[a-z0-9])?\Z")


@pytest.mark.parametrize(
    "hostile", ["..", ".", "", "a/b", "../secrets", "x%2F..", "a?watch=1", "a#b", "a b", "a\\b"]
)
def test_a_name_that_would_change_the_path_is_refused(hostile: str) -> None:
    with pytest.raises(InvalidName) as info:
        CONFIGMAPS.item(hostile, "default")
    assert "not a valid object name" in str(info.value)
    with pytest.raises(InvalidName):
        CONFIGMAPS.collection(hostile or "..")


@given(DNS_NAMES, DNS_NAMES)
def test_every_kubernetes_name_is_one_segment(name: str, namespace: str) -> None:
    path = CONFIGMAPS.item(name, namespace)
    assert path == f"/api/v1/namespaces/{namespace}/configmaps/{name}"


@given(st.text(max_size=40))
def test_any_text_is_kept_whole_or_refused_with_gitwards_error(value: str) -> None:
    try:
        kept = segment(value, "name")
    except ConfigError:
        return
    assert kept == value
    assert "/" not in kept
    assert kept not in (".", "..")
