"""The comparison's memory belongs to the Refresher that made it, and is used by it."""

from __future__ import annotations

from collections.abc import Callable

from gitward.cluster import KubeClient
from gitward.localkube import LocalCluster
from gitward.model.status import SyncStatus
from gitward.services import refresher_for
from tests.support.apps import configmap, create_app, deployment, unique, yaml_docs
from tests.support.brief import gitward
from tests.support.git import GitRepo

API = "argoproj.io/v1alpha1"


async def test_a_refresher_remembers_verdicts_and_parses_and_a_new_one_starts_empty(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("memo"), unique("memo")
    web = deployment("web", "registry.example.com/web:1")
    container = web["spec"]["template"]["spec"]["containers"][0]
    container["resources"] = {"limits": {"cpu": "1000m", "memory": "64Mi"}}  # the server says "1"
    repo = git_repo("memo")
    repo.commit({"app/all.yaml": yaml_docs(configmap("one"), configmap("two"), web)})
    create_app(cluster.kubeconfig, name, repo, "app", ns, "--sync-option", "CreateNamespace=true")
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    app_obj = await kube.get(API, "Application", name, "argocd")

    refresher = await refresher_for(kube, "argocd")
    first = await refresher.compare(app_obj)
    assert first.sync_status is SyncStatus.SYNCED
    assert len(refresher.memo.outcomes) == 3  # one verdict per live object
    assert refresher.parsed.parse(app_obj) is refresher.parsed.parse(app_obj)

    before = kube.requests.copy()
    again = await refresher.compare(app_obj)
    assert again.sync_status is SyncStatus.SYNCED
    assert (kube.requests - before)["PATCH"] == 0  # no dry-run: every verdict was remembered
    assert len(refresher.memo.outcomes) == 3

    fresh = await refresher_for(kube, "argocd")
    assert len(fresh.memo.outcomes) == 0  # the memory lives with its owner, not the module
