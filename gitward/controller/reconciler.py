"""Reconcile one Application: refresh it, and sync it when its policy says so.

Automated sync follows Argo CD's rules: sync when the app is OutOfSync at a
revision that was not synced yet, or with a source (parameters, Kustomize
images) changed since the last sync; once synced, only ``selfHeal`` re-syncs
drift, with a growing pause between heals (2 s, x3, at most 300 s). A
revision and source whose sync failed are not retried on every pass — only
its retry policy, a new commit or source, or a manual sync moves it on.
Nothing is synced while another operation holds the app.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gitward._util.logcontext import log_context
from gitward.cluster import KubeClient, NotFound
from gitward.controller import dependencies
from gitward.model.application import split_qualified
from gitward.model.errors import GitwardError
from gitward.model.kinds import API_VERSION, APPLICATION
from gitward.model.status import SyncStatus
from gitward.projects.fence import Fence
from gitward.sync import Comparison, Refresher, cascade, events, lock, parse_app_object
from gitward.sync.lock import OperationInProgress
from gitward.sync.operation import run_sync
from gitward.sync.plan import SyncRequest
from gitward.sync.requested import (
    initiator_of,
    is_automated,
    request_from_operation,
)
from gitward.sync.status import now, patch_status, set_conditions

Obj = dict[str, Any]
log = logging.getLogger("gitward.controller")

REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
HEAL_FIRST_DELAY = 2.0
HEAL_FACTOR = 3.0
HEAL_MAX_DELAY = 300.0
#: When another operation holds the app (or won a race for it), look again this soon.
BUSY_RETRY_SECONDS = 2.0
#: After a failed cascade deletion (an unreachable repo or cluster), try again this late.
DELETION_RETRY_SECONDS = 30.0
#: An automated sync is due but the project's sync windows hold it (gitward's own type;
#: ``...Warning`` as tools classify conditions by suffix).
WINDOW_CONDITION = "SyncWindowWarning"


@dataclass
class AppMemory:
    """What the controller remembers between passes for one app (not persisted)."""

    #: The revision and source(s) of the last automated sync that failed (see _attempt).
    failed_attempt: str = ""
    heal_attempts: int = 0
    next_heal_at: float = 0.0
    syncs: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _synced_revision(obj: Obj) -> str:
    state = (obj.get("status") or {}).get("operationState") or {}
    if state.get("phase") != "Succeeded":
        return ""
    return str((state.get("syncResult") or {}).get("revision", ""))


def _source_changed(obj: Obj) -> bool:
    """Whether the spec's source(s) differ from those the last successful sync used.

    Argo CD syncs again then (its ``alreadyAttemptedSync`` compares both): a parameter
    override — ``kustomize.images``, Helm parameters, as ``app set`` or Image Updater's
    ``argocd`` write-back makes — changes what one revision renders.
    """
    state = (obj.get("status") or {}).get("operationState") or {}
    if state.get("phase") != "Succeeded":
        return False
    result = state.get("syncResult") or {}
    spec = obj.get("spec") or {}
    if spec.get("sources") or result.get("sources"):
        return bool(result.get("sources") != spec.get("sources"))
    return bool(result.get("source") != spec.get("source"))


def _attempt(revision: str, obj: Obj) -> str:
    """An automated sync attempt: the revision and the source(s) it rendered."""
    spec = obj.get("spec") or {}
    sources = spec.get("sources") or spec.get("source")
    return f"{revision} {json.dumps(sources, sort_keys=True, default=str)}"


class Reconciler:
    def __init__(
        self,
        client: KubeClient,
        refresher: Refresher,
        namespace: str,
        read_app: Callable[[str], Awaitable[Obj | None]] | None = None,
        *,
        index: Callable[[str], Mapping[str, Obj]] | None = None,
        forget_revisions: Callable[[bool], None] = lambda _hard: None,
        wake: Callable[[str, float], None] = lambda _name, _delay: None,
    ) -> None:
        self.client = client
        #: How a pass reads its Application: the controller's watch cache, else a GET.
        self.read_app = read_app or self.get_app
        #: The latest Application of each name in a namespace (for depends-on).
        self.index: Callable[[str], Mapping[str, Obj]] = index or (lambda _namespace: self.apps)
        #: Drops cached ref listings (and, when True, renders): the refresh annotation.
        self.forget_revisions = forget_revisions
        #: Asks for another pass of an app after a delay (the controller's queue).
        self.wake = wake
        self.refresher = refresher
        self.namespace = namespace
        self.memory: dict[str, AppMemory] = {}
        #: Syncs run, by (app, phase): for metrics.
        self.sync_counts: Counter[tuple[str, str]] = Counter()
        #: The last stored state of every app reconciled: for metrics.
        self.apps: dict[str, Obj] = {}

    async def get_app(self, name: str) -> Obj | None:
        """The Application of qualified name ``name`` (``NS/NAME`` outside the namespace)."""
        namespace, plain = split_qualified(name, self.namespace)
        try:
            return await self.client.get(API_VERSION, APPLICATION, plain, namespace)
        except NotFound:
            return None

    async def reconcile(self, name: str) -> bool:
        """One pass over app ``name``; False when the app no longer exists."""
        obj = await self.read_app(name)
        if obj is None:
            return self._gone(name)
        if cascade.is_deleting(obj):
            self.apps[name] = obj
            await self._finalize(name, obj)
            return True  # a deleting app is never refreshed or synced
        memory = self.memory.setdefault(name, AppMemory())
        annotations = obj["metadata"].get("annotations") or {}
        requested = annotations.get(REFRESH_ANNOTATION)
        if requested:
            # Argo CD's refresh: compare with Git as it is now (refs listed afresh);
            # "hard" also renders again.
            self.forget_revisions(str(requested).strip() == "hard")
            obj = await self.client.patch(
                API_VERSION,
                APPLICATION,
                obj["metadata"]["name"],
                obj["metadata"].get("namespace") or self.namespace,
                {"metadata": {"annotations": {REFRESH_ANNOTATION: None}}},
            )
        if obj.get("operation"):
            holder = self.refresher.holder
            if lock.requested(obj) or lock.interrupted(obj, holder):
                await self._run_requested(name, obj)
            return True  # otherwise another process (a CLI sync, a rollback) runs it now
        verdict = dependencies.blocked_by(
            obj, self.index(obj["metadata"].get("namespace") or self.namespace)
        )
        comparison = await self.refresher.compare(obj)
        comparison.conditions.extend(c for c in [dependencies.condition(verdict)] if c)
        reason = self._sync_reason(name, obj, comparison, verdict.ready, memory)
        if reason is not None and comparison.fence is not None:
            app = comparison.app
            window = comparison.fence.window_verdict(
                app.name, app.destination.namespace, manual=False
            )
            if not window.allowed:
                # Held, and said so; woken when the window changes (or the project does).
                comparison.conditions.append(
                    {
                        "type": WINDOW_CONDITION,
                        "message": f"automated sync ({reason}) held: {window.reason}",
                    }
                )
                if window.until is not None:
                    wait = (window.until - datetime.now(UTC)).total_seconds()
                    self.wake(name, max(wait, 0.0) + 1.0)
                reason = None
        if reason is None:
            try:
                obj = await self.refresher.write(obj, comparison)
            except NotFound:  # deleted while it was being compared
                return self._gone(name)
            self.apps[name] = obj
            return True
        # The sync writes the status (its result and a fresh comparison) in one request.
        self.apps[name] = obj
        ids = {"revision": comparison.revision[:7], "operation": f"sync-{uuid.uuid4().hex[:8]}"}
        with log_context(**ids):
            await self._auto_sync(name, obj, comparison, memory, reason)
        return True

    def _gone(self, name: str) -> bool:
        """Forget an app that no longer exists; False, as reconcile() says then."""
        self.memory.pop(name, None)
        self.apps.pop(name, None)
        return False

    def _sync_reason(
        self, name: str, obj: Obj, comparison: Comparison, ready: bool, memory: AppMemory
    ) -> str | None:
        """Why an automated sync should run now (None: it should not)."""
        app = comparison.app  # parsed by the comparison (a stub when the spec is invalid)
        if comparison.sync_status is not SyncStatus.OUT_OF_SYNC or not app.automated:
            memory.heal_attempts = 0
            return None
        if not ready:
            return None  # the dependencies' changes wake this app again
        automated = app.sync_policy.automated if app.sync_policy else None
        assert automated is not None
        pending = comparison.out_of_sync
        if not automated.prune and all(r.requires_pruning for r in pending):
            return None  # only pruning would help, and automated prune is off
        revision = comparison.revision
        if _attempt(revision, obj) == memory.failed_attempt:
            return None  # wait for a new commit or source, a manual sync or the retry policy
        if revision != _synced_revision(obj):
            memory.heal_attempts = 0
            return f"new revision {revision[:7]}"
        if _source_changed(obj):
            memory.heal_attempts = 0
            return "source changed"
        if not automated.self_heal:
            return None
        if time.monotonic() < memory.next_heal_at:
            self.wake(name, memory.next_heal_at - time.monotonic())
            return None
        delay = min(HEAL_FIRST_DELAY * HEAL_FACTOR**memory.heal_attempts, HEAL_MAX_DELAY)
        memory.heal_attempts += 1
        memory.next_heal_at = time.monotonic() + delay
        return "self-heal"

    async def _auto_sync(
        self,
        name: str,
        obj: Obj,
        comparison: Comparison,
        memory: AppMemory,
        reason: str,
    ) -> None:
        """Sync to the revision just compared, planning from that very comparison."""
        revision = comparison.revision
        automated = comparison.app.sync_policy.automated if comparison.app.sync_policy else None
        prune = bool(automated and automated.prune)
        log.info("app %s: automated sync (%s)", name, reason)
        try:
            result = await run_sync(
                self.refresher,
                obj,
                SyncRequest(revision=revision, prune=prune),
                initiator="automated",
                automated=True,
                comparison=comparison,
            )
        except OperationInProgress as exc:
            log.info("app %s: %s; trying again shortly", name, exc)
            self.wake(name, BUSY_RETRY_SECONDS)
            return
        memory.syncs += 1
        self.sync_counts[(name, result.phase)] += 1
        memory.failed_attempt = _attempt(revision, obj) if result.phase != "Succeeded" else ""
        log.info("app %s: sync %s: %s", name, result.phase, result.message)

    async def _run_requested(self, name: str, obj: Obj) -> None:
        """Run the sync the ``operation`` field asks for, or resume an interrupted one.

        Argo CD's CLI and UI request a sync by writing ``operation``; a crashed
        controller leaves its own behind. Applying is idempotent (server-side
        apply), so resuming runs the whole operation again under a new lock.
        """
        operation = obj["operation"]
        why = lock.interrupted(obj, self.refresher.holder)
        where = "Application {}/{}".format(*split_qualified(name, self.namespace))
        try:
            request = request_from_operation(operation, where)
            parse_app_object(obj)  # a spec that cannot be read cannot be synced either
        except GitwardError as exc:  # InvalidOperation, or the spec's ConfigError
            log.warning("app %s: %s", name, exc)
            stamp = now()
            state = {"operation": operation, "phase": "Error", "message": str(exc)}
            await patch_status(
                self.client,
                obj,
                {"operationState": {**state, "startedAt": stamp, "finishedAt": stamp}},
            )
            await lock.release(self.client, obj)
            return
        if why:
            log.warning("app %s: resuming an interrupted sync operation (%s)", name, why)
            await events.record(
                self.client, obj, "OperationResumed", f"Resuming the sync operation: {why}"
            )
        with log_context(operation=f"sync-{uuid.uuid4().hex[:8]}"):
            try:
                result = await run_sync(
                    self.refresher,
                    obj,
                    request,
                    initiator=initiator_of(operation),
                    automated=is_automated(operation),
                    takeover=True,
                )
            except OperationInProgress:
                self.wake(name, BUSY_RETRY_SECONDS)
                return
        self.sync_counts[(name, result.phase)] += 1
        log.info("app %s: requested sync %s: %s", name, result.phase, result.message)

    async def _finalize(self, name: str, obj: Obj) -> None:
        """Cascade an Application's deletion through its resources finalizer."""
        if lock.held(obj) and not lock.interrupted(obj, self.refresher.holder):
            self.wake(name, BUSY_RETRY_SECONDS)
            return

        async def destination(app_obj: Obj) -> KubeClient:
            return (await self.refresher.target(app_obj)).client

        async def fence(app_obj: Obj) -> Fence:
            return await self.refresher.fence(app_obj, whole_app=False)

        try:
            done = await cascade.finalize(
                self.client, obj, self.refresher.compare, destination=destination, fence=fence
            )
        except cascade.DeletionError as exc:
            log.warning("app %s: %s", name, exc)
            await set_conditions(self.client, obj, [exc.condition()], {cascade.DELETION_ERROR})
            self.wake(name, DELETION_RETRY_SECONDS)
            return
        if not done:
            self.wake(name, BUSY_RETRY_SECONDS)  # resources are still terminating
