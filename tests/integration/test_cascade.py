"""Cascading deletion through the resources finalizer, as the controller performs it.

Each test deletes a real Application that carries the finalizer, so the API
server keeps it with ``deletionTimestamp``; the test then plays the
controller, calling ``finalize`` until it reports done, and checks the cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gitward.appstate.comparison import ResourceState
from gitward.cluster import KubeClient, NotFound
from gitward.localkube import LocalCluster
from gitward.model.status import SyncStatus
from gitward.model.tracking import ResourceKey
from gitward.services import refresher_for
from gitward.sync.cascade import (
    BACKGROUND_FINALIZER,
    RESOURCES_FINALIZER,
    DeletionError,
    delete_app_resources,
    finalize,
)
from tests.support.apps import OPTIONS, configmap, unique, yaml_docs
from tests.support.brief import gitward
from tests.support.git import GitRepo
from tests.support.poll import eventually

API = "argoproj.io/v1alpha1"
HOLD = "example.com/test-hold"  # another controller's finalizer: must survive


def application(
    name: str, repo_url: str, path: str, ns: str, finalizers: list[str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "argocd"}
    if finalizers:
        meta["finalizers"] = finalizers
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
        },
    }


async def _exists(kube: KubeClient, api_version: str, kind: str, name: str, ns: str) -> bool:
    try:
        await kube.get(api_version, kind, name, ns)
    except NotFound:
        return False
    return True


async def _app(kube: KubeClient, name: str) -> dict[str, Any] | None:
    try:
        return await kube.get(API, "Application", name, "argocd")
    except NotFound:
        return None


def _sync(cluster: LocalCluster, name: str) -> None:
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr


async def _set_finalizers(kube: KubeClient, name: str, finalizers: list[str]) -> None:
    await kube.patch(API, "Application", name, "argocd", {"metadata": {"finalizers": finalizers}})


async def test_app_of_apps_cascades_through_the_child_and_keeps_delete_false(
    installed: KubeClient,
    cluster: LocalCluster,
    namespace: str,
    git_repo: Callable[[str], GitRepo],
) -> None:
    kube, ns = installed, namespace
    parent, child = unique("parent"), unique("child")
    repo = git_repo("apps")
    child_app = application(child, repo.url, "child", ns, [RESOURCES_FINALIZER, HOLD])
    repo.commit(
        {
            "parent/cms.yaml": yaml_docs(
                configmap("a"), configmap("kept", {OPTIONS: "Delete=false"}), child_app
            ),
            "child/cms.yaml": yaml_docs(configmap("child-cm")),
        }
    )
    await kube.create(application(parent, repo.url, "parent", ns))
    _sync(cluster, parent)  # creates a, kept and the child Application
    _sync(cluster, child)  # creates child-cm
    assert await _exists(kube, "v1", "ConfigMap", "child-cm", ns)

    await _set_finalizers(kube, parent, [RESOURCES_FINALIZER, HOLD])
    await kube.delete(API, "Application", parent, "argocd")
    parent_obj = await _app(kube, parent)
    assert parent_obj is not None
    assert parent_obj["metadata"].get("deletionTimestamp")

    refresher = await refresher_for(kube, "argocd")

    async def step(name: str) -> bool | None:
        """One controller pass over ``name``; None once it is gone."""
        obj = await _app(kube, name)
        if obj is None:
            return None
        if not obj["metadata"].get("deletionTimestamp"):
            return False
        return await finalize(kube, obj, refresher.compare)

    # The parent deletes its resources, the child Application among them; the child
    # is held by its own finalizers, and the parent waits for it.
    assert await step(parent) is False

    async def a_gone() -> bool:
        return not await _exists(kube, "v1", "ConfigMap", "a", ns)

    await eventually(a_gone, "the parent's ConfigMap to be deleted")

    async def child_finalized() -> bool:
        await step(child)
        obj = await _app(kube, child)
        return obj is not None and RESOURCES_FINALIZER not in obj["metadata"]["finalizers"]

    await eventually(child_finalized, "the child app to delete its resources")
    assert not await _exists(kube, "v1", "ConfigMap", "child-cm", ns)
    assert await step(parent) is False  # the child is still terminating (HOLD)
    child_obj = await _app(kube, child)
    assert child_obj is not None
    assert HOLD in child_obj["metadata"]["finalizers"]

    # Another controller lets the child go; then the parent finishes.
    kept = [f for f in child_obj["metadata"]["finalizers"] if f != HOLD]
    await _set_finalizers(kube, child, kept)

    async def parent_finalized() -> bool:
        return await step(parent) is True

    await eventually(parent_finalized, "the parent's finalizer to be removed")
    parent_obj = await _app(kube, parent)
    assert parent_obj is not None
    assert parent_obj["metadata"]["finalizers"] == [HOLD]
    await _set_finalizers(kube, parent, [])

    async def both_gone() -> bool:
        return await _app(kube, parent) is None and await _app(kube, child) is None

    await eventually(both_gone, "both Applications to disappear")
    assert await _exists(kube, "v1", "ConfigMap", "kept", ns)  # Delete=false


async def test_a_source_gone_from_git_still_cascades_over_what_the_app_recorded(
    installed: KubeClient,
    cluster: LocalCluster,
    namespace: str,
    git_repo: Callable[[str], GitRepo],
) -> None:
    """Git is not needed to delete: the app's recorded resources that still carry its
    tracking id go (Argo CD deletes by tracking too); a recorded object that no longer
    carries it — another app took it over — stays."""
    kube, ns = installed, namespace
    name = unique("gone-src")
    repo = git_repo("gone-src")
    repo.commit({"app/cms.yaml": yaml_docs(configmap("mine"), configmap("taken"))})
    await kube.create(application(name, repo.url, "app", ns))
    _sync(cluster, name)
    taken = await kube.get("v1", "ConfigMap", "taken", ns)
    taken["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] = (
        f"other:/ConfigMap:{ns}/taken"
    )
    await kube.replace(taken)
    gone_repo = repo.path.parent / "no-such-repo"
    await kube.patch(
        API,
        "Application",
        name,
        "argocd",
        {
            "metadata": {"finalizers": [BACKGROUND_FINALIZER]},
            "spec": {"source": {"repoURL": gone_repo.as_uri()}},
        },
    )
    refresher = await refresher_for(kube, "argocd")
    obj = await _app(kube, name)
    assert obj is not None
    await refresher.refresh(obj)  # the failed refresh empties status.resources
    await kube.delete(API, "Application", name, "argocd")
    obj = await _app(kube, name)
    assert obj is not None
    assert obj["status"]["resources"] == []

    async def finalized() -> bool:
        current = await _app(kube, name)
        return current is None or await finalize(kube, current, refresher.compare)

    await eventually(finalized, "the cascade over the recorded resources")
    assert not await _exists(kube, "v1", "ConfigMap", "mine", ns)
    assert await _exists(kube, "v1", "ConfigMap", "taken", ns)

    async def gone() -> bool:
        return await _app(kube, name) is None

    await eventually(gone, "the Application to disappear once its resources are gone")


async def test_an_unknown_destination_deletes_nothing_and_keeps_the_finalizer(
    installed: KubeClient,
    cluster: LocalCluster,
    namespace: str,
    git_repo: Callable[[str], GitRepo],
) -> None:
    kube, ns = installed, namespace
    name = unique("broken")
    repo = git_repo("broken")
    repo.commit({"app/cms.yaml": yaml_docs(configmap("stays"))})
    await kube.create(application(name, repo.url, "app", ns))
    _sync(cluster, name)
    await kube.patch(
        API,
        "Application",
        name,
        "argocd",
        {
            "metadata": {"finalizers": [BACKGROUND_FINALIZER]},
            "spec": {"destination": {"server": "https://nowhere.invalid:6443", "namespace": ns}},
        },
    )
    await kube.delete(API, "Application", name, "argocd")
    obj = await _app(kube, name)
    assert obj is not None

    refresher = await refresher_for(kube, "argocd")

    async def destination(app_obj: dict[str, Any]) -> KubeClient:
        return (await refresher.target(app_obj)).client

    with pytest.raises(DeletionError, match="none are deleted") as caught:
        await finalize(kube, obj, refresher.compare, destination=destination)
    assert "nowhere.invalid" in str(caught.value)
    assert caught.value.condition()["type"] == "DeletionError"
    assert await _exists(kube, "v1", "ConfigMap", "stays", ns)
    obj = await _app(kube, name)
    assert obj is not None
    assert obj["metadata"]["finalizers"] == [BACKGROUND_FINALIZER]

    # The documented way out: remove the finalizer by hand; the resources stay.
    await _set_finalizers(kube, name, [])

    async def gone() -> bool:
        return await _app(kube, name) is None

    await eventually(gone, "the Application to disappear once its finalizer is removed")
    assert await _exists(kube, "v1", "ConfigMap", "stays", ns)


async def test_every_failure_is_reported_and_the_rest_still_deleted(
    installed: KubeClient, namespace: str
) -> None:
    kube, ns = installed, namespace
    live = await kube.create(
        {**configmap("doomed"), "metadata": {"name": "doomed", "namespace": ns}}
    )
    live.setdefault("apiVersion", "v1")
    live.setdefault("kind", "ConfigMap")
    real = ResourceState(ResourceKey.of(live), "v1", None, live, SyncStatus.OUT_OF_SYNC, None)
    bogus_obj = {
        "apiVersion": "example.invalid/v1",
        "kind": "Nothing",
        "metadata": {"name": "ghost", "namespace": ns},
    }
    bogus = ResourceState(
        ResourceKey.of(bogus_obj), "example.invalid/v1", None, bogus_obj, SyncStatus.SYNCED, None
    )
    with pytest.raises(DeletionError, match="could not delete 1 resource") as caught:
        await delete_app_resources(kube, [bogus, real], "Background")
    assert len(caught.value.failed) == 1
    assert "example.invalid/Nothing" in caught.value.failed[0]
    assert caught.value.done == [f"deleted {real.key}"]

    async def deleted() -> bool:
        return not await _exists(kube, "v1", "ConfigMap", "doomed", ns)

    await eventually(deleted, "the ConfigMap to be deleted")
