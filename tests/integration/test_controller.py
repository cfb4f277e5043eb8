"""The controller keeps Applications reconciled: automated sync, self-heal, manual apps."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import pytest

from gitward.cluster import KubeClient
from gitward.controller import Controller
from gitward.localkube import LocalCluster
from tests.support.apps import configmap, unique, yaml_docs
from tests.support.brief import gitward
from tests.support.controller import API, application, configmap_data, running_controller
from tests.support.git import GitRepo
from tests.support.poll import eventually


@pytest.fixture
async def controller(installed: KubeClient) -> AsyncIterator[Controller]:
    """A controller polling every second."""
    async with running_controller(installed, 1.0) as ctl:
        yield ctl


async def test_automated_sync_new_commits_and_self_heal(
    installed: KubeClient, controller: Controller, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("auto"), unique("auto")
    repo = git_repo("auto")
    repo.commit({"app/cms.yaml": yaml_docs(configmap("one"), configmap("two"))})
    await kube.create(application(name, repo, ns, {"prune": True, "selfHeal": True}))

    async def synced_healthy() -> bool:
        app = await kube.get(API, "Application", name, "argocd")
        status = app.get("status") or {}
        return (status.get("sync") or {}).get("status") == "Synced" and (
            status.get("health") or {}
        ).get("status") == "Healthy"

    await eventually(synced_healthy, "the automated app to be Synced and Healthy")

    # A new commit is picked up by polling and synced; a removed resource is pruned.
    changed = configmap("one")
    changed["data"] = {"k": "changed"}
    repo.commit({"app/cms.yaml": yaml_docs(changed)})

    async def deployed() -> bool:
        return (
            await configmap_data(kube, "one", ns) == {"k": "changed"}
            and await configmap_data(kube, "two", ns) is None
        )

    await eventually(deployed, "the new commit to be synced and 'two' pruned")

    # Drift: a tracked object deleted by hand comes back (self-heal).
    await kube.delete("v1", "ConfigMap", "one", ns)

    async def healed() -> bool:
        return await configmap_data(kube, "one", ns) == {"k": "changed"}

    await eventually(healed, "self-heal to re-create the deleted ConfigMap")
    app = await kube.get(API, "Application", name, "argocd")
    history = app["status"]["history"]
    assert history[-1]["initiatedBy"] == {"username": "automated", "automated": True}


async def test_manual_app_shows_drift_and_applies_nothing(
    installed: KubeClient, controller: Controller, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("manual"), unique("manual")
    repo = git_repo("manual")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("one"))})
    await kube.create(application(name, repo, ns, None))

    async def out_of_sync() -> bool:
        app = await kube.get(API, "Application", name, "argocd")
        return ((app.get("status") or {}).get("sync") or {}).get("status") == "OutOfSync"

    await eventually(out_of_sync, "the manual app to be refreshed as OutOfSync")
    before = controller.reconciles
    await eventually(lambda: _more(controller, before + 4), "a few more reconcile passes")
    assert await configmap_data(kube, "one", ns) is None  # nothing was applied
    app = await kube.get(API, "Application", name, "argocd")
    assert "operationState" not in app["status"]


async def _more(controller: Controller, count: int) -> bool:
    return controller.reconciles >= count


async def test_drift_is_healed_from_watch_events_not_polling(
    installed: KubeClient, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("heal"), unique("heal")
    repo = git_repo("heal")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("one"))})
    async with running_controller(kube, 120.0) as ctl:
        await kube.create(application(name, repo, ns, {"selfHeal": True}))
        await eventually(lambda: configmap_data(kube, "one", ns), "the first automated sync")

        async def watching() -> bool:
            return ("v1", "ConfigMap") in ctl.live.kinds

        await eventually(watching, "the controller to watch ConfigMaps")
        edited = await kube.get("v1", "ConfigMap", "one", ns)
        edited["data"] = {"k": "edited by hand"}
        started = time.monotonic()
        await kube.replace(edited)

        async def healed() -> bool:
            return await configmap_data(kube, "one", ns) == {"k": "one"}

        await eventually(healed, "self-heal of a hand edit, long before the 120 s poll", timeout=20)
        print(f"kubectl edit -> healed: {time.monotonic() - started:.2f} s")


async def test_a_steady_state_refresh_asks_the_api_nothing(
    installed: KubeClient, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("steady"), unique("steady")
    repo = git_repo("steady")
    repo.commit({"app/cms.yaml": yaml_docs(configmap("one"), configmap("two"))})
    async with running_controller(kube, 120.0) as ctl:
        await kube.create(application(name, repo, ns, {"prune": True, "selfHeal": True}))

        async def synced() -> bool:
            app = ctl.apps.get(name) or {}
            return ((app.get("status") or {}).get("sync") or {}).get("status") == "Synced"

        await eventually(synced, "the automated app to be Synced")
        # One pass more, so the post-sync state is what the status already says.
        done = ctl.reconciles
        ctl.refresh_now(name)
        await eventually(lambda: _more(ctl, done + 1), "a refresh after the sync")
        before, done = ctl.client.requests.copy(), ctl.reconciles
        for _ in range(5):
            ctl.refresh_now(name)
            await eventually(lambda n=done + 1: _more(ctl, n), "one more refresh")
            done = ctl.reconciles
        sent = {verb: n for verb, n in (ctl.client.requests - before).items() if verb != "WATCH"}
        assert sent == {}, f"steady-state refreshes sent {sent}"
        assert ctl.live.object_count >= 2


async def test_the_refresh_annotation_sees_a_new_commit_at_once(
    installed: KubeClient, git_repo: Callable[[str], GitRepo]
) -> None:
    """Refs are listed about once per cycle; the refresh annotation lists them afresh."""
    kube = installed
    name, ns = unique("annot"), unique("annot")
    repo = git_repo("annot")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("one"))})
    async with running_controller(kube, 120.0) as ctl:
        source = ctl.refresher.manifests.source  # type: ignore[attr-defined]
        assert source.ref_ttl == 120.0
        await kube.create(application(name, repo, ns, {"prune": True}))
        await eventually(lambda: configmap_data(kube, "one", ns), "the first automated sync")
        changed = configmap("one")
        changed["data"] = {"k": "refreshed"}
        repo.commit({"app/cm.yaml": yaml_docs(changed)})
        await kube.patch(
            API,
            "Application",
            name,
            "argocd",
            {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}},
        )

        async def deployed() -> bool:
            return await configmap_data(kube, "one", ns) == {"k": "refreshed"}

        await eventually(deployed, "the new commit after the refresh annotation", timeout=30)
        app = await kube.get(API, "Application", name, "argocd")
        assert "argocd.argoproj.io/refresh" not in (app["metadata"].get("annotations") or {})


async def test_a_held_automated_sync_says_why(
    installed: KubeClient,
    cluster: LocalCluster,
    controller: Controller,
    git_repo: Callable[[str], GitRepo],
) -> None:
    """An empty render and a revision whose sync failed hold the automated sync, and the app's
    conditions (and ``gitward app get``) say so; nothing is pruned or retried meanwhile."""
    kube = installed
    name, ns = unique("held"), unique("held")
    repo = git_repo("held")
    repo.commit({"app/cms.yaml": yaml_docs(configmap("one")), "app/README": "apps"})
    await kube.create(application(name, repo, ns, {"prune": True}))

    async def condition(words: str) -> str | None:
        app = await kube.get(API, "Application", name, "argocd")
        for cond in (app.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "SyncError" and words in cond.get("message", ""):
                return str(cond["message"])
        return None

    await eventually(lambda: configmap_data(kube, "one", ns), "the first sync")
    empty = repo.commit({"app/cms.yaml": None})
    controller.refresh_now(name)
    said = await eventually(lambda: condition("auto-sync will wipe out all resources"), "why")
    assert empty[:7] in said
    assert await configmap_data(kube, "one", ns) == {"k": "one"}, "an empty render pruned"
    shown = gitward(cluster.kubeconfig, "app", "get", name)
    assert "auto-sync will wipe out all resources" in shown.stdout

    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bad"}}
    bad["spec"] = {"ports": [{"port": 99999}]}  # refused by the API server
    broken = repo.commit({"app/cms.yaml": yaml_docs(configmap("one"), bad)})
    controller.refresh_now(name)
    said = await eventually(lambda: condition("Failed last sync attempt"), "why not again")
    assert broken[:7] in said
    assert "99999" in said
    app = await kube.get(API, "Application", name, "argocd")
    assert app["status"]["operationState"]["phase"] == "Failed"
