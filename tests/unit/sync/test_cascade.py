"""Which propagation an Application's finalizers ask for, and when a comparison is untrustworthy."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.appstate.comparison import Comparison, ResourceState
from gitward.model.application import parse_application
from gitward.model.status import Health, HealthStatus, SyncStatus
from gitward.model.tracking import ResourceKey
from gitward.sync.cascade import (
    BACKGROUND_FINALIZER,
    DELETION_ERROR,
    FOREGROUND_FINALIZER,
    RESOURCES_FINALIZER,
    DeletionError,
    cascade_policy,
    comparison_failure,
)


def with_finalizers(*names: str) -> dict[str, Any]:
    return {"metadata": {"name": "a", "finalizers": list(names)}}


@pytest.mark.parametrize(
    ("finalizers", "policy"),
    [
        ((), None),
        (("example.com/other",), None),
        ((RESOURCES_FINALIZER,), "Foreground"),
        ((FOREGROUND_FINALIZER,), "Foreground"),
        ((BACKGROUND_FINALIZER,), "Background"),
        (("example.com/other", BACKGROUND_FINALIZER), "Background"),
        ((BACKGROUND_FINALIZER, RESOURCES_FINALIZER), "Background"),  # the first one decides
        ((RESOURCES_FINALIZER, BACKGROUND_FINALIZER), "Foreground"),
    ],
)
def test_cascade_policy(finalizers: tuple[str, ...], policy: str | None) -> None:
    assert cascade_policy(with_finalizers(*finalizers)) == policy


def test_no_metadata_finalizers_means_no_cascade() -> None:
    assert cascade_policy({"metadata": {"name": "a"}}) is None


APP = parse_application(
    {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "a", "namespace": "argocd"},
        "spec": {
            "source": {"repoURL": "file:///nowhere", "path": "app"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "d"},
        },
    },
    "test",
)


def test_a_failed_comparison_is_never_read_as_no_resources() -> None:
    failed = Comparison(
        APP,
        "",
        SyncStatus.UNKNOWN,
        Health(HealthStatus.UNKNOWN),
        conditions=[{"type": "ComparisonError", "message": "repository unreachable"}],
    )
    assert comparison_failure(failed) == "repository unreachable"
    failed.conditions = []
    assert comparison_failure(failed) == "the comparison failed"


def test_a_comparison_with_resources_or_a_known_status_is_trusted() -> None:
    empty = Comparison(APP, "abc", SyncStatus.SYNCED, Health(HealthStatus.HEALTHY))
    assert comparison_failure(empty) is None
    state = ResourceState(
        ResourceKey("", "ConfigMap", "d", "c"),
        "v1",
        None,
        None,
        SyncStatus.OUT_OF_SYNC,
        None,
    )
    partial = Comparison(
        APP,
        "abc",
        SyncStatus.UNKNOWN,
        Health(HealthStatus.UNKNOWN),
        resources=[state],
        conditions=[{"type": "ComparisonError", "message": "one kind unknown"}],
    )
    assert comparison_failure(partial) is None


def test_deletion_error_as_a_condition() -> None:
    err = DeletionError("could not delete 1 resource(s): x", ["deleted y"], ["x"])
    assert err.condition() == {"type": DELETION_ERROR, "message": str(err)}
    assert (err.done, err.failed) == (["deleted y"], ["x"])
