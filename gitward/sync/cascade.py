"""Cascading deletion of an Application's resources, shared by the CLI and the controller.

Argo CD's model: an Application carrying a *resources finalizer* is not removed
when someone deletes it; the API server only sets ``deletionTimestamp``. The
controller then deletes the app's resources (foreground or background
propagation, as the finalizer's variant asks), waits until they are gone, and
only then removes its finalizer, so the Application disappears last. A child
Application deployed by a parent (app of apps) is one of the parent's
resources; deleting it while it carries its own finalizer cascades further, and
the parent waits for it because a terminating object still counts as present.

``gitward app delete --cascade`` does the same work itself, so it works without
a running controller.

Safety: the resources to delete come from a fresh comparison. When that
comparison failed because of the source (its path is gone from Git — the
common end of an app an ApplicationSet generated from a directory — a render
error, an unreachable repository), the resources the app recorded instead are
used: ``status.resources`` and the last sync's ``syncResult.resources``, each
deleted only if the live object still carries this app's tracking id (Argo CD,
too, deletes by tracking, not by Git). An app that never synced has nothing of
its own to delete. When even that is not possible (the destination cluster is
unknown or unreachable, or the app synced but recorded nothing), :func:`finalize`
deletes nothing and keeps the finalizer — a failed render is never "the app has
no resources". Such an app stays terminating, with a ``DeletionError``
condition; a person who wants it gone anyway removes the finalizer by hand
(``kubectl patch app NAME --type merge -p '{"metadata":{"finalizers":null}}'``),
which deletes only the Application and leaves its resources running.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from gitward.appstate.comparison import Comparison, ResourceState
from gitward.cluster import (
    ApiError,
    ClusterUnreachable,
    Conflict,
    KubeClient,
    NotFound,
    UnknownKind,
)
from gitward.model import resource_options as options
from gitward.model.errors import ConfigError, GitwardError
from gitward.model.kinds import API_VERSION, APPLICATION, GROUP
from gitward.model.status import SyncStatus
from gitward.model.tracking import INSTANCE_LABEL, ResourceKey, TrackingMethod, owner_app
from gitward.projects.fence import Fence

Obj = dict[str, Any]

#: Foreground cascade (Argo CD's default variant).
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
BACKGROUND_FINALIZER = "resources-finalizer.argocd.argoproj.io/background"
FOREGROUND_FINALIZER = "resources-finalizer.argocd.argoproj.io/foreground"
#: Each resources finalizer and the propagation policy it asks for.
RESOURCES_FINALIZERS = {
    RESOURCES_FINALIZER: "Foreground",
    FOREGROUND_FINALIZER: "Foreground",
    BACKGROUND_FINALIZER: "Background",
}
#: Argo CD's condition type for "the controller failed to delete the application".
DELETION_ERROR = "DeletionError"

_FINALIZER_PATCH_ATTEMPTS = 5


class DeletionError(GitwardError):
    """Cascading deletion could not finish; nothing was skipped silently.

    ``done`` lists what was deleted (or kept) before giving up, ``failed`` names
    each resource that could not be deleted, with the reason.
    """

    def __init__(self, message: str, done: Sequence[str] = (), failed: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.done = list(done)
        self.failed = list(failed)

    def condition(self) -> Obj:
        """This failure as an Application condition, as Argo CD records it."""
        return {"type": DELETION_ERROR, "message": str(self)}


def _meta(obj: Obj) -> Obj:
    meta: Obj = obj.get("metadata") or {}
    return meta


def cascade_policy(app_obj: Obj) -> str | None:
    """``Foreground`` or ``Background`` as the app's finalizers ask; None without one.

    Like Argo CD, the first resources finalizer in the list decides.
    """
    for finalizer in _meta(app_obj).get("finalizers") or []:
        policy = RESOURCES_FINALIZERS.get(str(finalizer))
        if policy is not None:
            return policy
    return None


def is_deleting(obj: Obj) -> bool:
    return bool(_meta(obj).get("deletionTimestamp"))


def comparison_failure(comparison: Comparison) -> str | None:
    """Why ``comparison`` cannot be trusted to list the app's resources; None when it can.

    A failed render or an unreachable repository gives sync status Unknown, a
    ComparisonError condition and no resources: deleting on that basis would
    mean deleting nothing and dropping the finalizer, orphaning everything.
    """
    if comparison.sync_status is not SyncStatus.UNKNOWN or comparison.resources:
        return None
    messages = [str(c.get("message", "")) for c in comparison.conditions]
    return "; ".join(m for m in messages if m) or "the comparison failed"


def _is_owner(state: ResourceState, owner: Obj | None) -> bool:
    """True for the Application itself, when a self-managed app tracks its own object."""
    if owner is None:
        return False
    meta = _meta(owner)
    key = state.key
    return (
        key.group == GROUP
        and key.kind == APPLICATION
        and key.name == meta.get("name")
        and key.namespace == (meta.get("namespace") or "")
    )


def _classify(
    resources: Iterable[ResourceState], owner: Obj | None
) -> tuple[list[ResourceState], list[str], list[str]]:
    """Live resources to delete; lines for the kept ones; failures (unreadable options)."""
    targets: list[ResourceState] = []
    kept: list[str] = []
    failed: list[str] = []
    for state in resources:
        if state.live is None or state.violation or _is_owner(state, owner):
            continue  # a resource outside the project's fence is never the app's to delete
        try:
            delete = options.effective({}, state.live).delete
        except ConfigError as exc:
            # Whether the resource says Delete=false is unknown: keep it, and say so.
            failed.append(f"{state.key}: {exc}")
            continue
        if delete:
            targets.append(state)
        else:
            kept.append(f"kept {state.key} (Delete=false)")
    return targets, kept, failed


def _raise_failed(done: list[str], failed: list[str]) -> None:
    if failed:
        raise DeletionError(
            f"could not delete {len(failed)} resource(s): " + "; ".join(failed), done, failed
        )


async def delete_app_resources(
    client: KubeClient,
    comparison_resources: Iterable[ResourceState],
    policy: str,
    *,
    owner: Obj | None = None,
) -> list[str]:
    """Delete every live resource of a comparison but those marked ``Delete=false``.

    Returns one line per resource acted on (``deleted ...``, ``kept ...
    (Delete=false)``). An object already gone is fine; one already terminating
    is not deleted again. ``owner``, when given, is the Application being
    deleted: a self-managed app's own object is not among what it deletes.

    Every resource is tried; failures are collected and raised together as a
    :class:`DeletionError` naming each one (with ``done`` set). An unreachable
    API server ends the attempt at once: trying the rest would only time out.
    """
    targets, done, failed = _classify(comparison_resources, owner)
    for state in targets:
        assert state.live is not None
        if is_deleting(state.live):
            done.append(f"terminating {state.key}")
            continue
        try:
            await client.delete(
                state.api_version,
                state.key.kind,
                state.key.name,
                state.key.namespace or None,
                propagation=policy,
            )
        except NotFound:
            continue
        except ClusterUnreachable:
            raise
        except (ApiError, UnknownKind) as exc:
            failed.append(f"{state.key}: {exc}")
            continue
        done.append(f"deleted {state.key}")
    _raise_failed(done, failed)
    return done


async def delete_application(
    client: KubeClient,
    app_obj: Obj,
    policy: str,
    *,
    compare: Callable[[Obj], Awaitable[Comparison]] | None,
    destination: Callable[[Obj], Awaitable[KubeClient]] | None = None,
) -> list[str]:
    """Delete an Application now (``app delete``); with ``compare``, its resources first.

    ``compare`` lists what the app tracks (None: ``--no-cascade``, leave it all
    running); ``destination`` gives the client of the app's destination cluster
    (default: ``client``). A comparison that cannot be trusted stops the delete
    before anything goes. Only gitward's own resources finalizers are removed, with
    a resourceVersion guard: another controller's finalizer stays, and that
    controller finishes the deletion. Returns one line per resource acted on.
    """
    done: list[str] = []
    if compare is not None:
        comparison = await compare(app_obj)
        reason = comparison_failure(comparison)
        if reason is not None:
            raise ConfigError(
                "cannot find the app's resources to cascade the delete: "
                + reason
                + " (use --no-cascade to delete only the Application)"
            )
        target = await destination(app_obj) if destination is not None else client
        done = await delete_app_resources(target, comparison.resources, policy, owner=app_obj)
    if await remove_resources_finalizers(client, app_obj) is not None:
        meta = _meta(app_obj)
        with contextlib.suppress(NotFound):
            await client.delete(
                API_VERSION,
                APPLICATION,
                str(meta.get("name")),
                str(meta.get("namespace") or ""),
                propagation="Background",
            )
    return done


async def remaining(
    client: KubeClient, comparison_resources: Iterable[ResourceState], *, owner: Obj | None = None
) -> list[str]:
    """The resources :func:`delete_app_resources` deletes that still exist, freshly read.

    An object with ``deletionTimestamp`` still exists (its own finalizers, a
    child Application's cascade, foreground deletion of its dependents) and is
    listed, marked ``(terminating)``. ``Delete=false`` resources are never listed.
    """
    targets, _kept, _failed = _classify(comparison_resources, owner)
    found: list[str] = []
    for state in targets:
        try:
            live = await client.get(
                state.api_version, state.key.kind, state.key.name, state.key.namespace or None
            )
        except (NotFound, UnknownKind):
            continue
        if is_deleting(live):
            found.append(f"{state.key} (terminating)")
        else:
            found.append(str(state.key))
    return found


async def remove_resources_finalizers(client: KubeClient, app_obj: Obj) -> Obj | None:
    """Drop the resources finalizer(s) from the app, keeping every other finalizer.

    The patch carries the resourceVersion it was computed from, so a concurrent
    change of the list (another controller adding or removing its own
    finalizer) makes it fail with Conflict rather than be overwritten; it is
    then recomputed from a fresh read. Returns the app as stored, None once it
    is gone.
    """
    meta = _meta(app_obj)
    name, namespace = str(meta.get("name")), str(meta.get("namespace") or "")
    current = app_obj
    for _ in range(_FINALIZER_PATCH_ATTEMPTS):
        finalizers = [str(f) for f in _meta(current).get("finalizers") or []]
        keep = [f for f in finalizers if f not in RESOURCES_FINALIZERS]
        if keep == finalizers:
            return current
        patch = {
            "metadata": {
                "finalizers": keep,
                "resourceVersion": _meta(current).get("resourceVersion"),
            }
        }
        try:
            return await client.patch(API_VERSION, APPLICATION, name, namespace, patch)
        except NotFound:
            return None
        except Conflict:
            try:
                current = await client.get(API_VERSION, APPLICATION, name, namespace)
            except NotFound:
                return None
    raise DeletionError(
        f"Application {namespace}/{name}: its finalizers kept changing; "
        f"gave up removing {RESOURCES_FINALIZER} after {_FINALIZER_PATCH_ATTEMPTS} attempts"
    )


def recorded_resources(app_obj: Obj) -> list[tuple[str, ResourceKey]]:
    """(apiVersion, key) of every resource the app's status recorded as its own."""
    status = app_obj.get("status") or {}
    result = (status.get("operationState") or {}).get("syncResult") or {}
    found: dict[ResourceKey, str] = {}
    for entry in [*(status.get("resources") or []), *(result.get("resources") or [])]:
        if not isinstance(entry, dict) or not entry.get("kind") or not entry.get("name"):
            continue
        group, version = str(entry.get("group") or ""), str(entry.get("version") or "v1")
        key = ResourceKey(
            group, str(entry["kind"]), str(entry.get("namespace") or ""), str(entry["name"])
        )
        found.setdefault(key, f"{group}/{version}" if group else version)
    return [(api_version, key) for key, api_version in sorted(found.items())]


def _tracked_by(live: Obj, app_name: str) -> bool:
    if owner_app(live, TrackingMethod.ANNOTATION) == app_name:
        return True
    return ((live.get("metadata") or {}).get("labels") or {}).get(INSTANCE_LABEL) == app_name


async def _recorded_live(client: KubeClient, app_obj: Obj) -> list[ResourceState]:
    """The recorded resources that still exist and still carry this app's tracking id."""
    app_name = str(_meta(app_obj).get("name"))
    states: list[ResourceState] = []
    for api_version, key in recorded_resources(app_obj):
        try:
            live = await client.get(api_version, key.kind, key.name, key.namespace or None)
        except (NotFound, UnknownKind):
            continue
        if _tracked_by(live, app_name):
            states.append(ResourceState(key, api_version, None, live, SyncStatus.UNKNOWN, None))
    return states


def _never_synced(app_obj: Obj) -> bool:
    status = app_obj.get("status") or {}
    return not status.get("operationState") and not status.get("history")


async def finalize(
    client: KubeClient,
    app_obj: Obj,
    compare: Callable[[Obj], Awaitable[Comparison]],
    *,
    destination: Callable[[Obj], Awaitable[KubeClient]] | None = None,
    fence: Callable[[Obj], Awaitable[Fence]] | None = None,
) -> bool:
    """One controller step for an Application being deleted with a resources finalizer.

    ``client`` holds the Application; ``compare`` returns a fresh comparison of
    it (the controller passes ``refresher.compare``); ``destination`` returns
    the client of the cluster its resources live on (default: ``client``). It
    is asked only after a successful comparison, which has already resolved the
    destination, so an unknown cluster is reported as a failed comparison.

    Deletes what the comparison lists (``Delete=false`` kept), and once nothing
    remains removes only the resources finalizer(s): True then. False while
    resources are still terminating — requeue and call again. An app without a
    resources finalizer has nothing to finalize: True.

    ``fence`` returns the app's project rules; when the comparison failed and the
    recorded resources are used instead, only those inside the fence are deleted (a
    fresh comparison is fenced already).

    Raises :class:`DeletionError` (record it with :meth:`DeletionError.condition`)
    when the comparison failed — nothing is deleted and the finalizer stays —
    or when some resources could not be deleted.
    """
    meta = _meta(app_obj)
    if not is_deleting(app_obj):
        raise ValueError(f"Application {meta.get('name')} is not being deleted")
    policy = cascade_policy(app_obj)
    if policy is None:
        return True
    comparison = await compare(app_obj)
    reason = comparison_failure(comparison)
    resources: Sequence[ResourceState] = comparison.resources
    if reason is not None:
        resources = await _fallback(client, app_obj, reason, destination, fence)
    target = client if destination is None else await destination(app_obj)
    await delete_app_resources(target, resources, policy, owner=app_obj)
    if await remaining(target, resources, owner=app_obj):
        return False
    await remove_resources_finalizers(client, app_obj)
    return True


async def _fallback(
    client: KubeClient,
    app_obj: Obj,
    reason: str,
    destination: Callable[[Obj], Awaitable[KubeClient]] | None,
    fence: Callable[[Obj], Awaitable[Fence]] | None = None,
) -> list[ResourceState]:
    """The resources to delete when the comparison failed; :class:`DeletionError` if unknown."""
    refusal = (
        f"cannot list the app's resources, so none are deleted and the finalizer "
        f"{RESOURCES_FINALIZER} stays: {reason} (fix the source, or remove the finalizer "
        "by hand to delete only the Application)"
    )
    if not recorded_resources(app_obj) and not _never_synced(app_obj):
        raise DeletionError(refusal)
    try:
        target = client if destination is None else await destination(app_obj)
        states = await _recorded_live(target, app_obj)
        rules = None if fence is None else await fence(app_obj)
    except (GitwardError, ClusterUnreachable):
        raise DeletionError(refusal) from None
    if rules is None:
        return states
    return [s for s in states if rules.live_violation(s.key) is None]
