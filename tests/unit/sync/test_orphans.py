"""Which live objects count as orphaned: top-level, untracked, not exempt, not ignored."""

from __future__ import annotations

from typing import Any

from gitward.appstate.orphans import _ignored, orphaned_condition, untracked_top_level
from gitward.model.project import OrphanedIgnore
from gitward.model.tracking import ResourceKey


def obj(kind: str, name: str, api: str = "v1", ns: str = "team", **meta: Any) -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns, **meta}}


def test_only_untracked_top_level_objects_that_kubernetes_did_not_make() -> None:
    found = untracked_top_level(
        [
            obj("ConfigMap", "stray"),
            obj("ConfigMap", "mine", annotations={"argocd.argoproj.io/tracking-id": "a:/x"}),
            obj("ConfigMap", "labelled", labels={"app.kubernetes.io/instance": "a"}),
            obj("Pod", "web-1", ownerReferences=[{"kind": "ReplicaSet", "name": "web"}]),
            obj("ServiceAccount", "default"),
            obj("ConfigMap", "kube-root-ca.crt"),
            obj("Service", "kubernetes", ns="default"),
            obj("Service", "kubernetes"),  # only the default namespace's is Kubernetes' own
            obj("Deployment", "manual", "apps/v1"),
        ]
    )
    assert found == sorted(
        [
            ResourceKey("", "ConfigMap", "team", "stray"),
            ResourceKey("", "Service", "team", "kubernetes"),
            ResourceKey("apps", "Deployment", "team", "manual"),
        ]
    )


def test_ignore_entries_are_globs_and_empty_fields_match_anything() -> None:
    key = ResourceKey("apps", "Deployment", "team", "debug-1")
    assert _ignored(key, (OrphanedIgnore(kind="Deployment", name="debug-*"),))
    assert _ignored(key, (OrphanedIgnore(group="apps"),))
    assert not _ignored(key, (OrphanedIgnore(kind="ConfigMap"),))
    assert not _ignored(key, ())


def test_the_warning_names_the_first_orphans() -> None:
    keys = [ResourceKey("", "ConfigMap", "team", f"c{i}") for i in range(7)]
    message = orphaned_condition(keys)["message"]
    assert message.startswith("Application has 7 orphaned resources (ConfigMap/c0")
    assert message.endswith("and 2 more)")
