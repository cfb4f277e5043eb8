"""The state machine's hands on a real cluster: run a wave, check hooks, judge a wave's health.

:class:`ClusterExecutor` is the :class:`gitward.sync.machine.Executor` every
operation step uses; the state machine's table tests use a fake one. Writes
go through ``writer`` (the destination's client, or a view of it that
impersonates the project's service account); each object written is told to
the destination's live view, so the refresh after the sync reads it from
memory instead of asking the API server again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from gitward.appstate.destinations import Target
from gitward.cluster import Conflict, KubeClient
from gitward.model import resource_options as sync_options
from gitward.model.application import Application
from gitward.model.overrides import ResourceOverrides
from gitward.model.phases import ResultCode
from gitward.sync import execute, hooks
from gitward.sync.plan import SyncRequest, SyncTask

Obj = dict[str, Any]

#: How many resources are applied at once.
APPLY_CONCURRENCY = 32
#: Kinds applied before the rest of their wave: others cannot be applied without them.
FOUNDATION_KINDS = frozenset({"Namespace", "CustomResourceDefinition"})


def prune_allowed(
    tasks: list[SyncTask], request: SyncRequest, app: Application
) -> tuple[bool, str]:
    """(allowed, why not) for the prunes of a plan: never all of an app by an empty render."""
    if not request.prune:
        return False, "ignored (requires pruning)"
    declared = [t for t in tasks if t.action != "prune"]
    policy = app.sync_policy
    allow_empty = bool(policy and policy.automated and policy.automated.allow_empty)
    if not declared and not allow_empty:
        return False, (
            "refusing to prune: the render is empty (set syncPolicy.automated.allowEmpty "
            "to allow an empty application)"
        )
    return True, ""


class ClusterExecutor:
    """Runs the state machine's work against the destination cluster."""

    def __init__(
        self,
        writer: KubeClient,
        target: Target,
        request: SyncRequest,
        tasks: list[SyncTask],
        app: Application,
        overrides: ResourceOverrides | None = None,
    ) -> None:
        self.writer = writer
        self.target = target
        self.request = request
        self.overrides = overrides
        self.allowed, self.why_not = prune_allowed(tasks, request, app)
        #: Called for each task finished (the CLI prints it).
        self.progress: Callable[[SyncTask], None] = lambda _task: None
        #: The operation (its lock's id) and attempt the hooks created belong to; without
        #: an id the API server names ``generateName`` hooks (see :mod:`gitward.sync.hooks`).
        self.operation_id = ""
        self.retry_count = 0
        #: Seconds a SyncFail hook may run before it is deleted and counted as failed.
        self.sync_fail_limit = execute.SYNC_FAIL_LIMIT

    def _token(self, task: SyncTask) -> str:
        if not self.operation_id:
            return ""
        return hooks.owner_token(self.operation_id, self.retry_count, str(task.phase), task.wave)

    def _observe(self, obj: Obj) -> None:
        if not self.request.dry_run:
            self.target.live.observe(obj)

    async def _one(self, task: SyncTask, semaphore: asyncio.Semaphore) -> None:
        if task.violation:
            self.progress(task)  # failed by the plan: outside the project's fence
            return
        async with semaphore:
            if task.action == "apply":
                if task.options.flag("ApplyOutOfSyncOnly") and not task.out_of_sync:
                    task.status = ResultCode.SYNCED
                    task.message = "unchanged (ApplyOutOfSyncOnly)"
                else:
                    await execute.apply_task(self.writer, task, self.request)
            elif task.action == "prune":
                await execute.prune_task(
                    self.writer, task, self.request, self.allowed, self.why_not
                )
            else:
                await execute.start_hook(self.writer, task, self.request, self._token(task))
        if task.live is not None and task.action == "apply":
            self._observe(task.live)
        self.progress(task)

    async def run(self, tasks: list[SyncTask]) -> None:
        """A staged apply, as Flux's: Namespaces and CRDs, then the rest at once, then prunes.

        What the others need to exist (a namespace to live in, a CRD to be
        served) goes first; every other kind of the wave is applied
        concurrently, so a wave costs the round trips of its stages rather
        than one per kind.
        """
        semaphore = asyncio.Semaphore(APPLY_CONCURRENCY)
        stages: list[list[SyncTask]] = [[], [], []]
        for task in tasks:
            if task.action == "prune":
                stages[2].append(task)
            elif task.key.kind in FOUNDATION_KINDS and task.action == "apply":
                stages[0].append(task)
            else:
                stages[1].append(task)
        for stage in stages:
            await asyncio.gather(*(self._one(t, semaphore) for t in stage))

    async def poll(self, hooks: list[SyncTask]) -> None:
        for task in hooks:
            await execute.poll_hook(self.writer, task, self.sync_fail_limit, self.operation_id)
            if task.done:
                self.progress(task)

    async def healthy(self, tasks: list[SyncTask]) -> tuple[bool, str]:
        return await execute.wave_health(self._read, tasks, self.overrides)

    async def _read(self, task: SyncTask) -> Obj | None:
        key = task.key
        return await self.target.live.get(
            task.api_version, key.kind, key.name, key.namespace or None
        )


async def create_namespace(
    writer: KubeClient, target: Target, app: Application, request: SyncRequest
) -> None:
    """``CreateNamespace=true``: make the destination namespace (and its metadata) first.

    Only when the destination's live view does not have it: a namespace that
    exists costs no request (unless managed metadata must be applied to it).
    """
    policy = app.sync_policy
    options = [*(policy.sync_options if policy else ()), *request.sync_options]
    wanted = sync_options.parse(options, "spec.syncPolicy.syncOptions")
    namespace = app.destination.namespace
    if wanted.get("CreateNamespace", "").lower() != "true" or not namespace:
        return
    meta: Obj = {"name": namespace}
    managed = policy.managed_namespace_metadata if policy else None
    if managed is not None:
        if managed.labels:
            meta["labels"] = dict(managed.labels)
        if managed.annotations:
            meta["annotations"] = dict(managed.annotations)
    if await target.live.get("v1", "Namespace", namespace, None) is None:
        try:
            created = await writer.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}
            )
            target.live.observe(created)
            return
        except Conflict:
            pass  # made meanwhile (the live view lagged): apply the metadata below
    if len(meta) > 1:
        await writer.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
