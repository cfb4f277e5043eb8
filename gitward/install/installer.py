"""Install and uninstall gitward's CRDs, default project and controller RBAC.

Both are idempotent. ``uninstall`` never touches deployed workloads: it first
strips Argo CD's cascade finalizer from every Application, so deleting the
CRDs (and with them the Applications) orphans the resources they manage
instead of deleting them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from gitward._util.polling import poll_until
from gitward.cluster import (
    FIELD_MANAGER,
    ClusterError,
    Conflict,
    KubeClient,
    NotFound,
    UnknownKind,
    describe,
)
from gitward.install.components import component_objects
from gitward.install.crds import crds
from gitward.install.objects import controller_rbac, default_project, namespace, server_rbac
from gitward.install.pods import ComponentOptions
from gitward.model.kinds import APP_PROJECT, APPLICATION, GROUP, VERSION

Obj = dict[str, Any]
INSTALL_MANAGER = f"{FIELD_MANAGER}-install"


@dataclass(frozen=True)
class Change:
    """What happened to one object: created, configured, unchanged or deleted."""

    resource: str
    action: str


class InstallError(ClusterError):
    """An install step could not complete (e.g. a CRD never became Established)."""


async def _apply(client: KubeClient, obj: Obj) -> Change:
    meta = obj["metadata"]
    try:
        before = await client.get(
            obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")
        )
    except NotFound:
        before = None
    after = await client.apply(obj, field_manager=INSTALL_MANAGER, force=True)
    if before is None:
        action = "created"
    elif before["metadata"]["resourceVersion"] == after["metadata"]["resourceVersion"]:
        action = "unchanged"
    else:
        action = "configured"
    return Change(describe(obj), action)


async def ensure_default_project(client: KubeClient, ns: str) -> bool:
    """Create the ``default`` AppProject if it is missing (never change an existing one).

    Argo CD's server does the same at start: an install from one manifest file cannot
    hold the project, since its CRD is not served yet when the file is applied.
    Returns whether it was created.
    """
    project = default_project(ns)
    try:
        await client.get(project["apiVersion"], APP_PROJECT, "default", ns)
        return False
    except NotFound:
        pass
    try:
        await client.create(project)
    except Conflict:
        return False  # another replica made it first
    return True


async def _ensure_namespace(client: KubeClient, name: str) -> Change:
    """Create the namespace if missing; never re-apply it.

    A Namespace made by server-side apply gets no managedFields, so a second
    apply records a ``before-first-apply`` entry and bumps resourceVersion: a
    change with no content. There is nothing to configure on it, so it is
    only ever created.
    """
    try:
        await client.get("v1", "Namespace", name)
    except NotFound:
        await client.create(namespace(name))
        return Change(f"Namespace {name}", "created")
    return Change(f"Namespace {name}", "unchanged")


async def _wait_established(client: KubeClient, name: str, timeout: float) -> None:
    conditions: dict[str, str] = {}

    async def established() -> bool:
        crd = await client.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
        conditions.clear()
        for c in (crd.get("status") or {}).get("conditions") or []:
            conditions[c["type"]] = c["status"]
        return conditions.get("Established") == "True"

    if not await poll_until(established, timeout):
        raise InstallError(f"CRD {name} not Established after {timeout:.0f} s: {conditions}")


def manifests(
    ns: str = "argocd",
    components: tuple[str, ...] = (),
    options: ComponentOptions | None = None,
) -> list[Obj]:
    """Every object an install creates, in apply order (what ``--manifests-only`` prints)."""
    opts = options or ComponentOptions(namespace=ns)
    return [
        *crds(),
        namespace(ns),
        *controller_rbac(ns),
        default_project(ns),
        *component_objects(components, opts),
    ]


async def install(
    client: KubeClient,
    ns: str = "argocd",
    timeout: float = 60.0,
    components: tuple[str, ...] = (),
    options: ComponentOptions | None = None,
) -> list[Change]:
    """Apply CRDs (waiting until served), the namespace, RBAC, the default project and the
    asked-for components (controller)."""
    changes = [await _apply(client, crd) for crd in crds()]
    for crd in crds():
        await _wait_established(client, crd["metadata"]["name"], timeout)
    client.discovery.invalidate()  # the new kinds are served now
    changes.append(await _ensure_namespace(client, ns))
    for obj in controller_rbac(ns):
        changes.append(await _apply(client, obj))
    changes.append(await _apply(client, default_project(ns)))
    for obj in component_objects(components, options or ComponentOptions(namespace=ns)):
        changes.append(await _apply(client, obj))
    return changes


async def _delete(
    client: KubeClient, api_version: str, kind: str, name: str, ns: str | None
) -> Change:
    label = f"{kind} {ns + '/' if ns else ''}{name}"
    try:
        await client.delete(api_version, kind, name, ns, propagation="Background")
    except NotFound:
        return Change(label, "absent")
    return Change(label, "deleted")


async def uninstall(client: KubeClient, ns: str = "argocd", timeout: float = 60.0) -> list[Change]:
    """Remove gitward's CRDs (orphaning, not deleting, managed workloads) and the RBAC of
    the controller and the API server."""
    changes: list[Change] = []
    try:
        apps = await client.list(f"{GROUP}/{VERSION}", APPLICATION)
    except UnknownKind:  # never installed, or already uninstalled
        apps = []
    for app in apps:
        meta = app["metadata"]
        if meta.get("finalizers"):
            await client.patch(
                f"{GROUP}/{VERSION}",
                APPLICATION,
                meta["name"],
                meta.get("namespace"),
                {"metadata": {"finalizers": None}},
            )
            changes.append(
                Change(f"Application {meta.get('namespace')}/{meta['name']}", "orphaned")
            )
    for crd in crds():
        changes.append(
            await _delete(
                client,
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                crd["metadata"]["name"],
                None,
            )
        )
    for obj in reversed([*controller_rbac(ns), *server_rbac(ns)]):
        meta = obj["metadata"]
        changes.append(
            await _delete(
                client, obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")
            )
        )
    await _wait_gone(client, [c["metadata"]["name"] for c in crds()], timeout)
    client.discovery.invalidate()
    return changes


async def _wait_gone(client: KubeClient, crd_names: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for name in crd_names:

        async def gone(name: str = name) -> bool:
            try:
                await client.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
            except NotFound:
                return True
            return False

        if not await poll_until(gone, max(deadline - time.monotonic(), 0.0)):
            raise InstallError(f"CRD {name} still present after {timeout:.0f} s")
