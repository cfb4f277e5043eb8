"""Which live objects belong to which Application: Argo CD's tracking methods.

``annotation`` (the default) writes
``argocd.argoproj.io/tracking-id: <app>:<group>/<kind>:<namespace>/<name>``;
``label`` writes ``app.kubernetes.io/instance: <app>``; ``annotation+label``
writes both and trusts the annotation. Using Argo CD's exact keys means a
cluster moved from Argo CD is adopted without redeploying anything.

The annotation also names the object itself, so a copy of a tracked object
(``kubectl get -o yaml | kubectl apply`` under another name) is not mistaken
for one the app manages.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gitward._util.jsoncopy import json_copy
from gitward.model.errors import ConfigError

TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id"
INSTANCE_LABEL = "app.kubernetes.io/instance"

Obj = dict[str, Any]


class TrackingMethod(StrEnum):
    ANNOTATION = "annotation"
    LABEL = "label"
    ANNOTATION_AND_LABEL = "annotation+label"

    @classmethod
    def parse(cls, value: str | None) -> TrackingMethod:
        if not value:
            return cls.ANNOTATION
        try:
            return cls(value.strip())
        except ValueError:
            raise ConfigError(
                f"argocd-cm application.resourceTrackingMethod: unknown method {value!r} "
                "(annotation, label or annotation+label)"
            ) from None


@dataclass(frozen=True, order=True)
class ResourceKey:
    """Identity of one resource: group, kind, namespace, name."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Obj) -> ResourceKey:
        api_version = str(obj.get("apiVersion", ""))
        meta = obj.get("metadata") or {}
        return cls(
            api_version.rpartition("/")[0],
            str(obj.get("kind", "")),
            str(meta.get("namespace") or ""),
            str(meta.get("name", "")),
        )

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.group or 'core'}/{self.kind} {ns}{self.name}"


def tracking_id(app_name: str, key: ResourceKey) -> str:
    return f"{app_name}:{key.group}/{key.kind}:{key.namespace}/{key.name}"


def parse_tracking_id(value: str) -> tuple[str, ResourceKey] | None:
    """(app name, resource key) from an annotation value, or None if malformed."""
    try:
        app, group_kind, ns_name = value.split(":", 2)
        group, kind = group_kind.split("/", 1)
        namespace, name = ns_name.split("/", 1)
    except ValueError:
        return None
    return app, ResourceKey(group, kind, namespace, name)


def with_tracking(obj: Obj, app_name: str, method: TrackingMethod) -> Obj:
    """A copy of ``obj`` that carries ``app_name``'s tracking metadata."""
    out = json_copy(obj)
    meta = out.setdefault("metadata", {})
    if method in (TrackingMethod.ANNOTATION, TrackingMethod.ANNOTATION_AND_LABEL):
        annotations = dict(meta.get("annotations") or {})
        annotations[TRACKING_ANNOTATION] = tracking_id(app_name, ResourceKey.of(out))
        meta["annotations"] = annotations
    if method in (TrackingMethod.LABEL, TrackingMethod.ANNOTATION_AND_LABEL):
        labels = dict(meta.get("labels") or {})
        labels[INSTANCE_LABEL] = app_name
        meta["labels"] = labels
    return out


def owner_app(obj: Obj, method: TrackingMethod) -> str | None:
    """The app that tracks ``obj``, or None.

    With an annotation method the annotation must also name this very object,
    so copies of a tracked object are not claimed.
    """
    meta = obj.get("metadata") or {}
    if method is TrackingMethod.LABEL:
        value = (meta.get("labels") or {}).get(INSTANCE_LABEL)
        return str(value) if value else None
    raw = (meta.get("annotations") or {}).get(TRACKING_ANNOTATION)
    if not raw:
        return None
    parsed = parse_tracking_id(str(raw))
    if parsed is None:
        return None
    app, key = parsed
    actual = ResourceKey.of(obj)
    if (key.group, key.kind, key.name) != (actual.group, actual.kind, actual.name):
        return None
    if key.namespace != actual.namespace:
        return None
    return app
