"""An Application's ``operation`` field read back into the SyncRequest it asks for."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.model.application import Backoff, Retry
from gitward.model.errors import ConfigError
from gitward.sync.operation import operation_field
from gitward.sync.plan import SyncRequest
from gitward.sync.requested import (
    InvalidOperation,
    initiator_of,
    is_automated,
    request_from_operation,
)

WHERE = "Application argocd/guestbook"

#: Requests as the CLI builds them (``gitward app sync`` flags) and as the controller does.
REQUESTS = [
    SyncRequest(),
    SyncRequest(revision="0123456789abcdef0123456789abcdef01234567", prune=True),
    SyncRequest(dry_run=True, sync_options=("ApplyOutOfSyncOnly=true", "PruneLast=true")),
    SyncRequest(
        revision="v1.2.0",
        resources=frozenset(
            {("apps", "Deployment", "web"), ("", "ConfigMap", "cfg"), ("*", "Secret", "s")}
        ),
    ),
    SyncRequest(resources=frozenset()),
    SyncRequest(force=True, retry=Retry(limit=3, backoff=Backoff("10s", 3, "5m"))),
]

#: SyncRequest fields that operation_field writes into the operation today.
RECORDED = ("revision", "prune", "dry_run", "resources", "sync_options")


@pytest.mark.parametrize("request_", REQUESTS)
def test_round_trip_of_every_recorded_field(request_: SyncRequest) -> None:
    back = request_from_operation(operation_field(request_, "alice"), WHERE)
    for name in RECORDED:
        assert getattr(back, name) == getattr(request_, name), name
    assert initiator_of(operation_field(request_, "alice")) == "alice"


def test_round_trip_is_complete() -> None:
    for request_ in REQUESTS:
        assert request_from_operation(operation_field(request_, "alice"), WHERE) == request_


def test_argo_cd_sync_operation() -> None:
    """What ``argocd app sync`` and the UI write, with every field gitward reads."""
    operation: dict[str, Any] = {
        "sync": {
            "revision": "main",
            "prune": True,
            "dryRun": False,
            "resources": [
                {"group": "apps", "kind": "Deployment", "name": "web", "namespace": "prod"},
                {"kind": "Service", "name": "web"},
            ],
            "syncStrategy": {"hook": {"force": True}},
            "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"],
            "autoHealAttemptsCount": 2,
        },
        "retry": {
            "limit": 5,
            "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"},
            "refresh": False,
        },
        "initiatedBy": {"username": "admin"},
        "info": [{"name": "Reason", "value": "ConfigMap changed"}],
    }
    assert request_from_operation(operation, WHERE) == SyncRequest(
        revision="main",
        prune=True,
        dry_run=False,
        force=True,
        resources=frozenset({("apps", "Deployment", "web"), ("", "Service", "web")}),
        sync_options=("CreateNamespace=true", "ServerSideApply=true"),
        retry=Retry(limit=5, backoff=Backoff("5s", 2, "3m")),
    )
    assert initiator_of(operation) == "admin"
    assert not is_automated(operation)


def test_minimal_operation_is_a_plain_sync() -> None:
    assert request_from_operation({"sync": {"syncStrategy": {"hook": {}}}}, WHERE) == (
        SyncRequest()
    )
    assert request_from_operation({"sync": {"revision": ""}}, WHERE).revision is None


@pytest.mark.parametrize(
    ("strategy", "force"),
    [
        ({"apply": {"force": True}}, True),
        ({"apply": {}}, False),
        ({"hook": {"force": True}}, True),
        ({"apply": {"force": False}, "hook": {"force": True}}, False),  # apply is read first
        ({}, False),
    ],
)
def test_force_comes_from_the_sync_strategy(strategy: dict[str, Any], force: bool) -> None:
    request_ = request_from_operation({"sync": {"syncStrategy": strategy}}, WHERE)
    assert request_.force is force


def test_retry_defaults_and_limit_zero() -> None:
    request_ = request_from_operation({"sync": {}, "retry": {"limit": 2}}, WHERE)
    assert request_.retry == Retry(limit=2, backoff=Backoff())
    # limit 0 is kept: no retries, overriding the app's own policy
    assert request_from_operation({"sync": {}, "retry": {}}, WHERE).retry == Retry(limit=0)
    assert request_from_operation({"sync": {}}, WHERE).retry is None


@pytest.mark.parametrize(
    ("initiated", "who", "automated"),
    [
        ({"username": "alice"}, "alice", False),
        ({"automated": True}, "automated", True),
        ({"username": "", "automated": False}, "unknown", False),
        ("not a mapping", "unknown", False),
        (None, "unknown", False),
    ],
)
def test_initiator(initiated: object, who: str, automated: bool) -> None:
    operation = {"sync": {}, "initiatedBy": initiated}
    assert initiator_of(operation) == who
    assert is_automated(operation) is automated


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ("sync please", "operation: expected a mapping, got a string"),
        ({}, "operation.sync: required"),
        ({"sync": []}, "operation.sync: expected a mapping, got a list"),
        ({"sync": {"revision": 1234567}}, "operation.sync.revision: expected a string, got int"),
        ({"sync": {"prune": "true"}}, "operation.sync.prune: expected true or false"),
        ({"sync": {"dryRun": 1}}, "operation.sync.dryRun: expected true or false, got int"),
        ({"sync": {"resources": {"kind": "Pod"}}}, "operation.sync.resources: expected a list"),
        (
            {
                "sync": {
                    "resources": [
                        {"kind": "Pod", "name": "a"},
                        {"kind": "Pod", "name": "b"},
                        {"name": "c"},
                    ]
                }
            },
            "operation.sync.resources[2].kind: required",
        ),
        (
            {"sync": {"resources": [{"kind": "Pod", "name": ""}]}},
            "operation.sync.resources[0].name: required",
        ),
        (
            {"sync": {"resources": [{"kind": "Pod", "name": "a", "namespace": 3}]}},
            "operation.sync.resources[0].namespace: expected a string",
        ),
        ({"sync": {"resources": ["Pod/a"]}}, "operation.sync.resources[0]: expected a mapping"),
        ({"sync": {"syncOptions": "Prune=false"}}, "operation.sync.syncOptions: expected a list"),
        ({"sync": {"syncOptions": [True]}}, "operation.sync.syncOptions[0]: expected a string"),
        ({"sync": {"syncOptions": ["Bogus=1"]}}, "operation.sync.syncOptions: unknown sync option"),
        ({"sync": {"syncStrategy": {"hook": {"force": "yes"}}}}, "syncStrategy.hook.force"),
        ({"sync": {}, "retry": {"limit": "3"}}, "operation.retry.limit: expected an integer"),
        (
            {"sync": {}, "retry": {"backoff": {"duration": "soon"}}},
            "operation.retry.backoff.duration: not a duration",
        ),
        (
            {"sync": {}, "retry": {"backoff": {"factor": 0}}},
            "operation.retry.backoff.factor: must be at least 1",
        ),
        ({"sync": {"revisions": ["a", 3]}}, "operation.sync.revisions[1]: expected a string"),
        ({"sync": {"source": {"repoURL": "x"}}}, "operation.sync.source: a source override"),
        ({"sync": {"manifests": ["kind: Pod"]}}, "operation.sync.manifests: local manifests"),
    ],
)
def test_malformed_operation_names_the_field(operation: Any, message: str) -> None:
    with pytest.raises(InvalidOperation) as caught:
        request_from_operation(operation, WHERE)
    assert str(caught.value).startswith(f"{WHERE}: ")
    assert message in str(caught.value)
    assert isinstance(caught.value, ConfigError)


def test_per_source_revisions_of_a_multi_source_sync() -> None:
    request = request_from_operation({"sync": {"revisions": ["1.2.0", "abc123"]}}, WHERE)
    assert request.revisions == ("1.2.0", "abc123")
    assert request.revision is None


def test_without_where_the_message_starts_at_the_field() -> None:
    with pytest.raises(InvalidOperation, match=r"^operation\.sync: required"):
        request_from_operation({}, "")
