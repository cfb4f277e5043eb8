"""AppProjects fence applications: repositories, destinations and kinds, checked on a real
cluster with real git — nothing outside the fence is ever applied, pruned or deleted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from gitward.cluster import KubeClient, NotFound
from gitward.localkube import LocalCluster
from gitward.services import Services, build_controller
from tests.support.apps import app_json, configmap, create_app, deployment, unique, yaml_docs
from tests.support.brief import gitward
from tests.support.controller import application, running_controller
from tests.support.git import GitRepo, SmartHttpServer
from tests.support.poll import eventually

Obj = dict[str, Any]
API = "argoproj.io/v1alpha1"
IN_CLUSTER = "https://kubernetes.default.svc"


def project(name: str, repos: list[str], namespace: str) -> Obj:
    """Team-style project: one repository, one namespace, no cluster-scoped kinds."""
    return {
        "apiVersion": API,
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "sourceRepos": repos,
            "destinations": [{"server": IN_CLUSTER, "namespace": namespace}],
        },
    }


def conditions(app: Obj) -> list[str]:
    return [
        f"{c['type']}: {c['message']}" for c in (app.get("status") or {}).get("conditions") or []
    ]


async def absent(kube: KubeClient, api: str, kind: str, name: str, ns: str | None) -> bool:
    try:
        await kube.get(api, kind, name, ns)
    except NotFound:
        return True
    return False


@pytest.fixture
async def team(installed: KubeClient) -> AsyncIterator[tuple[str, str]]:
    """(project name, its one namespace), created for the test and removed after it."""
    name, ns = unique("team"), unique("team-ns")
    await installed.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    yield name, ns
    for kind, api, obj_name, obj_ns in (
        ("AppProject", API, name, "argocd"),
        ("Namespace", "v1", ns, None),
    ):
        with contextlib.suppress(NotFound):
            await installed.delete(api, kind, obj_name, obj_ns)


async def test_forbidden_kinds_and_namespaces_are_refused_by_name_and_the_rest_syncs(
    installed: KubeClient,
    cluster: LocalCluster,
    git_repo: Callable[[str], GitRepo],
    team: tuple[str, str],
) -> None:
    kube = installed
    proj, ns = team
    app, role = unique("fenced"), unique("fenced-role")
    repo = git_repo("fenced")
    cluster_role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": role},
        "rules": [],
    }
    elsewhere = deployment("web", "nginx:1.27", "kube-system")
    repo.commit({"app/all.yaml": yaml_docs(configmap("fine"), cluster_role, elsewhere)})
    await kube.create(project(proj, [repo.url], ns))
    create_app(cluster.kubeconfig, app, repo, "app", ns, "--project", proj)

    found = "\n".join(conditions(app_json(cluster.kubeconfig, app, "--refresh")))
    assert f"ClusterRole/{role}: cluster-scoped kind rbac.authorization.k8s.io/ClusterRole" in found
    assert (
        f"Deployment/web: namespace kube-system is not a permitted destination of project {proj}"
        in found
    )

    synced = gitward(cluster.kubeconfig, "app", "sync", app, "-o", "json")
    assert synced.returncode == 1, synced.stdout + synced.stderr
    result = json.loads(synced.stdout)
    assert result["phase"] == "Failed"
    by_name = {r["name"]: r for r in result["resources"]}
    assert by_name["fine"]["status"] == "Synced"
    assert by_name[role]["status"] == "SyncFailed"
    assert "not permitted in project" in by_name[role]["message"]
    assert by_name["web"]["status"] == "SyncFailed"
    assert "kube-system is not a permitted destination" in by_name["web"]["message"]
    # The permitted object is there; what the project forbids never appeared.
    await kube.get("v1", "ConfigMap", "fine", ns)
    assert await absent(kube, "rbac.authorization.k8s.io/v1", "ClusterRole", role, None)
    assert await absent(kube, "apps/v1", "Deployment", "web", "kube-system")


async def test_an_app_outside_its_projects_repositories_or_an_unknown_project_syncs_nothing(
    installed: KubeClient,
    cluster: LocalCluster,
    git_repo: Callable[[str], GitRepo],
    team: tuple[str, str],
) -> None:
    kube = installed
    proj, ns = team
    allowed, other = git_repo("allowed"), git_repo("other")
    other.commit({"app/cm.yaml": yaml_docs(configmap("stranger"))})
    await kube.create(project(proj, [allowed.url], ns))
    for app, project_name, expected in (
        (unique("other-repo"), proj, f"is not permitted in project '{proj}'"),
        (unique("no-project"), unique("missing"), "which does not exist"),
    ):
        create_app(cluster.kubeconfig, app, other, "app", ns, "--project", project_name)
        status = app_json(cluster.kubeconfig, app, "--refresh")
        assert any(
            c.startswith("InvalidSpecError: ") and expected in c for c in conditions(status)
        ), conditions(status)
        assert status["status"]["sync"]["status"] == "Unknown"
        synced = gitward(cluster.kubeconfig, "app", "sync", app)
        assert synced.returncode != 0
        assert expected in synced.stdout + synced.stderr
    assert await absent(kube, "v1", "ConfigMap", "stranger", ns)


async def test_objects_outside_the_fence_are_never_pruned_or_cascade_deleted(
    installed: KubeClient,
    cluster: LocalCluster,
    git_repo: Callable[[str], GitRepo],
    team: tuple[str, str],
) -> None:
    kube = installed
    proj, ns = team
    app, outside = unique("decoyed"), unique("outside")
    repo = git_repo("decoyed")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("mine"))})
    await kube.create(project(proj, [repo.url], ns))
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": outside}})
    create_app(cluster.kubeconfig, app, repo, "app", ns, "--project", proj)
    synced = gitward(cluster.kubeconfig, "app", "sync", app)
    assert synced.returncode == 0, synced.stdout + synced.stderr

    # Someone marks an object in a namespace the project does not permit as this app's own.
    decoy = configmap(
        "decoy", {"argocd.argoproj.io/tracking-id": f"{app}:/ConfigMap:{outside}/decoy"}
    )
    decoy["metadata"]["namespace"] = outside
    await kube.create(decoy)
    status = app_json(cluster.kubeconfig, app, "--refresh")
    assert "decoy" not in {r["name"] for r in status["status"]["resources"]}
    assert status["status"]["sync"]["status"] == "Synced"
    pruned = gitward(cluster.kubeconfig, "app", "sync", app, "--prune")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    deleted = gitward(cluster.kubeconfig, "app", "delete", app, "--cascade")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert await absent(kube, "v1", "ConfigMap", "mine", ns)
    await kube.get("v1", "ConfigMap", "decoy", outside)  # still there
    await kube.delete("v1", "Namespace", outside, None)


async def test_a_deny_window_holds_syncs_until_it_closes_and_manual_sync_needs_manual_sync(
    installed: KubeClient,
    cluster: LocalCluster,
    git_repo: Callable[[str], GitRepo],
    team: tuple[str, str],
) -> None:
    kube = installed
    proj, ns = team
    lenient = unique("lenient")
    held, manual = unique("held"), unique("manual")
    repo = git_repo("windows")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("windowed"))})
    start = datetime.now(UTC)
    # Opened at the start of this minute, for two: it closes 60 to 120 s from now.
    window = {
        "kind": "deny",
        "schedule": f"{start.minute} {start.hour} * * *",
        "duration": "2m",
        "timeZone": "UTC",
        "namespaces": [ns],
    }
    strict = project(proj, [repo.url], ns)
    strict["spec"]["syncWindows"] = [window]
    relaxed = project(lenient, [repo.url], ns)
    relaxed["spec"]["syncWindows"] = [{**window, "manualSync": True}]
    await kube.create(strict)
    await kube.create(relaxed)
    app = application(held, repo, ns, {"prune": True, "selfHeal": True})
    app["spec"]["project"] = proj
    app["spec"]["source"]["path"] = "app"
    try:
        async with running_controller(kube, 120.0):
            await kube.create(app)

            async def held_with_reason() -> str:
                obj = await kube.get(API, "Application", held, "argocd")
                found = [c for c in conditions(obj) if c.startswith("SyncWindowWarning: ")]
                return found[0] if found else ""

            reason = await eventually(held_with_reason, "the held sync's condition")
            assert "deny window 0" in reason
            assert await absent(kube, "v1", "ConfigMap", "windowed", ns)

            # Manual syncs: refused under the strict window, allowed with manualSync.
            refused = gitward(cluster.kubeconfig, "app", "sync", held)
            assert refused.returncode != 0
            assert "blocked by sync window" in refused.stdout + refused.stderr
            create_app(cluster.kubeconfig, manual, repo, "app", ns, "--project", lenient)
            allowed = gitward(cluster.kubeconfig, "app", "sync", manual)
            assert allowed.returncode == 0, allowed.stdout + allowed.stderr

            # The window closes: the held app syncs on its own, with no new push.
            await kube.delete("v1", "ConfigMap", "windowed", ns)

            async def synced() -> bool:
                obj = await kube.get(API, "Application", held, "argocd")
                return ((obj.get("status") or {}).get("sync") or {}).get("status") == "Synced"

            await eventually(synced, "the sync once the window closed", timeout=180)
            await kube.get("v1", "ConfigMap", "windowed", ns)
            assert (datetime.now(UTC) - start).total_seconds() >= 60
    finally:
        for name in (held, manual):
            with contextlib.suppress(NotFound):
                await kube.delete(API, "Application", name, "argocd")
        with contextlib.suppress(NotFound):
            await kube.delete(API, "AppProject", lenient, "argocd")


async def test_impersonation_lets_the_destinations_rbac_decide(
    installed: KubeClient,
    cluster: LocalCluster,
    git_repo: Callable[[str], GitRepo],
    team: tuple[str, str],
) -> None:
    kube = installed
    proj, ns = team
    app, unmatched = unique("imp"), unique("imp-none")
    repo = git_repo("impersonated")
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "denied"}, "data": {}}
    repo.commit({"app/all.yaml": yaml_docs(configmap("allowed"), secret)})
    # The deployer may write ConfigMaps in the namespace, and nothing else.
    rbac = "rbac.authorization.k8s.io/v1"
    await kube.create(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "deployer", "namespace": ns},
        }
    )
    await kube.create(
        {
            "apiVersion": rbac,
            "kind": "Role",
            "metadata": {"name": "configmaps", "namespace": ns},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]}],
        }
    )
    await kube.create(
        {
            "apiVersion": rbac,
            "kind": "RoleBinding",
            "metadata": {"name": "deployer", "namespace": ns},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "configmaps",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}],
        }
    )
    fenced = project(proj, [repo.url], ns)
    fenced["spec"]["destinationServiceAccounts"] = [
        {"server": IN_CLUSTER, "namespace": ns, "defaultServiceAccount": "deployer"}
    ]
    await kube.create(fenced)
    await kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm", "namespace": "argocd"},
            "data": {"application.sync.impersonation.enabled": "true"},
        }
    )
    try:
        create_app(cluster.kubeconfig, app, repo, "app", ns, "--project", proj)
        synced = gitward(cluster.kubeconfig, "app", "sync", app, "-o", "json")
        assert synced.returncode == 1, synced.stdout + synced.stderr
        by_name = {r["name"]: r for r in json.loads(synced.stdout)["resources"]}
        assert by_name["allowed"]["status"] == "Synced"
        assert by_name["denied"]["status"] == "SyncFailed"
        # Kubernetes' own refusal, for the impersonated account.
        message = by_name["denied"]["message"]
        assert "forbidden" in message
        assert f"system:serviceaccount:{ns}:deployer" in message
        await kube.get("v1", "ConfigMap", "allowed", ns)
        assert await absent(kube, "v1", "Secret", "denied", ns)

        # No account for the destination: nothing is written with the controller's rights.
        await kube.create(project(unmatched, [repo.url], ns))
        create_app(cluster.kubeconfig, unmatched, repo, "app", ns, "--project", unmatched)
        refused = gitward(cluster.kubeconfig, "app", "sync", unmatched)
        assert refused.returncode != 0
        assert "no destinationServiceAccounts entry" in refused.stdout + refused.stderr
        assert await absent(kube, "v1", "Secret", "denied", ns)
    finally:
        await kube.delete("v1", "ConfigMap", "argocd-cm", "argocd")
        with contextlib.suppress(NotFound):
            await kube.delete(API, "AppProject", unmatched, "argocd")


async def test_a_project_scoped_repository_lends_its_credentials_to_that_project_only(
    installed: KubeClient,
    cluster: LocalCluster,
    git_repo: Callable[[str], GitRepo],
    git_http: Callable[[str | None], SmartHttpServer],
    team: tuple[str, str],
) -> None:
    kube = installed
    proj, ns = team
    outsider, owned, borrowed = unique("outsider"), unique("owned"), unique("borrowed")
    token = f"tok-{uuid.uuid4().hex}"
    server = git_http(token)
    repo = git_repo("scoped")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("scoped"))})
    url = server.url(repo)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": unique("scoped-repo"),
            "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": "repository"},
        },
        "stringData": {"url": url, "username": "git", "password": token, "project": proj},
    }
    await kube.create(project(proj, [url], ns))
    await kube.create(project(outsider, [url], ns))  # permits the URL, but has no credentials
    await kube.create(secret)
    try:
        # create_app points at repo.url: each app is moved to the served copy. The outsider
        # asks for the very commit the owner fetched, so no branch needs listing to find it.
        for app, app_project, revision in (
            (owned, proj, "main"),
            (borrowed, outsider, repo.head()),
        ):
            create_app(cluster.kubeconfig, app, repo, "app", ns, "--project", app_project)
            moved = gitward(
                cluster.kubeconfig, "app", "set", app, "--repo", url, "--revision", revision
            )
            assert moved.returncode == 0, moved.stdout + moved.stderr

        synced = gitward(cluster.kubeconfig, "app", "sync", owned)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        await kube.get("v1", "ConfigMap", "scoped", ns)
        await kube.delete("v1", "ConfigMap", "scoped", ns)

        # The same repository, already in the mirror, for a project without credentials.
        refused = gitward(cluster.kubeconfig, "app", "sync", borrowed)
        assert refused.returncode != 0
        assert token not in refused.stdout + refused.stderr
        assert await absent(kube, "v1", "ConfigMap", "scoped", ns)
    finally:
        await kube.delete("v1", "Secret", secret["metadata"]["name"], "argocd")
        with contextlib.suppress(NotFound):
            await kube.delete(API, "AppProject", outsider, "argocd")


async def test_an_untracked_object_in_the_apps_namespace_is_an_orphan_warning(
    installed: KubeClient,
    cluster: LocalCluster,
    git_repo: Callable[[str], GitRepo],
    team: tuple[str, str],
) -> None:
    kube = installed
    proj, ns = team
    app = unique("watched")
    repo = git_repo("watched")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("mine"))})
    monitored = project(proj, [repo.url], ns)
    monitored["spec"]["orphanedResources"] = {"warn": True}
    await kube.create(monitored)
    create_app(cluster.kubeconfig, app, repo, "app", ns, "--project", proj)
    synced = gitward(cluster.kubeconfig, "app", "sync", app)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    # The namespace holds only what Kubernetes made and what the app deployed: no warning.
    assert not [
        c for c in conditions(app_json(cluster.kubeconfig, app, "--refresh")) if "orphaned" in c
    ]

    stray = configmap("stray")
    stray["metadata"]["namespace"] = ns
    await kube.create(stray)
    found = conditions(app_json(cluster.kubeconfig, app, "--refresh"))
    assert (
        "OrphanedResourceWarning: Application has 1 orphaned resources (ConfigMap/stray)" in found
    )
    status = app_json(cluster.kubeconfig, app)["status"]
    assert (status["sync"]["status"], status["health"]["status"]) == ("Synced", "Healthy")

    # An ignore entry silences it; the orphan itself is never touched.
    current = await kube.get(API, "AppProject", proj, "argocd")
    current["spec"]["orphanedResources"]["ignore"] = [{"kind": "ConfigMap", "name": "str*"}]
    await kube.replace(current)
    assert not [
        c for c in conditions(app_json(cluster.kubeconfig, app, "--refresh")) if "orphaned" in c
    ]
    await kube.get("v1", "ConfigMap", "stray", ns)


async def test_apps_in_other_namespaces_are_reconciled_only_where_their_project_allows(
    installed: KubeClient,
    cluster: LocalCluster,
    git_repo: Callable[[str], GitRepo],
    team: tuple[str, str],
) -> None:
    kube = installed
    proj, ns = team
    closed = unique("closed")
    apps_ns, ignored_ns = unique("team-apps"), unique("elsewhere")
    allowed, refused, unwatched = unique("allowed"), unique("refused"), unique("unwatched")
    repo = git_repo("namespaced")
    repo.commit(
        {
            "a/cm.yaml": yaml_docs(configmap("from-a")),
            "b/cm.yaml": yaml_docs(configmap("from-b")),
        }
    )
    for name in (apps_ns, ignored_ns):
        await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    opened = project(proj, [repo.url], ns)
    opened["spec"]["sourceNamespaces"] = [apps_ns]
    await kube.create(opened)
    await kube.create(project(closed, [repo.url], ns))  # lists no other namespace
    apps = []
    for name, where, project_name, path in (
        (allowed, apps_ns, proj, "a"),
        (refused, apps_ns, closed, "b"),
        (unwatched, ignored_ns, proj, "b"),
    ):
        app = application(name, repo, ns, {"prune": True})
        app["metadata"]["namespace"] = where
        app["spec"]["project"] = project_name
        app["spec"]["source"]["path"] = path
        apps.append(app)
    ctl = build_controller(
        await Services.load(kube, "argocd", long_lived=True),
        workers=4,
        application_namespaces=("team-apps-*",),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(ctl.run(stop))
    try:
        for app in apps:
            await kube.create(app)

        async def status_of(name: str, where: str) -> Obj:
            return dict((await kube.get(API, "Application", name, where)).get("status") or {})

        async def deployed() -> bool:
            status = await status_of(allowed, apps_ns)
            return (status.get("sync") or {}).get("status") == "Synced"

        await eventually(deployed, "the allowed app in its own namespace to sync")
        await kube.get("v1", "ConfigMap", "from-a", ns)

        async def refusal() -> str:
            found = [
                c["message"]
                for c in (await status_of(refused, apps_ns)).get("conditions") or []
                if c["type"] == "InvalidSpecError"
            ]
            return found[0] if found else ""

        message = await eventually(refusal, "the refused app's condition")
        assert f"namespace '{apps_ns}' is not permitted to use project '{closed}'" in message
        assert await absent(kube, "v1", "ConfigMap", "from-b", ns)
        assert f"{apps_ns}/{allowed}" in ctl.app_objects
        assert not await status_of(unwatched, ignored_ns)  # not this controller's namespace

        # The CLI names such an app NS/NAME, as Argo CD's does.
        got = app_json(cluster.kubeconfig, f"{apps_ns}/{allowed}")
        assert got["metadata"]["namespace"] == apps_ns
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        for app in apps:
            with contextlib.suppress(NotFound):
                await kube.delete(
                    API, "Application", app["metadata"]["name"], app["metadata"]["namespace"]
                )
        with contextlib.suppress(NotFound):
            await kube.delete(API, "AppProject", closed, "argocd")
        for name in (apps_ns, ignored_ns):
            await kube.delete("v1", "Namespace", name, None)
