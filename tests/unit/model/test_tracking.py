"""Tracking ids are Argo CD's, and copies of tracked objects are not claimed."""

from __future__ import annotations

import pytest

from gitward.model.errors import ConfigError
from gitward.model.tracking import (
    TRACKING_ANNOTATION,
    ResourceKey,
    TrackingMethod,
    owner_app,
    parse_tracking_id,
    with_tracking,
)

DEPLOY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "prod"},
}
NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}}


def test_annotation_format_matches_argo_cd() -> None:
    tracked = with_tracking(DEPLOY, "myapp", TrackingMethod.ANNOTATION)
    assert (
        tracked["metadata"]["annotations"][TRACKING_ANNOTATION] == "myapp:apps/Deployment:prod/web"
    )
    cluster_scoped = with_tracking(NS, "myapp", TrackingMethod.ANNOTATION)
    assert (
        cluster_scoped["metadata"]["annotations"][TRACKING_ANNOTATION] == "myapp:/Namespace:/prod"
    )
    assert "annotations" not in DEPLOY["metadata"]  # the input is not modified


def test_owner_of_tracked_object_and_not_of_a_copy() -> None:
    tracked = with_tracking(DEPLOY, "myapp", TrackingMethod.ANNOTATION)
    assert owner_app(tracked, TrackingMethod.ANNOTATION) == "myapp"
    copy = {**tracked, "metadata": {**tracked["metadata"], "name": "web-copy"}}
    assert owner_app(copy, TrackingMethod.ANNOTATION) is None


def test_label_and_combined_methods() -> None:
    labelled = with_tracking(DEPLOY, "myapp", TrackingMethod.LABEL)
    assert labelled["metadata"]["labels"]["app.kubernetes.io/instance"] == "myapp"
    assert "annotations" not in labelled["metadata"]
    assert owner_app(labelled, TrackingMethod.LABEL) == "myapp"
    both = with_tracking(DEPLOY, "myapp", TrackingMethod.ANNOTATION_AND_LABEL)
    assert owner_app(both, TrackingMethod.ANNOTATION_AND_LABEL) == "myapp"


def test_parse_and_errors() -> None:
    assert parse_tracking_id("a:apps/Deployment:ns/n") == (
        "a",
        ResourceKey("apps", "Deployment", "ns", "n"),
    )
    assert parse_tracking_id("garbage") is None
    with pytest.raises(ConfigError, match="resourceTrackingMethod"):
        TrackingMethod.parse("labels")
    assert TrackingMethod.parse(None) is TrackingMethod.ANNOTATION
