"""Sync, prune, waves, hooks, history and rollback — checked from the cluster's own records."""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import sys
from collections.abc import Callable

import pytest

from gitward.cluster import KubeClient, NotFound
from gitward.localkube import LocalCluster
from tests.support.apps import (
    HOOK,
    OPTIONS,
    WAVE,
    configmap,
    create_app,
    ok_json,
    unique,
    yaml_docs,
)
from tests.support.brief import brief_repo, gitward
from tests.support.git import GitRepo
from tests.support.poll import eventually

#: Most tests let the sync create their destination namespace.
CREATE_NAMESPACE = ("--sync-option", "CreateNamespace=true")


async def test_brief_workflow_sync_change_history_rollback(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("brief"), unique("myapp")
    repo = git_repo("brief")
    app_file = brief_repo(repo, name, ns)
    first = repo.head()
    assert gitward(cluster.kubeconfig, "app", "create", "-f", str(app_file)).returncode == 0
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "Succeeded" in synced.stdout
    waited = gitward(cluster.kubeconfig, "app", "wait", name, "--timeout", "120")
    assert waited.returncode == 0, waited.stdout + waited.stderr
    # wait only reads; without a controller, get --refresh stores the new health.
    app = ok_json(gitward(cluster.kubeconfig, "app", "get", name, "--refresh", "-o", "json"))
    assert (app["status"]["sync"]["status"], app["status"]["health"]["status"]) == (
        "Synced",
        "Healthy",
    )

    deployment = (repo.path / "dev" / "deployment.yaml").read_text()
    repo.commit({"dev/deployment.yaml": deployment.replace("myapp:1.0.0", "myapp:1.1.0")}, "bump")
    second = repo.head()
    diff = gitward(cluster.kubeconfig, "app", "diff", name)
    assert diff.returncode == 1
    assert "image: registry.example.com/myapp:1.1.0" in diff.stdout
    assert gitward(cluster.kubeconfig, "app", "sync", name).returncode == 0
    live = await kube.get("apps/v1", "Deployment", "myapp", ns)
    assert live["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.1.0")

    history = ok_json(gitward(cluster.kubeconfig, "app", "history", name, "-o", "json"))
    assert [(h["id"], h["revision"]) for h in history] == [(0, first), (1, second)]
    assert all(h["deployedAt"] for h in history)

    rolled = gitward(cluster.kubeconfig, "app", "rollback", name, "0")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert "automated sync is disabled" in rolled.stderr
    live = await kube.get("apps/v1", "Deployment", "myapp", ns)
    assert live["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.0.0")
    app = await kube.get("argoproj.io/v1alpha1", "Application", name, "argocd")
    assert "automated" not in (app["spec"].get("syncPolicy") or {})
    assert "operation" not in app  # the lock is released
    events = await kube.list("v1", "Event", "argocd", field_selector=f"involvedObject.name={name}")
    reasons = [e["reason"] for e in events]
    assert reasons.count("OperationStarted") == 3  # sync, sync, rollback
    assert reasons.count("OperationCompleted") == 3
    assert all(e["type"] == "Normal" for e in events)


async def test_prune_only_with_prune_and_prune_false_and_prune_last(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("prune"), unique("prune")
    repo = git_repo("prune")
    keep = configmap("keep", {OPTIONS: "Prune=false"})
    last = configmap("last", {OPTIONS: "PruneLast=true"})
    repo.commit({"app/cms.yaml": yaml_docs(configmap("stays"), configmap("goes"), keep, last)})
    create_app(cluster.kubeconfig, name, repo, "app", ns, *CREATE_NAMESPACE)
    assert gitward(cluster.kubeconfig, "app", "sync", name).returncode == 0

    repo.commit({"app/cms.yaml": yaml_docs(configmap("stays"), configmap("new"))})
    without = gitward(cluster.kubeconfig, "app", "sync", name)
    assert without.returncode == 0, without.stdout + without.stderr
    for cm in ("goes", "keep", "last", "new"):
        await kube.get("v1", "ConfigMap", cm, ns)  # nothing was pruned without --prune
    result = ok_json(gitward(cluster.kubeconfig, "app", "sync", name, "--prune", "-o", "json"))
    assert result["phase"] == "Succeeded"
    for gone in ("goes", "last"):
        with pytest.raises(NotFound):
            await kube.get("v1", "ConfigMap", gone, ns)
    await kube.get("v1", "ConfigMap", "keep", ns)
    order = [(r["name"], r["status"]) for r in result["resources"]]
    assert ("keep", "PruneSkipped") in order
    assert order[-1] == ("last", "Pruned")  # PruneLast: after everything else


async def test_waves_and_hooks_run_in_order(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("waves"), unique("waves")
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "migrate",
            "annotations": {
                "argocd.argoproj.io/hook": "PreSync",
                "argocd.argoproj.io/hook-delete-policy": "HookSucceeded",
            },
        },
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "m", "image": "busybox:1.36", "args": ["true"]}],
                }
            }
        },
    }
    smoke = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": "smoke-", "annotations": {HOOK: "PostSync"}},
        "spec": job["spec"],
    }
    docs = [
        smoke,
        configmap("post", {HOOK: "PostSync"}),
        configmap("w2", {WAVE: "2"}),
        configmap("w0"),
        configmap("pre", {HOOK: "PreSync"}),
        configmap("w-1", {WAVE: "-1"}),
        job,
    ]
    repo = git_repo("waves")
    repo.commit({"app/all.yaml": yaml_docs(*docs)})
    create_app(cluster.kubeconfig, name, repo, "app", ns, *CREATE_NAMESPACE)
    result = ok_json(gitward(cluster.kubeconfig, "app", "sync", name, "-o", "json"))
    assert result["phase"] == "Succeeded", result

    async def created_rv(cm: str) -> int:
        obj = await kube.get("v1", "ConfigMap", cm, ns)
        return int(obj["metadata"]["resourceVersion"])

    # etcd revisions increase with every write: creation order, from the cluster itself.
    revisions = {cm: await created_rv(cm) for cm in ("post", "w2", "w0", "pre", "w-1")}
    assert sorted(revisions, key=revisions.__getitem__) == ["pre", "w-1", "w0", "w2", "post"]
    # HookSucceeded: the Job ran to completion and was deleted.
    job_result = next(r for r in result["resources"] if r["kind"] == "Job")
    assert job_result["hookPhase"] == "Succeeded"

    async def job_gone() -> bool:
        try:
            await kube.get("batch/v1", "Job", "migrate", ns)
        except NotFound:
            return True
        return False

    await eventually(job_gone, "the PreSync Job to be deleted after it succeeded")
    # A generateName hook gets a fresh name from the server and is waited on by it.
    smoke_results = [r for r in result["resources"] if r["name"].startswith("smoke-")]
    assert [r["hookPhase"] for r in smoke_results] == ["Succeeded"]
    jobs = await kube.list("batch/v1", "Job", ns)
    assert [j["metadata"]["name"] for j in jobs] == [smoke_results[0]["name"]]


async def test_failing_presync_hook_stops_the_sync_and_runs_syncfail(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("hookfail"), unique("hookfail")
    bad_hook = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bad", "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
        "spec": {"containers": [{"name": "c", "image": "busybox", "bogusField": 1}]},
    }
    docs = [bad_hook, configmap("app-config"), configmap("on-fail", {HOOK: "SyncFail"})]
    repo = git_repo("hookfail")
    repo.commit({"app/all.yaml": yaml_docs(*docs)})
    create_app(cluster.kubeconfig, name, repo, "app", ns, *CREATE_NAMESPACE)
    synced = gitward(cluster.kubeconfig, "app", "sync", name, "-o", "json")
    assert synced.returncode == 1
    result = json.loads(synced.stdout)
    assert result["phase"] == "Failed"
    assert "bogusField" in result["message"]  # the API server's own message
    with pytest.raises(NotFound):
        await kube.get("v1", "ConfigMap", "app-config", ns)  # the Sync phase never ran
    await kube.get("v1", "ConfigMap", "on-fail", ns)  # SyncFail hook ran


async def test_rejected_manifest_fails_that_resource_only(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("reject"), unique("reject")
    bad = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "bad"},
        "spec": {"ports": [{"port": 99999}]},
    }
    repo = git_repo("reject")
    repo.commit({"app/all.yaml": yaml_docs(configmap("fine"), bad)})
    create_app(cluster.kubeconfig, name, repo, "app", ns, *CREATE_NAMESPACE)
    synced = gitward(cluster.kubeconfig, "app", "sync", name, "-o", "json")
    assert synced.returncode == 1
    result = json.loads(synced.stdout)
    by_name = {r["name"]: r for r in result["resources"]}
    assert by_name["fine"]["status"] == "Synced"
    assert by_name["bad"]["status"] == "SyncFailed"
    assert "spec.ports[0].port" in by_name["bad"]["message"]
    await kube.get("v1", "ConfigMap", "fine", ns)


async def test_dry_run_changes_nothing_and_empty_render_never_prunes(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("dry"), unique("dry")
    repo = git_repo("dry")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("one"))})
    create_app(cluster.kubeconfig, name, repo, "app", ns, *CREATE_NAMESPACE)
    dry = gitward(cluster.kubeconfig, "app", "sync", name, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    with pytest.raises(NotFound):
        await kube.get("v1", "ConfigMap", "one", ns)
    assert gitward(cluster.kubeconfig, "app", "sync", name).returncode == 0
    repo.commit({"app/cm.yaml": None, "app/README.md": "nothing here"})
    result = ok_json(gitward(cluster.kubeconfig, "app", "sync", name, "--prune", "-o", "json"))
    skipped = [r for r in result["resources"] if r["name"] == "one"]
    assert skipped[0]["status"] == "PruneSkipped"
    assert "render is empty" in skipped[0]["message"]
    await kube.get("v1", "ConfigMap", "one", ns)


async def test_apply_out_of_sync_only_sends_no_apply_for_unchanged(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("oos"), unique("oos")
    repo = git_repo("oos")
    repo.commit({"app/cms.yaml": yaml_docs(*(configmap(f"c{i}") for i in range(20)))})
    create_app(cluster.kubeconfig, name, repo, "app", ns, *CREATE_NAMESPACE)
    assert gitward(cluster.kubeconfig, "app", "sync", name).returncode == 0
    before = {
        cm["metadata"]["name"]: cm["metadata"]["resourceVersion"]
        for cm in await kube.list("v1", "ConfigMap", ns)
    }
    result = ok_json(
        gitward(cluster.kubeconfig, "app", "sync", name, "--apply-out-of-sync-only", "-o", "json")
    )
    assert {r["message"] for r in result["resources"]} == {"unchanged (ApplyOutOfSyncOnly)"}
    after = {
        cm["metadata"]["name"]: cm["metadata"]["resourceVersion"]
        for cm in await kube.list("v1", "ConfigMap", ns)
    }
    assert before == after


async def test_set_and_delete_with_and_without_cascade(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("del"), unique("del")
    repo = git_repo("del")
    repo.commit(
        {"app/cms.yaml": yaml_docs(configmap("a"), configmap("kept", {OPTIONS: "Delete=false"}))}
    )
    create_app(cluster.kubeconfig, name, repo, "app", ns, *CREATE_NAMESPACE)
    assert gitward(cluster.kubeconfig, "app", "sync", name).returncode == 0

    changed = gitward(
        cluster.kubeconfig,
        "app",
        "set",
        name,
        "--sync-policy",
        "automated",
        "--self-heal",
        "--revision",
        "main",
    )
    assert changed.returncode == 0, changed.stderr
    app = await kube.get("argoproj.io/v1alpha1", "Application", name, "argocd")
    assert app["spec"]["syncPolicy"]["automated"] == {"selfHeal": True}
    assert app["spec"]["source"]["targetRevision"] == "main"
    assert "CreateNamespace=true" in app["spec"]["syncPolicy"]["syncOptions"]
    bad = gitward(cluster.kubeconfig, "app", "set", name, "--sync-policy", "sometimes")
    assert bad.returncode != 0
    assert "--sync-policy: unknown policy 'sometimes'" in bad.stderr

    deleted = gitward(cluster.kubeconfig, "app", "delete", name)
    assert deleted.returncode == 0, deleted.stderr
    with pytest.raises(NotFound):
        await kube.get("v1", "ConfigMap", "a", ns)
    await kube.get("v1", "ConfigMap", "kept", ns)  # Delete=false
    with pytest.raises(NotFound):
        await kube.get("argoproj.io/v1alpha1", "Application", name, "argocd")

    orphan = unique("orphan")
    create_app(cluster.kubeconfig, orphan, repo, "app", ns, *CREATE_NAMESPACE)
    assert gitward(cluster.kubeconfig, "app", "sync", orphan).returncode == 0
    assert gitward(cluster.kubeconfig, "app", "delete", orphan, "--no-cascade").returncode == 0
    await kube.get("v1", "ConfigMap", "a", ns)  # orphaned, still running


async def test_failed_sync_is_retried_with_backoff(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("retry"), unique("retry")
    repo = git_repo("retry")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("one"))})
    create_app(cluster.kubeconfig, name, repo, "app", ns)
    # The namespace does not exist yet, so the first attempt fails.
    command = [
        sys.executable,
        "-m",
        "gitward.cli",
        "--kubeconfig",
        str(cluster.kubeconfig),
        "app",
        "sync",
        name,
        "--retry-limit",
        "3",
        "--retry-backoff-duration",
        "2s",
    ]
    proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once; the test polls meanwhile
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:

        async def first_attempt_failed() -> bool:
            # As Argo CD records it: still Running, the failed attempt finished, retry 1 due.
            app = await kube.get("argoproj.io/v1alpha1", "Application", name, "argocd")
            state = (app.get("status") or {}).get("operationState") or {}
            return (
                state.get("phase") == "Running"
                and bool(state.get("finishedAt"))
                and bool(state.get("nextRetryAt"))
                and state.get("retryCount") == 1
            )

        await eventually(first_attempt_failed, "the first sync attempt to fail")
        await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        stdout, stderr = await asyncio.to_thread(proc.communicate, timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stdout + stderr
    assert "retry 1/3 in 2 s" in stderr
    app = await kube.get("argoproj.io/v1alpha1", "Application", name, "argocd")
    assert app["status"]["operationState"]["phase"] == "Succeeded"
    assert app["status"]["operationState"]["retryCount"] >= 1
    await kube.get("v1", "ConfigMap", "one", ns)


def test_retries_stop_at_the_limit(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    name = unique("giveup")
    repo = git_repo("giveup")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("one"))})
    create_app(cluster.kubeconfig, name, repo, "app", unique("never-created"))
    result = gitward(
        cluster.kubeconfig,
        "app",
        "sync",
        name,
        "--retry-limit",
        "1",
        "--retry-backoff-duration",
        "1s",
        "-o",
        "json",
    )
    assert result.returncode == 1
    assert json.loads(result.stdout)["phase"] == "Failed"
    assert result.stderr.count("retry 1/1") == 1


async def test_client_side_apply_when_server_side_apply_is_off(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("csa"), unique("csa")
    labelled = configmap("cfg")
    labelled["metadata"]["labels"] = {"team": "a", "tier": "web"}
    repo = git_repo("csa")
    repo.commit({"app/cm.yaml": yaml_docs(labelled)})
    create_app(
        cluster.kubeconfig,
        name,
        repo,
        "app",
        ns,
        *CREATE_NAMESPACE,
        "--sync-option",
        "ServerSideApply=false",
    )
    assert gitward(cluster.kubeconfig, "app", "sync", name).returncode == 0
    live = await kube.get("v1", "ConfigMap", "cfg", ns)
    assert "kubectl.kubernetes.io/last-applied-configuration" in live["metadata"]["annotations"]
    assert not any(m["operation"] == "Apply" for m in live["metadata"]["managedFields"])
    assert gitward(cluster.kubeconfig, "app", "diff", name).returncode == 0

    # Dropping a label from Git is drift the compare sees, through last-applied.
    dropped = copy.deepcopy(labelled)
    dropped["metadata"]["labels"].pop("tier")
    repo.commit({"app/cm.yaml": yaml_docs(dropped)})
    diff = gitward(cluster.kubeconfig, "app", "diff", name)
    assert diff.returncode == 1, diff.stdout + diff.stderr
    assert "metadata.labels.tier" in diff.stdout

    labelled["metadata"]["labels"] = {"team": "b"}
    repo.commit({"app/cm.yaml": yaml_docs(labelled)})
    assert gitward(cluster.kubeconfig, "app", "sync", name).returncode == 0
    live = await kube.get("v1", "ConfigMap", "cfg", ns)
    assert live["metadata"]["labels"] == {"team": "b"}  # tier removed, team changed


async def test_delete_keeps_another_controllers_finalizer_and_wait_only_reads(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("keep"), unique("keep")
    api = "argoproj.io/v1alpha1"
    repo = git_repo("keep")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("mine"))})
    create_app(cluster.kubeconfig, name, repo, "app", ns, *CREATE_NAMESPACE)
    assert gitward(cluster.kubeconfig, "app", "sync", name).returncode == 0

    # wait compares in memory: the Application is not written while it waits.
    before = (await kube.get(api, "Application", name, "argocd"))["metadata"]["resourceVersion"]
    waited = gitward(cluster.kubeconfig, "app", "wait", name, "--timeout", "60")
    assert waited.returncode == 0, waited.stdout + waited.stderr
    after = (await kube.get(api, "Application", name, "argocd"))["metadata"]["resourceVersion"]
    assert after == before

    foreign = "example.com/audit-before-delete"
    await kube.patch(
        api,
        "Application",
        name,
        "argocd",
        {"metadata": {"finalizers": ["resources-finalizer.argocd.argoproj.io", foreign]}},
    )
    deleted = gitward(cluster.kubeconfig, "app", "delete", name)
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    with pytest.raises(NotFound):
        await kube.get("v1", "ConfigMap", "mine", ns)
    # Terminating, held by the other controller's finalizer alone.
    app = await kube.get(api, "Application", name, "argocd")
    assert app["metadata"]["finalizers"] == [foreign]
    assert app["metadata"].get("deletionTimestamp")
    await kube.patch(api, "Application", name, "argocd", {"metadata": {"finalizers": None}})
    await kube.delete("v1", "Namespace", ns, None)
