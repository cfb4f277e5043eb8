"""App of apps and ``gitward.io/depends-on`` ordering, with a controller in this process.

The controller polls only every 120 s, so everything these tests wait for has to
come from watch events: a parent's sync creating children, a child's status
feeding the parent's health, a dependency's readiness waking its dependents, a
deletion cascading through the resources finalizer.

Sync order is checked two ways: the timestamps the syncs record (second
resolution), and a watch of the Applications recorded by the test itself — the
API server delivers one kind's events in resourceVersion order, so when a
dependent first takes the operation lock, the last recorded state of its
dependency is what any controller could have seen at that moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from gitward.cluster import ClusterError, KubeClient, NotFound
from gitward.controller.dependencies import CYCLE_CONDITION, DEPENDS_ON, WAITING_CONDITION
from gitward.sync.cascade import RESOURCES_FINALIZER
from tests.support.apps import configmap, unique, yaml_docs
from tests.support.controller import API, application, configmap_data, running_controller
from tests.support.git import GitRepo
from tests.support.poll import eventually

Obj = dict[str, Any]
INTERVAL = 120.0  # far longer than any wait below: progress must come from events
IN_CLUSTER = "https://kubernetes.default.svc"


# -- manifests ---------------------------------------------------------------


def child_app(name: str, repo: GitRepo, path: str, ns: str, depends_on: str = "") -> Obj:
    """A child Application as Git declares it: automated, cascading, own namespace."""
    meta: Obj = {"name": name, "namespace": "argocd", "finalizers": [RESOURCES_FINALIZER]}
    if depends_on:
        meta["annotations"] = {DEPENDS_ON: depends_on}
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": "default",
            "source": {"repoURL": repo.url, "path": path},
            "destination": {"server": IN_CLUSTER, "namespace": ns},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["CreateNamespace=true"],
            },
        },
    }


def parent_app(name: str, repo: GitRepo) -> Obj:
    """The app of apps: ``apps/`` of ``repo``, into argocd, with the resources finalizer."""
    obj = application(name, repo, "argocd", {"prune": True})
    obj["metadata"]["finalizers"] = [RESOURCES_FINALIZER]
    obj["spec"]["project"] = "default"
    obj["spec"]["source"]["path"] = "apps"
    return obj


def never_ready_deployment() -> Obj:
    """A Deployment whose Pod no node may run: Progressing for as long as a test lasts."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "stuck"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "stuck"}},
            "template": {
                "metadata": {"labels": {"app": "stuck"}},
                "spec": {
                    "nodeSelector": {"kubernetes.io/hostname": "no-such-node"},
                    "containers": [{"name": "c", "image": "nginx:1.27"}],
                },
            },
        },
    }


@dataclass
class Family:
    """An app of apps in Git: the parent's name and its children's names and namespaces."""

    parent: str
    children: list[str]
    namespaces: list[str]
    configmaps: dict[str, list[str]] = field(default_factory=dict)  # by namespace


def three_children(repo: GitRepo) -> Family:
    """Commit ``apps/`` with children a <- b <- c (b depends on a, c on b) and their paths."""
    tag = unique("aoa")
    parent = f"{tag}-parent"
    a, b, c = (f"{tag}-{x}" for x in "abc")
    namespaces = [unique(f"aoa-{x}") for x in "abc"]
    family = Family(parent, [a, b, c], namespaces)
    files: dict[str, str] = {}
    for (child, ns, dep), x in zip(
        [(a, namespaces[0], ""), (b, namespaces[1], a), (c, namespaces[2], b)], "abc", strict=True
    ):
        files[f"apps/{x}.yaml"] = yaml_docs(child_app(child, repo, f"child-{x}", ns, dep))
        names = [f"{x}-one", f"{x}-two"]
        files[f"child-{x}/cms.yaml"] = yaml_docs(*(configmap(n) for n in names))
        family.configmaps[ns] = names
    repo.commit(files, "app of apps")
    return family


# -- reading the cluster -------------------------------------------------------


async def get_app(kube: KubeClient, name: str) -> Obj | None:
    try:
        return await kube.get(API, "Application", name, "argocd")
    except NotFound:
        return None


def sync_health(app: Obj | None) -> tuple[str, str]:
    status = (app or {}).get("status") or {}
    return (
        str((status.get("sync") or {}).get("status", "")),
        str((status.get("health") or {}).get("status", "")),
    )


def ready(app: Obj | None) -> bool:
    """Synced and Healthy, with no operation running."""
    if app is None or app.get("operation"):
        return False
    return sync_health(app) == ("Synced", "Healthy")


def conditions_of(app: Obj | None, kind: str) -> list[str]:
    return [
        str(c.get("message", ""))
        for c in ((app or {}).get("status") or {}).get("conditions") or []
        if c.get("type") == kind
    ]


def no_dependency_conditions(kube: KubeClient, names: list[str]) -> Callable[[], Awaitable[bool]]:
    """A probe: none of ``names`` reports a dependency condition (cycle or waiting) any more.

    Polled rather than read once only because, on a shared cluster, another test's
    controller may reconcile these apps too and briefly write what it last saw.
    """

    async def probe() -> bool:
        for name in names:
            app = await get_app(kube, name)
            if conditions_of(app, WAITING_CONDITION) or conditions_of(app, CYCLE_CONDITION):
                return False
        return True

    return probe


async def all_ready(kube: KubeClient, names: Iterable[str]) -> list[Obj] | None:
    apps = [await get_app(kube, n) for n in names]
    return [a for a in apps if a is not None] if all(ready(a) for a in apps) else None


@dataclass
class Seen:
    """One watch event of one Application, reduced to what ordering depends on."""

    name: str
    sync: str
    health: str
    locked: bool  # ``operation`` set: a sync holds (or was asked for) the app
    phase: str  # status.operationState.phase
    deleted: bool = False  # the DELETED event: the object is gone


class AppRecorder:
    """Records every change of the named Applications, in the API server's order."""

    def __init__(self, kube: KubeClient, names: set[str]) -> None:
        self.kube = kube
        self.names = names
        self.events: list[Seen] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        _items, version = await self.kube.list_with_version(API, "Application", "argocd")
        self._task = asyncio.create_task(self._follow(version))

    async def _follow(self, version: str) -> None:
        while True:
            async for event in self.kube.watch(API, "Application", "argocd", version, 240):
                obj = event.get("object") or {}
                meta = obj.get("metadata") or {}
                version = str(meta.get("resourceVersion", version))
                kind = event.get("type")
                if kind not in ("ADDED", "MODIFIED", "DELETED") or meta["name"] not in self.names:
                    continue
                sync, health = sync_health(obj)
                phase = ((obj.get("status") or {}).get("operationState") or {}).get("phase", "")
                locked = bool(obj.get("operation"))
                seen = Seen(meta["name"], sync, health, locked, str(phase), kind == "DELETED")
                self.events.append(seen)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ClusterError):
                await self._task

    def first_lock(self, name: str) -> int:
        """Index of the first event showing ``name``'s sync: its lock, or (a one-step automated
        sync takes none) its recorded result."""
        return next(
            i for i, e in enumerate(self.events) if e.name == name and (e.locked or e.phase)
        )

    def deletion_order(self) -> list[str]:
        """The recorded names in the order their objects disappeared."""
        return [e.name for e in self.events if e.deleted]

    def saw_deletions(self, count: int) -> Callable[[], Awaitable[bool]]:
        """A probe for :func:`eventually`: at least ``count`` deletions were recorded."""

        async def probe() -> bool:
            return len(self.deletion_order()) >= count

        return probe

    def state_before(self, name: str, index: int) -> Seen | None:
        """The last recorded state of ``name`` before event ``index``."""
        return next((e for e in reversed(self.events[:index]) if e.name == name), None)


def assert_synced_after(recorder: AppRecorder, dependency: str, dependent: str) -> None:
    """When ``dependent`` took its sync lock, ``dependency`` was Synced, Healthy and idle."""
    start = recorder.first_lock(dependent)
    before = recorder.state_before(dependency, start)
    assert before is not None, f"{dependent} synced before {dependency} was even seen"
    assert (before.sync, before.health, before.locked, before.phase) == (
        "Synced",
        "Healthy",
        False,
        "Succeeded",
    ), f"{dependent} started syncing while {dependency} was {before}"


def finished_at(app: Obj) -> str:
    return str(app["status"]["history"][-1]["deployedAt"])


def started_at(app: Obj) -> str:
    return str(app["status"]["history"][-1]["deployStartedAt"])


# -- cleanup -------------------------------------------------------------------


async def cleanup(kube: KubeClient, apps: Iterable[str], namespaces: Iterable[str]) -> None:
    """Remove what a test made, whatever state it was left in (no controller needed)."""
    for name in apps:
        with contextlib.suppress(NotFound):
            await kube.patch(API, "Application", name, "argocd", {"metadata": {"finalizers": None}})
        with contextlib.suppress(NotFound):
            await kube.delete(API, "Application", name, "argocd", propagation="Background")
    for ns in namespaces:
        with contextlib.suppress(NotFound):
            await kube.delete("v1", "Namespace", ns, propagation="Background")


@contextlib.asynccontextmanager
async def cleaned(kube: KubeClient, apps: list[str], namespaces: list[str]) -> AsyncIterator[None]:
    """Run the body, then clean up ``apps`` and ``namespaces`` (lists the body may extend)."""
    try:
        yield
    finally:
        await cleanup(kube, apps, namespaces)


async def deploy_family(kube: KubeClient, family: Family, repo: GitRepo) -> float:
    """Create the parent; wait for parent and children to be Synced/Healthy; seconds taken."""
    started = time.monotonic()
    await kube.create(parent_app(family.parent, repo))
    everyone = [family.parent, *family.children]
    await eventually(
        lambda: all_ready(kube, everyone), "the parent and 3 children to be Synced/Healthy", 90
    )
    return time.monotonic() - started


# -- tests ---------------------------------------------------------------------


async def test_app_of_apps_with_three_children_in_dependency_order(
    installed: KubeClient, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    repo = git_repo("aoa")
    family = three_children(repo)
    a, b, c = family.children
    recorder = AppRecorder(kube, {family.parent, a, b, c})
    async with cleaned(kube, [family.parent, a, b, c], family.namespaces):
        await recorder.start()
        try:
            async with running_controller(kube, INTERVAL):
                took = await deploy_family(kube, family, repo)
        finally:
            await recorder.stop()
        print(f"app of apps, 3 chained children: all Synced/Healthy after {took:.1f} s")

        for ns, names in family.configmaps.items():
            for cm in names:
                assert await configmap_data(kube, cm, ns) == {"k": cm}
        child: dict[str, Obj] = {}
        for name in family.children:
            got = await get_app(kube, name)
            assert got is not None
            child[name] = got
        # The times the syncs record: a's finished no later than b's started; b's before c's.
        for first, then in [(a, b), (b, c)]:
            assert finished_at(child[first]) <= started_at(child[then])
            done = child[first]["status"]["operationState"]["finishedAt"]
            assert done <= child[then]["status"]["operationState"]["startedAt"]
        # The event stream: neither dependent took its lock before its dependency was ready.
        assert_synced_after(recorder, a, b)
        assert_synced_after(recorder, b, c)
        # Each child synced once: waiting is not a failed sync retried later.
        for name in family.children:
            assert len(child[name]["status"]["history"]) == 1
        parent = await get_app(kube, family.parent)
        assert parent is not None
        resources = {
            r["name"]: (r["kind"], r["status"], (r.get("health") or {}).get("status"))
            for r in parent["status"]["resources"]
        }
        assert resources == dict.fromkeys(family.children, ("Application", "Synced", "Healthy"))
        # The waiting is over, and the statuses say so.
        await eventually(no_dependency_conditions(kube, family.children), "no conditions", 10)


async def test_a_child_that_is_not_healthy_holds_the_parent_back(
    installed: KubeClient, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    repo = git_repo("aoa-health")
    tag = unique("aoah")
    parent, ok, stuck = f"{tag}-parent", f"{tag}-ok", f"{tag}-stuck"
    ok_ns, stuck_ns = unique("aoah-ok"), unique("aoah-stuck")
    repo.commit(
        {
            "apps/ok.yaml": yaml_docs(child_app(ok, repo, "ok", ok_ns)),
            "apps/stuck.yaml": yaml_docs(child_app(stuck, repo, "stuck", stuck_ns)),
            "ok/cm.yaml": yaml_docs(configmap("one")),
            "stuck/deploy.yaml": yaml.safe_dump(never_ready_deployment()),
        }
    )
    async with (
        cleaned(kube, [parent, ok, stuck], [ok_ns, stuck_ns]),
        running_controller(kube, INTERVAL) as ctl,
    ):
        await kube.create(parent_app(parent, repo))

        async def parent_sees_progressing() -> Obj | None:
            if sync_health(await get_app(kube, stuck)) != ("Synced", "Progressing"):
                return None
            top = await get_app(kube, parent)
            health = {
                r["name"]: (r.get("health") or {}).get("status")
                for r in ((top or {}).get("status") or {}).get("resources") or []
            }
            # The parent has seen the children's latest health (an event, not a poll).
            return top if health == {ok: "Healthy", stuck: "Progressing"} else None

        top = await eventually(
            parent_sees_progressing, "the stuck child, seen by the parent, to be Progressing"
        )
        assert sync_health(top) == ("Synced", "Progressing")

        # The fix reaches the child; its Healthy status reaches the parent by itself.
        fixed = never_ready_deployment()
        del fixed["spec"]["template"]["spec"]["nodeSelector"]
        repo.commit({"stuck/deploy.yaml": yaml.safe_dump(fixed)}, "schedulable")
        ctl.forget_revisions()
        ctl.refresh_now(stuck)
        started = time.monotonic()
        await eventually(
            lambda: all_ready(kube, [stuck, parent]), "child and parent to be Healthy", 60
        )
        print(f"child fixed -> parent Healthy: {time.monotonic() - started:.1f} s")


async def test_deleting_the_parent_cascades_to_children_and_their_resources(
    installed: KubeClient, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    repo = git_repo("aoa-cascade")
    family = three_children(repo)
    recorder = AppRecorder(kube, {family.parent, *family.children})
    async with (
        cleaned(kube, [family.parent, *family.children], family.namespaces),
        running_controller(kube, INTERVAL),
    ):
        await deploy_family(kube, family, repo)
        await recorder.start()
        # As ``kubectl delete app`` does: the finalizer keeps the parent until it is done.
        started = time.monotonic()
        await kube.delete(API, "Application", family.parent, "argocd", propagation="Background")

        async def all_gone() -> bool:
            for name in [family.parent, *family.children]:
                if await get_app(kube, name) is not None:
                    return False
            for ns, names in family.configmaps.items():
                for cm in names:
                    if await configmap_data(kube, cm, ns) is not None:
                        return False
            return True

        try:
            await eventually(all_gone, "the parent, its children and their ConfigMaps", 60)
            print(f"cascade delete of parent + 3 children: {time.monotonic() - started:.1f} s")
            await eventually(recorder.saw_deletions(4), "the watch to deliver the deletions", 10)
        finally:
            await recorder.stop()
        # The parent's finalizer held it until its children (its resources) were gone.
        order = recorder.deletion_order()
        assert order[-1] == family.parent, order
        assert set(order[:-1]) == set(family.children), order


async def test_a_dependency_cycle_is_a_condition_and_nothing_syncs(
    installed: KubeClient, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    repo = git_repo("aoa-cycle")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("one"))})
    tag = unique("cycle")
    x, y, later = f"{tag}-x", f"{tag}-y", f"{tag}-later"
    namespaces = [unique("cycle-x"), unique("cycle-y"), unique("cycle-later")]
    async with cleaned(kube, [x, y, later], namespaces), running_controller(kube, INTERVAL):
        for name, ns, dep in [(x, namespaces[0], y), (y, namespaces[1], x)]:
            obj = application(name, repo, ns, {"prune": True})
            obj["metadata"]["annotations"] = {DEPENDS_ON: dep}
            await kube.create(obj)

        async def both_report_the_cycle() -> list[Obj] | None:
            apps = [await get_app(kube, x), await get_app(kube, y)]
            if all(conditions_of(a, CYCLE_CONDITION) for a in apps):
                return [a for a in apps if a is not None]
            return None

        apps = await eventually(both_report_the_cycle, "a cycle condition on both apps", 30)
        for app in apps:
            (message,) = conditions_of(app, CYCLE_CONDITION)
            for word in ("cycle", x, y):
                assert word in message, message
        # The controller goes on: an app created afterwards syncs.
        await kube.create(application(later, repo, namespaces[2], {"prune": True}))
        await eventually(lambda: all_ready(kube, [later]), "an unrelated app to sync", 30)
        assert await configmap_data(kube, "one", namespaces[2]) == {"k": "one"}
        for name in (x, y):
            now = await get_app(kube, name)
            assert now is not None
            assert sync_health(now)[0] == "OutOfSync"
            assert "operationState" not in now["status"], f"{name} was synced"
            assert conditions_of(now, CYCLE_CONDITION)
        for ns in namespaces[:2]:
            assert await configmap_data(kube, "one", ns) is None

        # Breaking the cycle (an annotation edit: no new generation) lets y, then x, sync.
        await kube.patch(
            API, "Application", y, "argocd", {"metadata": {"annotations": {DEPENDS_ON: None}}}
        )
        await eventually(
            lambda: all_ready(kube, [x, y]), "both apps to sync once the cycle is broken", 30
        )
        await eventually(no_dependency_conditions(kube, [x, y]), "the cycle condition to go", 10)


async def test_a_missing_dependency_waits_then_syncs_when_it_appears(
    installed: KubeClient, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    repo = git_repo("aoa-missing")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("one"))})
    tag = unique("dep")
    waiting, dependency = f"{tag}-waiting", f"{tag}-first"
    namespaces = [unique("dep-waiting"), unique("dep-first")]
    async with (
        cleaned(kube, [waiting, dependency], namespaces),
        running_controller(kube, INTERVAL) as ctl,
    ):
        obj = application(waiting, repo, namespaces[0], {"prune": True})
        obj["metadata"]["annotations"] = {DEPENDS_ON: dependency}
        await kube.create(obj)

        async def reports_waiting() -> Obj | None:
            app = await get_app(kube, waiting)
            return app if conditions_of(app, WAITING_CONDITION) else None

        app = await eventually(reports_waiting, "a DependencyNotReadyWarning condition", 30)
        (message,) = conditions_of(app, WAITING_CONDITION)
        assert f"{dependency} (missing)" in message, message
        assert sync_health(app)[0] == "OutOfSync"
        assert "operationState" not in app["status"]
        assert await configmap_data(kube, "one", namespaces[0]) is None
        reconciles = ctl.reconciles

        started = time.monotonic()
        await kube.create(application(dependency, repo, namespaces[1], {"prune": True}))
        await eventually(lambda: all_ready(kube, [dependency, waiting]), "both apps to sync", 30)
        took = time.monotonic() - started
        print(f"dependency created -> dependent Synced/Healthy: {took:.1f} s")
        assert await configmap_data(kube, "one", namespaces[0]) == {"k": "one"}
        await eventually(no_dependency_conditions(kube, [waiting]), "the condition to go", 10)
        assert ctl.reconciles > reconciles
