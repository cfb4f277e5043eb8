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
from gitward.cluster import ApiError, ClusterError, KubeClient, NotFound
from gitward.model.overrides import ResourceOverrides
from gitward.model.phases import HookPhase, ResultCode
from gitward.model.status import HealthStatus
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


async def start_hook(client: KubeClient, task: SyncTask, request: SyncRequest) -> None:
    """Create a hook's object (after deleting a previous one, per BeforeHookCreation)."""
    assert task.obj is not None
    if request.dry_run:
        task.hook_phase, task.message = HookPhase.SUCCEEDED, "hook would run (dry run)"
        return
    try:
        named = bool(task.key.name)
        if named and "BeforeHookCreation" in task.delete_policies and await _get(client, task):
            await client.delete(
                task.api_version, task.key.kind, task.key.name, task.key.namespace or None
            )
            if not await _wait_gone(client, task, 60):
                raise ClusterError(f"previous {_label(task)} was not deleted within 60 s")
        task.live = await client.create(task.obj, field_validation=task.options.field_validation)
        if not task.key.name:  # generateName: follow the object the server named
            task.key = dataclasses.replace(task.key, name=task.live["metadata"]["name"])
    except ClusterError as exc:
        task.hook_phase, task.status, task.message = (
            HookPhase.FAILED,
            ResultCode.SYNC_FAILED,
            str(exc),
        )
        return
    task.hook_phase, task.message = HookPhase.RUNNING, f"{_label(task)} created"


async def poll_hook(client: KubeClient, task: SyncTask) -> None:
    """Update a running hook's phase; apply its delete policy once it has finished."""
    if task.hook_phase is not HookPhase.RUNNING:
        return
    live = await _get(client, task)
    if live is None:
        task.hook_phase, task.status = HookPhase.FAILED, ResultCode.SYNC_FAILED
        task.message = f"{_label(task)} disappeared while running"
        return
    outcome = _hook_outcome(live)
    if outcome is HookPhase.RUNNING:
        return
    task.hook_phase = outcome
    succeeded = outcome is HookPhase.SUCCEEDED
    task.status = ResultCode.SYNCED if succeeded else ResultCode.SYNC_FAILED
    task.message = _hook_message(live) or f"{_label(task)} {outcome.lower()}"
    policy = "HookSucceeded" if succeeded else "HookFailed"
    if policy in task.delete_policies:
        with contextlib.suppress(NotFound):
            await client.delete(
                task.api_version,
                task.key.kind,
                task.key.name,
                task.key.namespace or None,
                propagation="Background",
            )


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
