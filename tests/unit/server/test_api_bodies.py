"""Application bodies of create, update and patch: what a caller may set, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitward.model.errors import GitwardError
from gitward.server.api.bodies import application_from
from gitward.server.errors import InvalidArgument

SPEC = {
    "project": "default",
    "source": {"repoURL": "https://g.example/r.git", "path": "p"},
    "destination": {"server": "https://kubernetes.default.svc", "namespace": "d"},
}


def control(namespace: str) -> str:
    if namespace not in ("", "argocd"):
        raise InvalidArgument(f"appNamespace: {namespace!r} is not permitted")
    return "argocd"


def test_only_what_a_caller_may_set_is_kept() -> None:
    body = {
        "metadata": {
            "name": "web",
            "labels": {"a": "b"},
            "annotations": {"c": "d"},
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
            "uid": "forged",
            "resourceVersion": "1",
        },
        "spec": SPEC,
        "status": {"sync": {"status": "Synced"}},
        "operation": {"sync": {}},
    }
    obj = application_from(body, control)
    assert set(obj) == {"apiVersion", "kind", "metadata", "spec"}
    assert obj["metadata"] == {
        "name": "web",
        "namespace": "argocd",
        "labels": {"a": "b"},
        "annotations": {"c": "d"},
        "finalizers": ["resources-finalizer.argocd.argoproj.io"],
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metadata": {"name": {"x": 1}}, "spec": SPEC}, "metadata.name"),
        ({"metadata": {"name": "a/b"}, "spec": SPEC}, "metadata.name"),
        ({"metadata": {"name": "x" * 254}, "spec": SPEC}, "metadata.name"),
        ({"metadata": {"name": "ok", "namespace": 3}, "spec": SPEC}, "metadata.namespace"),
        ({"metadata": {"name": "ok", "namespace": "other"}, "spec": SPEC}, "appNamespace"),
        ({"metadata": {"name": "ok", "finalizers": "x"}, "spec": SPEC}, "metadata.finalizers"),
        ({"metadata": {"name": "ok", "annotations": {"a": 1}}, "spec": SPEC}, "annotations"),
        ({"metadata": {"name": "ok"}, "spec": {**SPEC, "project": 7}}, "project"),
        ({"metadata": {"name": "ok"}}, "spec"),
        ("text", "body"),
    ],
)
def test_bad_fields_are_named(body: Any, field: str) -> None:
    with pytest.raises(InvalidArgument, match=field):
        application_from(body, control)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=16,
)
_meta = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(st.text(max_size=12), _json),
        "namespace": st.one_of(st.sampled_from(["", "argocd", "x"]), _json),
        "labels": _json,
        "annotations": _json,
        "finalizers": _json,
    },
)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        _json,
        st.fixed_dictionaries(
            {"metadata": _meta},
            optional={"spec": st.one_of(_json, st.just(SPEC)), "status": _json},
        ),
    )
)
def test_any_body_is_an_application_or_refused_with_our_error(body: Any) -> None:
    try:
        obj = application_from(body, control)
    except GitwardError:
        return
    assert set(obj) == {"apiVersion", "kind", "metadata", "spec"}
    assert obj["metadata"]["namespace"] == "argocd"
    assert "/" not in obj["metadata"]["name"]
