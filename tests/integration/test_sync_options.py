"""FailOnSharedResource and RespectIgnoreDifferences, checked from the API server's objects."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from gitward.cluster import KubeClient, NotFound
from gitward.localkube import LocalCluster
from gitward.model.tracking import TRACKING_ANNOTATION
from tests.support.apps import configmap, create_app, ok_json, unique, yaml_docs
from tests.support.brief import gitward
from tests.support.git import GitRepo

API = "argoproj.io/v1alpha1"
CREATE_NAMESPACE = ("--sync-option", "CreateNamespace=true")


async def test_fail_on_shared_resource_applies_nothing_and_names_both_apps(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    first, second, ns = unique("owner"), unique("taker"), unique("shared")
    repo = git_repo("shared")
    repo.commit(
        {
            "a/cms.yaml": yaml_docs(configmap("shared")),
            "b/cms.yaml": yaml_docs(configmap("shared"), configmap("only-b")),
        }
    )
    create_app(cluster.kubeconfig, first, repo, "a", ns, *CREATE_NAMESPACE)
    assert gitward(cluster.kubeconfig, "app", "sync", first).returncode == 0
    create_app(
        cluster.kubeconfig, second, repo, "b", ns, "--sync-option", "FailOnSharedResource=true"
    )

    synced = gitward(cluster.kubeconfig, "app", "sync", second, "-o", "json")
    assert synced.returncode == 1, synced.stdout + synced.stderr
    result = json.loads(synced.stdout)
    assert result["phase"] == "Failed"
    assert result["message"] == (
        f"Shared resource found: ConfigMap/shared is part of applications {second} and {first}"
    )
    with pytest.raises(NotFound):
        await kube.get("v1", "ConfigMap", "only-b", ns)  # nothing of the sync was applied
    shared = await kube.get("v1", "ConfigMap", "shared", ns)
    assert shared["metadata"]["annotations"][TRACKING_ANNOTATION].startswith(f"{first}:")
    app = await kube.get(API, "Application", second, "argocd")
    assert app["status"]["operationState"]["phase"] == "Failed"
    assert "operation" not in app  # the lock is released

    # Without the option the same sync takes the object over, as Argo CD does.
    await kube.patch(API, "Application", second, "argocd", {"spec": {"syncPolicy": None}})
    assert gitward(cluster.kubeconfig, "app", "sync", second).returncode == 0
    shared = await kube.get("v1", "ConfigMap", "shared", ns)
    assert shared["metadata"]["annotations"][TRACKING_ANNOTATION].startswith(f"{second}:")


async def test_respect_ignore_differences_keeps_live_values_of_ignored_fields(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("respect"), unique("respect")
    repo = git_repo("respect")

    def cms(version: str) -> str:
        kept = configmap("kept")
        kept["data"] = {"tuned": "from-git", "version": version}
        plain = configmap("plain")
        plain["data"] = {"tuned": "from-git", "version": version}
        return yaml_docs(kept, plain)

    repo.commit({"app/cms.yaml": cms("1")})
    create_app(
        cluster.kubeconfig,
        name,
        repo,
        "app",
        ns,
        *CREATE_NAMESPACE,
        "--sync-option",
        "RespectIgnoreDifferences=true",
    )
    rules = [
        {"group": "", "kind": "ConfigMap", "name": "kept", "jsonPointers": ["/data/tuned"]},
        {"group": "", "kind": "ConfigMap", "name": "plain", "jqPathExpressions": [".data.tuned"]},
    ]
    await kube.patch(API, "Application", name, "argocd", {"spec": {"ignoreDifferences": rules}})
    # The first sync creates both: with nothing live, Git's values are applied.
    assert gitward(cluster.kubeconfig, "app", "sync", name).returncode == 0
    for cm in ("kept", "plain"):
        assert (await kube.get("v1", "ConfigMap", cm, ns))["data"]["tuned"] == "from-git"

    # Someone tunes both by hand; Git changes another field of both.
    for cm in ("kept", "plain"):
        await kube.patch("v1", "ConfigMap", cm, ns, {"data": {"tuned": "by-hand"}})
    repo.commit({"app/cms.yaml": cms("2")})
    result = ok_json(gitward(cluster.kubeconfig, "app", "sync", name, "-o", "json"))
    assert result["phase"] == "Succeeded"
    for cm in ("kept", "plain"):
        live = await kube.get("v1", "ConfigMap", cm, ns)
        assert live["data"] == {"tuned": "by-hand", "version": "2"}, cm

    # The option off: the sync sets Git's value again (ignoreDifferences only hides it).
    await kube.patch(
        API,
        "Application",
        name,
        "argocd",
        {"spec": {"syncPolicy": {"syncOptions": ["CreateNamespace=true"]}}},
    )
    assert gitward(cluster.kubeconfig, "app", "sync", name).returncode == 0
    assert (await kube.get("v1", "ConfigMap", "kept", ns))["data"]["tuned"] == "from-git"


def test_a_sync_request_cannot_turn_respect_ignore_differences_on(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    name, ns = unique("request"), unique("request")
    repo = git_repo("request")
    repo.commit({"app/cms.yaml": yaml_docs(configmap("one"))})
    create_app(cluster.kubeconfig, name, repo, "app", ns, *CREATE_NAMESPACE)
    synced = gitward(
        cluster.kubeconfig, "app", "sync", name, "--sync-option", "RespectIgnoreDifferences=true"
    )
    assert synced.returncode == 1
    assert "set it in spec.syncPolicy.syncOptions" in synced.stdout + synced.stderr
