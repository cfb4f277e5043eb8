"""A sync operation as a resumable state machine.

:meth:`SyncOperation.step` does one unit of work — start a phase's wave,
check whether the running wave is healthy, collect hook results — persists the
operation state into the Application's ``status.operationState``, and returns
whether the operation has finished. The CLI calls it in a loop with a short
pause; the controller calls it on each event or tick. Nothing is held in
memory that the status does not also say, so a later process can see what was
done.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gitward.cluster import ClusterError, Conflict, KubeClient
from gitward.model.application import Application
from gitward.model.errors import GitwardError
from gitward.sync import events, execute, history, lock
from gitward.sync import options as sync_options_module
from gitward.sync.compare import Comparison
from gitward.sync.destinations import Target
from gitward.sync.ordering import Phase
from gitward.sync.plan import SyncRequest, SyncTask, build_plan, waves
from gitward.sync.refresh import Refresher, parse_app_object
from gitward.sync.status import now, patch_status, status_fields

Obj = dict[str, Any]
Progress = Callable[[SyncTask], None]

#: How many resources of one kind are applied at once.
APPLY_CONCURRENCY = 32
#: Least seconds between two progress messages / heartbeats written while a sync runs.
PROGRESS_EVERY = 1.0
HEARTBEAT_EVERY = 10.0
#: The start of the message of an operation a sync window refused (Argo CD's words).
SYNC_WINDOW_BLOCKED = "Cannot sync: blocked by sync window"


@dataclass
class OperationResult:
    phase: str  # Succeeded | Failed | Error
    message: str
    revision: str
    tasks: list[SyncTask] = field(default_factory=list)


def operation_field(request: SyncRequest, initiator: str, automated: bool = False) -> Obj:
    """The Application's ``operation`` for ``request``, in Argo CD's shape.

    It records everything :func:`gitward.sync.requested.request_from_operation`
    needs to run the same sync again: a restarted controller resumes from it.
    """
    sync: Obj = {"prune": request.prune, "dryRun": request.dry_run}
    if request.revision:
        sync["revision"] = request.revision
    if request.revisions:
        sync["revisions"] = list(request.revisions)
    if request.sync_options:
        sync["syncOptions"] = list(request.sync_options)
    if request.resources is not None:
        sync["resources"] = [
            {"group": g, "kind": k, "name": n} for g, k, n in sorted(request.resources)
        ]
    sync["syncStrategy"] = {"hook": {"force": True} if request.force else {}}
    operation: Obj = {
        "sync": sync,
        "initiatedBy": {"automated": True} if automated else {"username": initiator},
    }
    if request.retry is not None:
        backoff = request.retry.backoff
        operation["retry"] = {
            "limit": request.retry.limit,
            "backoff": {
                "duration": backoff.duration,
                "factor": backoff.factor,
                "maxDuration": backoff.max_duration,
            },
        }
    return operation


class SyncOperation:
    """One sync of one Application, from lock to history."""

    def __init__(
        self,
        refresher: Refresher,
        app_obj: Obj,
        request: SyncRequest,
        *,
        initiator: str = "gitward-cli",
        automated: bool = False,
        progress: Progress = lambda _task: None,
        retry_count: int = 0,
        takeover: bool = False,
        comparison: Comparison | None = None,
    ) -> None:
        self.retry_count = retry_count
        #: Run an operation that is already set but requested or abandoned (lock.acquire).
        self.takeover = takeover
        self.refresher = refresher
        #: The cluster holding the Application: lock, status, events.
        self.client = refresher.client
        #: The destination cluster: everything applied, pruned or waited for. Set by start().
        self.target: Target | None = None
        #: Who writes to the destination: its client, or a view of it impersonating the
        #: project's service account (``application.sync.impersonation.enabled``).
        self._writer: KubeClient | None = None
        self.app_obj = app_obj
        self.app: Application = parse_app_object(app_obj)
        self.request = request
        self.initiator = initiator
        self.automated = automated
        self.progress = progress
        self.tasks: list[SyncTask] = []
        #: What to plan from: given (fresh, at the requested revision) or made by start().
        self.comparison: Comparison | None = comparison
        self.started_at = now()
        self.phase: Phase = Phase.PRE_SYNC
        self.wave_index = 0
        self.running: list[SyncTask] = []
        self.failed_message = ""
        self.state = "Pending"
        #: True when the last step() is waiting for the cluster (hooks, health): the
        #: caller pauses before the next one; otherwise it steps again at once.
        self.waiting = False
        #: True once finish() stored a fresh comparison with the result.
        self.refreshed = False
        self._last_progress = self._last_beat = time.monotonic()

    # -- persistence ---------------------------------------------------------

    def _operation_state(self, phase: str, message: str, finished: bool) -> Obj:
        state: Obj = {
            "operation": operation_field(self.request, self.initiator, self.automated),
            "phase": phase,
            "message": message,
            "startedAt": self.started_at,
            "retryCount": self.retry_count,
            "syncResult": {
                "revision": self.comparison.revision if self.comparison else "",
                "resources": [t.as_result() for t in self.tasks],
            },
        }
        if self.comparison is not None and self.comparison.revisions:
            state["syncResult"]["revisions"] = list(self.comparison.revisions)
            state["syncResult"]["sources"] = self.app_obj["spec"].get("sources")
        if self.app.source is not None and not self.app.sources:
            state["syncResult"]["source"] = self.app_obj["spec"].get("source")
        if finished:
            state["finishedAt"] = now()
        return state

    async def _persist(
        self, phase: str, message: str, finished: bool = False, extra: Obj | None = None
    ) -> None:
        status: Obj = {"operationState": self._operation_state(phase, message, finished)}
        status.update(extra or {})
        self.app_obj = await patch_status(self.client, self.app_obj, status)

    # -- the state machine ---------------------------------------------------

    async def start(self) -> None:
        """Take the lock, compare, plan. Raises OperationInProgress if another op runs."""
        self.app_obj = await lock.acquire(
            self.client,
            self.app_obj,
            operation_field(self.request, self.initiator, self.automated),
            self.refresher.holder,
            takeover=self.takeover,
        )
        self.state = "Running"
        target = self.request.revision or (
            self.app.source.target_revision if self.app.source else ""
        )
        await events.record(
            self.client,
            self.app_obj,
            "OperationStarted",
            f"{'Dry-run s' if self.request.dry_run else 'S'}ync operation to {target or 'HEAD'} "
            f"initiated by {self.initiator}",
        )
        try:
            self.target = await self.refresher.target(self.app_obj)
        except GitwardError as exc:
            await self.finish("Error", f"cannot sync: {exc}")
            return
        comparison = self.comparison  # one the caller just made (the controller's refresh)
        stale = comparison is None or comparison.revision != (self.request.revision or "")
        if self.request.revisions:
            stale = comparison is None or comparison.revisions != self.request.revisions
        if comparison is None or stale:
            comparison = await self.refresher.compare(
                self.app_obj, self.request.revision, self.request.revisions
            )
        self.comparison = comparison
        if comparison.conditions and comparison.sync_status.value == "Unknown":
            message = "; ".join(c["message"] for c in comparison.conditions)
            await self.finish("Error", f"cannot sync: {message}")
            return
        if comparison.fence is not None:
            window = comparison.fence.window_verdict(
                self.app.name, self.app.destination.namespace, manual=not self.automated
            )
            if not window.allowed:
                await self.finish("Error", f"{SYNC_WINDOW_BLOCKED}: {window.reason}")
                return
        if self.refresher.settings.impersonation:
            namespace = self.app.destination.namespace
            account = comparison.fence.service_account(namespace) if comparison.fence else None
            if account is None:
                await self.finish(
                    "Error",
                    "cannot sync: impersonation is enabled and no destinationServiceAccounts "
                    f"entry of the project matches server {self.target.server} and namespace "
                    f"{namespace!r}",
                )
                return
            self._writer = self.target.client.impersonating(account)
        try:
            self.tasks = build_plan(comparison, self.app, self.request)
        except GitwardError as exc:  # a refusal of the whole sync (FailOnSharedResource, ...)
            await self.finish("Failed", str(exc))
            return
        if not self.request.dry_run:
            try:
                await self._create_namespace()
            except ClusterError as exc:
                await self.finish("Failed", f"cannot create the destination namespace: {exc}")
                return
        # No "Running" write yet: a sync that ends within PROGRESS_EVERY writes only its
        # result. The lock (with holder and heartbeat) already says an operation runs.
        self._last_progress = time.monotonic()

    async def _create_namespace(self) -> None:
        """``CreateNamespace=true``: make the destination namespace (and its metadata) first."""
        policy = self.app.sync_policy
        options = [*(policy.sync_options if policy else ()), *self.request.sync_options]
        wanted = sync_options_module.parse(options, "spec.syncPolicy.syncOptions")
        namespace = self.app.destination.namespace
        if wanted.get("CreateNamespace", "").lower() != "true" or not namespace:
            return
        meta: Obj = {"name": namespace}
        managed = policy.managed_namespace_metadata if policy else None
        if managed is not None:
            if managed.labels:
                meta["labels"] = dict(managed.labels)
            if managed.annotations:
                meta["annotations"] = dict(managed.annotations)
        assert self.target is not None
        if await self.target.live.get("v1", "Namespace", namespace, None) is None:
            try:
                created = await self.writer.create(
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}
                )
                self.dest_live_observe(created)
                return
            except Conflict:
                pass  # made meanwhile (the live view lagged): apply the metadata below
        if len(meta) > 1:
            await self.writer.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})

    @property
    def dest(self) -> KubeClient:
        """The destination cluster's client (only valid once start() resolved it)."""
        assert self.target is not None, "the operation has not started"
        return self.target.client

    @property
    def writer(self) -> KubeClient:
        """The client every write of the sync goes through (applies, prunes, hooks)."""
        return self._writer or self.dest

    def dest_live_observe(self, obj: Obj) -> None:
        """Tell the destination's live view about an object just written (a cache keeps it)."""
        if self.target is not None and not self.request.dry_run:
            self.target.live.observe(obj)

    def _prune_allowed(self) -> tuple[bool, str]:
        if not self.request.prune:
            return False, "ignored (requires pruning)"
        declared = [t for t in self.tasks if t.action != "prune"]
        policy = self.app.sync_policy
        allow_empty = bool(policy and policy.automated and policy.automated.allow_empty)
        if not declared and not allow_empty:
            return False, (
                "refusing to prune: the render is empty (set syncPolicy.automated.allowEmpty "
                "to allow an empty application)"
            )
        return True, ""

    def _skip_unchanged(self, task: SyncTask) -> bool:
        only = task.options.flag("ApplyOutOfSyncOnly")
        return only and task.action == "apply" and not task.out_of_sync

    async def _run_wave(self, wave: list[SyncTask]) -> None:
        allowed, why = self._prune_allowed()
        semaphore = asyncio.Semaphore(APPLY_CONCURRENCY)

        async def one(task: SyncTask) -> None:
            if task.violation:
                self.progress(task)  # failed by the plan: outside the project's fence
                return
            async with semaphore:
                if task.action == "apply":
                    if self._skip_unchanged(task):
                        task.status, task.message = "Synced", "unchanged (ApplyOutOfSyncOnly)"
                    else:
                        await execute.apply_task(self.writer, task, self.request)
                elif task.action == "prune":
                    await execute.prune_task(self.writer, task, self.request, allowed, why)
                else:
                    await execute.start_hook(self.writer, task, self.request)
            if task.live is not None and task.action == "apply":
                self.dest_live_observe(task.live)
            self.progress(task)

        # Kinds apply in order (Namespaces and CRDs before what uses them); one kind at once.
        by_kind: dict[tuple[int, str], list[SyncTask]] = {}
        for task in wave:
            by_kind.setdefault((0 if task.action != "prune" else 1, task.key.kind), []).append(task)
        for group in by_kind.values():
            await asyncio.gather(*(one(t) for t in group))

    def _current_waves(self) -> list[list[SyncTask]]:
        return waves(self.tasks, self.phase)

    def _has_later_work(self) -> bool:
        """True when something after the current wave needs it healthy."""
        later_waves = len(self._current_waves()) > self.wave_index + 1
        later_phase = (
            any(t.phase in (Phase.POST_SYNC,) for t in self.tasks) and self.phase < Phase.POST_SYNC
        )
        return later_waves or later_phase

    async def step(self) -> bool:
        """Advance the operation; True once it has finished."""
        if self.state != "Running":
            return True
        if self.running:
            for task in self.running:
                if task.action == "hook":
                    await execute.poll_hook(self.writer, task)
                    if task.done:
                        self.progress(task)
            if any(t.failed and not t.refused for t in self.running):
                return await self._fail(self._failure_message(self.running))
            if not all(t.done for t in self.running):
                await self._progress(f"waiting for {self.phase.label} hooks to complete")
                await self._heartbeat()
                self.waiting = True
                return False
            if self._has_later_work() and not self.request.dry_run:
                try:
                    healthy, reason = await execute.wave_health(
                        self.dest, self.running, self.refresher.settings.overrides
                    )
                except execute.WaveDegraded as exc:
                    return await self._fail(str(exc))
                if not healthy:
                    await self._progress(reason)
                    await self._heartbeat()
                    self.waiting = True
                    return False
            self.running = []
            self.wave_index += 1
        phase_waves = self._current_waves()
        while self.wave_index >= len(phase_waves):
            if self.phase >= Phase.POST_SYNC:
                return await self._succeed()
            self.phase = Phase(self.phase + 1)
            self.wave_index = 0
            phase_waves = self._current_waves()
        wave = phase_waves[self.wave_index]
        await self._run_wave(wave)
        self.running = wave
        if any(t.failed and not t.refused for t in wave):
            return await self._fail(self._failure_message(wave))
        await self._progress(f"running {self.phase.label} wave {wave[0].wave}")
        # Applies are done when _run_wave returns; only hooks make the next step wait.
        self.waiting = False
        return False

    async def _progress(self, message: str) -> None:
        """Record a Running message, at most every PROGRESS_EVERY seconds (a PATCH each)."""
        if time.monotonic() - self._last_progress < PROGRESS_EVERY:
            return
        self._last_progress = time.monotonic()
        await self._persist("Running", message)

    async def _heartbeat(self) -> None:
        if time.monotonic() - self._last_beat < HEARTBEAT_EVERY:
            return
        self._last_beat = time.monotonic()
        with contextlib.suppress(ClusterError):  # a missed beat is not a failed sync
            await lock.heartbeat(self.client, self.app_obj, self.refresher.holder)

    def _failure_message(self, tasks: list[SyncTask]) -> str:
        failed = [t for t in tasks if t.failed]
        return "one or more objects failed to apply: " + "; ".join(t.message for t in failed)

    async def _fail(self, message: str) -> bool:
        self.failed_message = message
        hooks = [t for t in self.tasks if t.phase is Phase.SYNC_FAIL]
        for hook_wave in waves(hooks, Phase.SYNC_FAIL):
            await self._run_wave(hook_wave)
            deadline = time.monotonic() + 120
            while not all(t.done for t in hook_wave) and time.monotonic() < deadline:
                for t in hook_wave:
                    await execute.poll_hook(self.writer, t)
                await asyncio.sleep(0.2)
        await self.finish("Failed", message)
        return True

    async def _succeed(self) -> bool:
        refused = [t for t in self.tasks if t.refused]
        if refused:
            # Everything permitted was synced; what the project forbids was never touched.
            return await self._fail(
                f"{len(refused)} resource(s) not permitted by the project, not synced: "
                + "; ".join(t.violation for t in refused)
            )
        verb = "dry run" if self.request.dry_run else "synced"
        await self.finish("Succeeded", f"successfully {verb} (all tasks run)")
        return True

    async def finish(self, phase: str, message: str) -> None:
        extra: Obj = {}
        if phase == "Succeeded" and not self.request.dry_run and self.comparison is not None:
            entry: Obj = {
                "revision": self.comparison.revision,
                "deployedAt": now(),
                "deployStartedAt": self.started_at,
                "initiatedBy": {"username": self.initiator, "automated": self.automated},
            }
            if self.app_obj["spec"].get("source"):
                entry["source"] = self.app_obj["spec"]["source"]
            if self.app_obj["spec"].get("sources"):
                entry["sources"] = self.app_obj["spec"]["sources"]
            if self.comparison.revisions:
                entry["revisions"] = list(self.comparison.revisions)
            previous = list((self.app_obj.get("status") or {}).get("history") or [])
            extra["history"] = history.append(previous, entry, self.app.revision_history_limit)
        if phase == "Succeeded" and not self.request.dry_run:
            # The refresh after the sync goes into the same status write as its result.
            after = await self.refresher.compare(self.app_obj)
            extra.update(status_fields(after, self.app_obj))
            self.refreshed = True
        self.state = phase
        await self._persist(phase, message, finished=True, extra=extra)
        revision = self.comparison.revision[:7] if self.comparison else ""
        await events.record(
            self.client,
            self.app_obj,
            "OperationCompleted",
            f"Sync operation to {revision} {phase.lower()}: {message}",
            warning=phase != "Succeeded",
        )
        await lock.release(self.client, self.app_obj)

    def result(self) -> OperationResult:
        revision = self.comparison.revision if self.comparison else ""
        message = self.failed_message or (
            (self.app_obj.get("status") or {}).get("operationState") or {}
        ).get("message", "")
        return OperationResult(self.state, message, revision, self.tasks)


async def _run_once(
    op: SyncOperation, request: SyncRequest, timeout: float, poll: float
) -> OperationResult:
    await op.start()
    deadline = time.monotonic() + timeout
    try:
        while not await op.step():
            if time.monotonic() > deadline:
                last = ((op.app_obj.get("status") or {}).get("operationState") or {}).get("message")
                await op.finish("Failed", f"timed out after {timeout:.0f} s: {last}")
                break
            if op.waiting:
                await asyncio.sleep(poll)
    except BaseException as exc:
        if op.state == "Running":
            await op.finish("Error", f"sync interrupted: {exc}")
        raise
    return op.result()


async def run_sync(
    refresher: Refresher,
    app_obj: Obj,
    request: SyncRequest,
    *,
    timeout: float = 300.0,
    poll: float = 0.25,
    progress: Progress = lambda _task: None,
    notice: Callable[[str], None] = lambda _msg: None,
    initiator: str = "gitward-cli",
    automated: bool = False,
    takeover: bool = False,
    comparison: Comparison | None = None,
) -> OperationResult:
    """Run a whole sync in this process, retrying as the retry policy says; refresh after."""
    app = parse_app_object(app_obj)
    retry = request.retry or (app.sync_policy.retry if app.sync_policy else None)
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        op = SyncOperation(
            refresher,
            app_obj,
            request,
            initiator=initiator,
            automated=automated,
            progress=progress,
            retry_count=attempt,
            takeover=takeover and attempt == 0,
            comparison=comparison if attempt == 0 else None,
        )
        result = await _run_once(op, request, max(deadline - time.monotonic(), 1.0), poll)
        app_obj = op.app_obj
        exhausted = retry is None or (0 <= retry.limit <= attempt)
        if result.phase == "Succeeded" or exhausted or request.dry_run:
            break
        assert retry is not None
        delay = retry.backoff.delay(attempt)
        if time.monotonic() + delay > deadline:
            notice(f"not retrying: the next attempt would start after the {timeout:.0f} s timeout")
            break
        attempt += 1
        limit = "unlimited" if retry.limit < 0 else str(retry.limit)
        outcome = f"sync {result.phase.lower()}: {result.message}"
        notice(f"{outcome}; retry {attempt}/{limit} in {delay:.0f} s")
        await asyncio.sleep(delay)
        app_obj = await refresher.client.get(
            "argoproj.io/v1alpha1",
            "Application",
            app_obj["metadata"]["name"],
            app_obj["metadata"].get("namespace"),
        )
    if not request.dry_run and not op.refreshed:
        op.app_obj, _comparison = await refresher.refresh(op.app_obj)
    return result
