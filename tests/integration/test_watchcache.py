"""The watch cache against a real API server: one list+watch per kind, then no requests."""

from __future__ import annotations

from collections import Counter
from typing import Any

from gitward.cluster import KubeClient
from gitward.cluster.watchcache import ClusterCache
from gitward.model.tracking import ResourceKey, TrackingMethod, tracking_id
from tests.support.poll import eventually

Obj = dict[str, Any]


def tracked_cm(name: str, ns: str, app: str, value: str = "1") -> Obj:
    key = ResourceKey("", "ConfigMap", ns, name)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": ns,
            "annotations": {"argocd.argoproj.io/tracking-id": tracking_id(app, key)},
        },
        "data": {"k": value},
    }


async def test_reads_come_from_memory_once_the_kind_is_watched(
    kube: KubeClient, namespace: str
) -> None:
    await kube.create(tracked_cm("a", namespace, "cache-app"))
    await kube.create(tracked_cm("b", namespace, "cache-app"))
    await kube.create(tracked_cm("c", namespace, "other-app"))
    cache = ClusterCache(kube, TrackingMethod.ANNOTATION)
    try:
        first = await cache.get("v1", "ConfigMap", "a", namespace)
        assert first is not None
        assert first["data"] == {"k": "1"}
        before = kube.requests.copy()
        for _ in range(50):
            assert await cache.get("v1", "ConfigMap", "b", namespace) is not None
            assert await cache.get("v1", "ConfigMap", "missing", namespace) is None
            tracked = await cache.tracked("cache-app", [("v1", "ConfigMap")])
            assert sorted(o["metadata"]["name"] for o in tracked) == ["a", "b"]
        assert kube.requests - before == Counter(), "a warm cache must not ask the API"
        assert ("v1", "ConfigMap") in cache.kinds

        # An object no app tracks is held as a stub; its body is read when asked for.
        await kube.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "untracked", "namespace": namespace},
                "data": {"k": "v"},
            }
        )

        async def stubbed() -> bool:
            return any(
                key == (namespace, "untracked") for key in cache._kinds[("v1", "ConfigMap")].stubs
            )

        await eventually(stubbed, "the untracked ConfigMap as a stub", timeout=10)
        before = kube.requests.copy()
        body = await cache.get("v1", "ConfigMap", "untracked", namespace)
        assert body is not None
        assert body["data"] == {"k": "v"}
        assert kube.requests - before == Counter({"GET": 1})
    finally:
        await cache.stop()


async def test_changes_by_others_arrive_and_wake_the_owner(
    kube: KubeClient, namespace: str
) -> None:
    woken: list[str] = []
    cache = ClusterCache(kube, TrackingMethod.ANNOTATION, woken.append)
    try:
        assert await cache.tracked("watch-app", [("v1", "ConfigMap")]) == []
        await kube.create(tracked_cm("x", namespace, "watch-app"))

        async def seen() -> Obj | None:
            return await cache.get("v1", "ConfigMap", "x", namespace)

        await eventually(seen, "the created ConfigMap in the cache", timeout=10)
        assert "watch-app" in woken
        edited = await kube.get("v1", "ConfigMap", "x", namespace)
        edited["data"] = {"k": "edited by hand"}
        await kube.replace(edited)

        async def edited_seen() -> bool:
            obj = await cache.get("v1", "ConfigMap", "x", namespace)
            return bool(obj and obj["data"] == {"k": "edited by hand"})

        await eventually(edited_seen, "the hand edit in the cache", timeout=10)
        woken.clear()
        await kube.delete("v1", "ConfigMap", "x", namespace)

        async def gone() -> bool:
            return await cache.get("v1", "ConfigMap", "x", namespace) is None

        await eventually(gone, "the deletion in the cache", timeout=10)
        assert set(woken) == {"watch-app"}  # marked for deletion, then deleted
        assert await cache.tracked("watch-app", [("v1", "ConfigMap")]) == []
    finally:
        await cache.stop()


async def test_a_write_is_visible_before_its_watch_event(kube: KubeClient, namespace: str) -> None:
    cache = ClusterCache(kube, TrackingMethod.ANNOTATION)
    try:
        assert await cache.get("v1", "ConfigMap", "w", namespace) is None
        applied = await kube.apply(tracked_cm("w", namespace, "write-app", "2"), force=True)
        cache.observe(applied)
        found = await cache.get("v1", "ConfigMap", "w", namespace)
        assert found is not None
        assert found["data"] == {"k": "2"}
        # the older state can never come back through a late event
        stale = {**applied, "metadata": {**applied["metadata"], "resourceVersion": "1"}}
        stale["data"] = {"k": "stale"}
        cache.observe(stale)
        found = await cache.get("v1", "ConfigMap", "w", namespace)
        assert found is not None
        assert found["data"] == {"k": "2"}
    finally:
        await cache.stop()


async def test_an_unknown_kind_is_asked_again_later(kube: KubeClient, namespace: str) -> None:
    cache = ClusterCache(kube, TrackingMethod.ANNOTATION)
    try:
        assert await cache.get("example.com/v1", "Widget", "w", namespace) is None
        assert ("example.com/v1", "Widget") not in cache.kinds
        assert await cache.tracked("any", [("example.com/v1", "Widget")]) == []
    finally:
        await cache.stop()
