"""The watch cache's store: versions never go backwards, the owner index follows every event."""

from __future__ import annotations

from typing import Any

from gitward.cluster.watchcache import KindCache
from gitward.model.tracking import ResourceKey, TrackingMethod, tracking_id

Obj = dict[str, Any]


def cm(name: str, version: int, owner: str | None = None, ns: str = "ns") -> Obj:
    meta: Obj = {"name": name, "namespace": ns, "resourceVersion": str(version)}
    if owner:
        key = ResourceKey("", "ConfigMap", ns, name)
        meta["annotations"] = {"argocd.argoproj.io/tracking-id": tracking_id(owner, key)}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def cache() -> KindCache:
    return KindCache("v1", "ConfigMap", TrackingMethod.ANNOTATION)


def test_put_indexes_the_owner_and_reports_it() -> None:
    c = cache()
    assert c.put(cm("a", 1, "app1")) == (None, "app1")
    assert c.by_owner == {"app1": {("ns", "a")}}
    assert c.put(cm("a", 2, "app2")) == ("app1", "app2")  # moved to another app: both hear
    assert c.by_owner == {"app2": {("ns", "a")}}
    assert c.put(cm("a", 3)) == ("app2", None)  # tracking removed by hand
    assert c.by_owner == {}
    assert c.objects[("ns", "a")]["metadata"]["resourceVersion"] == "3"


def test_an_older_event_never_overwrites_a_newer_write() -> None:
    c = cache()
    c.put(cm("a", 10, "app"))
    assert c.put(cm("a", 9, "other")) == (None, None)
    assert c.objects[("ns", "a")]["metadata"]["resourceVersion"] == "10"
    assert c.by_owner == {"app": {("ns", "a")}}
    # nor does the deletion of an older incarnation remove a re-created object
    assert c.remove(cm("a", 8, "app")) is None
    assert ("ns", "a") in c.objects


def test_remove_clears_the_index() -> None:
    c = cache()
    c.put(cm("a", 1, "app"))
    c.put(cm("b", 2, "app"))
    assert c.remove(cm("a", 3, "app")) == "app"
    assert c.by_owner == {"app": {("ns", "b")}}
    assert c.remove(cm("b", 4, "app")) == "app"
    assert c.by_owner == {}
    assert c.objects == {}


def test_replace_all_reports_owners_of_whatever_changed_meanwhile() -> None:
    c = cache()
    c.put(cm("same", 1, "steady"))
    c.put(cm("edited", 2, "edited-app"))
    c.put(cm("deleted", 3, "deleted-app"))
    touched = c.replace_all([cm("same", 1, "steady"), cm("edited", 5, "edited-app"), cm("new", 6)])
    assert touched == {"edited-app", "deleted-app"}
    assert set(c.objects) == {("ns", "same"), ("ns", "edited"), ("ns", "new")}
    assert c.by_owner == {"steady": {("ns", "same")}, "edited-app": {("ns", "edited")}}


def test_objects_without_namespace_are_keyed_by_name() -> None:
    c = KindCache("v1", "Namespace", TrackingMethod.LABEL)
    ns = {
        "metadata": {
            "name": "team",
            "resourceVersion": "4",
            "labels": {"app.kubernetes.io/instance": "infra"},
        }
    }
    assert c.put(ns) == (None, "infra")
    assert c.objects[("", "team")]["kind"] == "Namespace"  # filled in from the watch's kind


def test_untracked_objects_are_kept_as_stubs_until_an_app_tracks_them() -> None:
    c = cache()
    plain = cm("foreign", 3)
    plain["data"] = {"secret-ish": "value"}
    assert c.put(plain) == (None, None)
    assert ("ns", "foreign") in c.stubs
    assert "data" not in c.objects[("ns", "foreign")]
    assert c.objects[("ns", "foreign")]["metadata"]["resourceVersion"] == "3"
    adopted = cm("foreign", 4, "app")
    adopted["data"] = {"k": "v"}
    c.put(adopted)
    assert ("ns", "foreign") not in c.stubs
    assert c.objects[("ns", "foreign")]["data"] == {"k": "v"}
