"""A sync request body, read into the ``operation`` the controller will run."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitward.model.errors import GitwardError
from gitward.server.api.operations import sync_operation
from gitward.server.errors import InvalidArgument
from gitward.sync.requested import request_from_operation


def test_argo_cd_fields_become_the_operation() -> None:
    op = sync_operation(
        {
            "revision": "v1.2",
            "prune": True,
            "dryRun": True,
            "resources": [{"group": "apps", "kind": "Deployment", "name": "web"}],
            "syncOptions": {"items": ["CreateNamespace=true"]},
            "strategy": {"hook": {"force": True}},
            "retryStrategy": {"limit": 3, "backoff": {"duration": "5s"}},
            "infos": [{"name": "why", "value": "release"}],
        },
        "alice",
    )
    assert op["initiatedBy"] == {"username": "alice"}
    assert op["info"] == [{"name": "why", "value": "release"}]
    request = request_from_operation(op, "")
    assert request.revision == "v1.2"
    assert request.prune
    assert request.dry_run
    assert request.force
    assert request.resources == frozenset({("apps", "Deployment", "web")})
    assert request.sync_options == ("CreateNamespace=true",)
    assert request.retry is not None
    assert request.retry.limit == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prune": "yes"}, "prune"),
        ({"revision": 7}, "revision"),
        ({"syncOptions": ["a"]}, "syncOptions"),
        ({"syncOptions": {"items": ["Bogus=1"]}}, "syncOptions"),
        ({"resources": [{"name": "x"}]}, "kind"),
        ({"infos": [{"name": "gitward.io/holder", "value": "me"}]}, "infos"),
        ({"infos": "x"}, "infos"),
        ({"manifests": ["apiVersion: v1"]}, "manifests"),
        ({"retryStrategy": {"limit": "many"}}, "limit"),
    ],
)
def test_bad_fields_are_named(body: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument, match=field):
        sync_operation(body, "alice")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
_keys = st.sampled_from(
    [
        "revision",
        "revisions",
        "prune",
        "dryRun",
        "strategy",
        "resources",
        "syncOptions",
        "retryStrategy",
        "infos",
        "manifests",
        "other",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(_keys, _json, max_size=6))
def test_any_body_becomes_an_operation_the_controller_accepts_or_is_refused(
    body: dict[str, object],
) -> None:
    try:
        op = sync_operation(body, "alice")
    except GitwardError:
        return
    request_from_operation(op, "")  # what is written, the controller can run
    assert op["initiatedBy"] == {"username": "alice"}
