"""Carry out single sync tasks against the cluster: apply, prune, run a hook.

Each function records its outcome on the task (status, hook phase, the
server's own message) instead of raising: one resource the API server rejects
fails that resource, and the operation reports which others were applied.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from gitward import health
from gitward._util.polling import poll_until
from gitward.appstate.status import age_seconds
from gitward.cluster import ApiError, ClusterError, Conflict, KubeClient, NotFound
from gitward.model.overrides import ResourceOverrides
from gitward.model.phases import HookPhase, ResultCode, SyncPhase
from gitward.model.status import HealthStatus
from gitward.sync import hooks
from gitward.sync.client_apply import client_side_apply
from gitward.sync.machine import WaveDegraded
from gitward.sync.plan import SyncRequest, SyncTask

Obj = dict[str, Any]


def _label(task: SyncTask) -> str:
    group = f".{task.key.group}" if task.key.group else ""
    return f"{task.key.kind.lower()}{group}/{task.key.name}"


async def _get(client: KubeClient, task: SyncTask) -> Obj | None:
    try:
        return await client.get(
            task.api_version, task.key.kind, task.key.name, task.key.namespace or None
        )
    except NotFound:
        return None


async def _wait_gone(client: KubeClient, task: SyncTask, timeout: float) -> bool:
    async def gone() -> bool:
        return await _get(client, task) is None

    return await poll_until(gone, timeout)


async def _recreate(client: KubeClient, task: SyncTask, obj: Obj, validation: str) -> Obj:
    """Delete and create again: what ``--force`` does for immutable-field changes."""
    await client.delete(task.api_version, task.key.kind, task.key.name, task.key.namespace or None)
    if not await _wait_gone(client, task, 60):
        raise ClusterError(f"{_label(task)} was not deleted within 60 s")
    return await client.create(obj, field_validation=validation)


async def apply_task(client: KubeClient, task: SyncTask, request: SyncRequest) -> None:
    """Apply one resource; on success status Synced with created/configured/unchanged."""
    assert task.obj is not None
    obj = task.obj
    before = task.live
    opts = task.options
    try:
        if request.dry_run:
            try:
                await client.apply(
                    obj, force=True, dry_run=True, field_validation=opts.field_validation
                )
            except NotFound:
                # Its namespace does not exist yet (CreateNamespace or a Namespace in the
                # same sync makes it); the server cannot check it before then.
                task.status = ResultCode.SYNCED
                task.message = f"{_label(task)} would be created with its namespace (dry run)"
                return
            task.status, task.message = (
                ResultCode.SYNCED,
                f"{_label(task)} would be applied (dry run)",
            )
            return
        if opts.flag("Replace"):
            current = await _get(client, task)
            if current is None:
                after = await client.create(obj, field_validation=opts.field_validation)
            else:
                meta = {
                    **obj["metadata"],
                    "resourceVersion": current["metadata"]["resourceVersion"],
                }
                after = await client.replace({**obj, "metadata": meta})
        elif not opts.flag("ServerSideApply", default=True):
            current = await _get(client, task)
            after = await client_side_apply(
                client, obj, current, field_validation=opts.field_validation
            )
        else:
            try:
                after = await client.apply(obj, force=True, field_validation=opts.field_validation)
            except ApiError as exc:
                if not (request.force or opts.flag("Force")) or exc.status not in (409, 422):
                    raise
                after = await _recreate(client, task, obj, opts.field_validation)
                before = None
    except ClusterError as exc:
        task.status, task.message = ResultCode.SYNC_FAILED, str(exc)
        return
    task.live = after
    if before is None:
        verb = "created"
    elif before["metadata"].get("resourceVersion") == after["metadata"].get("resourceVersion"):
        verb = "unchanged"
    else:
        verb = "configured"
    task.status, task.message = ResultCode.SYNCED, f"{_label(task)} {verb}"


async def prune_task(
    client: KubeClient, task: SyncTask, request: SyncRequest, allowed: bool, why_not: str
) -> None:
    """Delete one resource Git no longer declares, if pruning is allowed for it."""
    if not allowed:
        task.status, task.message = ResultCode.PRUNE_SKIPPED, why_not
        return
    if not task.options.prune:
        task.status, task.message = ResultCode.PRUNE_SKIPPED, "ignored (Prune=false)"
        return
    if request.dry_run:
        task.status, task.message = ResultCode.PRUNED, f"{_label(task)} would be pruned (dry run)"
        return
    try:
        await client.delete(
            task.api_version,
            task.key.kind,
            task.key.name,
            task.key.namespace or None,
            propagation=task.options.propagation,
        )
    except NotFound:
        pass
    except ClusterError as exc:
        task.status, task.message = ResultCode.SYNC_FAILED, str(exc)
        return
    task.status, task.message = ResultCode.PRUNED, "pruned"


def _hook_outcome(live: Obj) -> HookPhase:
    """Running, Succeeded or Failed for a hook's live object."""
    kind = live.get("kind")
    status = live.get("status") or {}
    if kind == "Job":
        for cond in status.get("conditions") or []:
            if cond.get("status") == "True" and cond.get("type") in (
                "Complete",
                "SuccessCriteriaMet",
            ):
                return HookPhase.SUCCEEDED
            if cond.get("status") == "True" and cond.get("type") in ("Failed", "FailureTarget"):
                return HookPhase.FAILED
        return HookPhase.RUNNING
    if kind == "Pod":
        phase = status.get("phase")
        if phase == "Succeeded":
            return HookPhase.SUCCEEDED
        return HookPhase.FAILED if phase == "Failed" else HookPhase.RUNNING
    verdict = health.assess(live)
    if verdict is None or verdict.status in (HealthStatus.HEALTHY, HealthStatus.SUSPENDED):
        return HookPhase.SUCCEEDED
    if verdict.status is HealthStatus.DEGRADED:
        return HookPhase.FAILED
    return HookPhase.RUNNING


def _hook_message(live: Obj) -> str:
    for cond in (live.get("status") or {}).get("conditions") or []:
        if cond.get("status") == "True" and cond.get("message"):
            return str(cond["message"])
    return str((live.get("status") or {}).get("message", ""))


async def start_hook(
    client: KubeClient, task: SyncTask, request: SyncRequest, token: str = ""
) -> None:
    """Create a hook's object (after deleting a previous one, per BeforeHookCreation).

    With ``token`` (the attempt the hook belongs to: :func:`hooks.owner_token`)
    the object is marked with it and a ``generateName`` hook gets a name
    derived from it, so a create repeated after a crash finds the object the
    first one made and adopts it instead of making a second. Without one (an
    operation gitward did not lock) the API server names it.
    """
    assert task.obj is not None
    if request.dry_run:
        task.hook_phase, task.message = HookPhase.SUCCEEDED, "hook would run (dry run)"
        return
    obj = task.obj
    name = ""
    if token:
        if not task.key.name:
            prefix = str((obj.get("metadata") or {}).get("generateName") or "")
            key = task.key
            name = hooks.derived_name(prefix, token, f"{key.group}/{key.kind}/{key.namespace}")
        obj = hooks.marked(obj, token, name)
        if name:
            task.key = dataclasses.replace(task.key, name=name)
    try:
        # Only a named hook whose earlier object must go is looked up first (a request
        # it always cost); any other create finds out by AlreadyExists, and one left by
        # a crash of this very step is adopted either way.
        replace = bool(task.key.name) and not name and "BeforeHookCreation" in task.delete_policies
        existing = await _get(client, task) if replace else None
        if existing is not None and token and hooks.owner_of(existing) == token:
            _adopted(task, existing)
            return
        if existing is not None:
            await client.delete(
                task.api_version, task.key.kind, task.key.name, task.key.namespace or None
            )
            if not await _wait_gone(client, task, 60):
                raise ClusterError(f"previous {_label(task)} was not deleted within 60 s")
        try:
            task.live = await client.create(obj, field_validation=task.options.field_validation)
        except Conflict:
            found = await _get(client, task) if token else None
            if found is None or hooks.owner_of(found) != token:
                raise ClusterError(
                    f"{_label(task)} already exists and was not created by this operation: "
                    "not adopted"
                ) from None
            _adopted(task, found)
            return
        if not task.key.name:  # generateName without a token: follow what the server named
            task.key = dataclasses.replace(task.key, name=task.live["metadata"]["name"])
    except ClusterError as exc:
        task.hook_phase, task.status, task.message = (
            HookPhase.FAILED,
            ResultCode.SYNC_FAILED,
            str(exc),
        )
        return
    task.hook_phase, task.message = HookPhase.RUNNING, f"{_label(task)} created"


def _adopted(task: SyncTask, live: Obj) -> None:
    """Take over the hook object an earlier try of this very step created."""
    task.live = live
    task.hook_phase, task.message = HookPhase.RUNNING, f"{_label(task)} created"


#: Longest a SyncFail hook may run (from its creation) before it is deleted and the
#: operation ends Failed: Argo CD bounds these hooks only by the controller's sync timeout,
#: which is off by default, so a hanging one would hold its app Running for ever.
SYNC_FAIL_LIMIT = 120.0


def overdue(task: SyncTask, live: Obj, limit: float) -> bool:
    """Whether a running SyncFail hook has outlived ``limit`` seconds (its creation time
    is the API server's, so every process agrees without a record of its own)."""
    if task.phase is not SyncPhase.SYNC_FAIL or limit <= 0:
        return False
    created = str((live.get("metadata") or {}).get("creationTimestamp") or "")
    return age_seconds(created) > limit


async def _delete_hook(client: KubeClient, task: SyncTask, live: Obj, operation_id: str) -> bool:
    """Delete a finished (or overdue) hook object, only if this operation made it.

    The hook's name may come from the record (a ``generateName`` hook), which is
    input anyone with write access to the status may have edited: an object
    without this operation's :data:`hooks.OWNER` mark is never deleted.
    """
    if not hooks.belongs_to_operation(live, operation_id):
        return False
    with contextlib.suppress(NotFound):
        await client.delete(
            task.api_version,
            task.key.kind,
            task.key.name,
            task.key.namespace or None,
            propagation="Background",
        )
    return True


async def poll_hook(
    client: KubeClient,
    task: SyncTask,
    sync_fail_limit: float = SYNC_FAIL_LIMIT,
    operation_id: str = "",
) -> None:
    """Update a running hook's phase; apply its delete policy once it has finished."""
    if task.hook_phase is not HookPhase.RUNNING:
        return
    live = await _get(client, task)
    if live is None:
        task.hook_phase, task.status = HookPhase.FAILED, ResultCode.SYNC_FAILED
        task.message = f"{_label(task)} disappeared while running"
        return
    outcome = _hook_outcome(live)
    if outcome is HookPhase.RUNNING and overdue(task, live, sync_fail_limit):
        task.hook_phase, task.status = HookPhase.FAILED, ResultCode.SYNC_FAILED
        deleted = await _delete_hook(client, task, live, operation_id)
        task.message = (
            f"{_label(task)} did not complete within {sync_fail_limit:.0f} s "
            f"(the time limit of SyncFail hooks){': deleted' if deleted else ''}"
        )
        return
    if outcome is HookPhase.RUNNING:
        return
    task.hook_phase = outcome
    succeeded = outcome is HookPhase.SUCCEEDED
    task.status = ResultCode.SYNCED if succeeded else ResultCode.SYNC_FAILED
    task.message = _hook_message(live) or f"{_label(task)} {outcome.lower()}"
    policy = "HookSucceeded" if succeeded else "HookFailed"
    if policy in task.delete_policies:
        await _delete_hook(client, task, live, operation_id)


async def wave_health(
    read: Callable[[SyncTask], Awaitable[Obj | None]],
    tasks: list[SyncTask],
    overrides: ResourceOverrides | None = None,
) -> tuple[bool, str]:
    """(all healthy, reason) for the applied resources of a wave (argocd-cm health included).

    ``read`` gives a task's live object: the destination's watch cache, so a
    step that waits on a wave of hundreds of objects asks the API server nothing.
    """
    for task in tasks:
        if task.action != "apply" or task.status is not ResultCode.SYNCED:
            continue
        live = await read(task)
        if live is None:
            return False, f"waiting for {_label(task)} to exist"
        verdict = health.assess(live, overrides)
        if verdict is None or verdict.status in (HealthStatus.HEALTHY, HealthStatus.SUSPENDED):
            continue
        if verdict.status is HealthStatus.DEGRADED:
            # Recorded on the task: a later step (perhaps another process) sees the failure.
            task.status = ResultCode.SYNC_FAILED
            task.message = f"{_label(task)} is Degraded: {verdict.message}"
            raise WaveDegraded(task.message)
        return False, f"waiting for {_label(task)}: {verdict.message or verdict.status}"
    return True, ""
