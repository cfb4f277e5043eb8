"""Reconcile one Application: refresh it, and sync it when its policy says so.

Automated sync follows Argo CD's rules: sync when the app is OutOfSync at a
revision that was not synced yet; once that revision was synced, only
``selfHeal`` re-syncs drift, with a growing pause between heals (2 s, x3, at
most 300 s). A revision whose sync failed is not retried on every pass —
only its retry policy, a new commit or a manual sync moves it on. Nothing is
synced while another operation holds the app.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from gitward.cluster import KubeClient, NotFound
from gitward.model.status import SyncStatus
from gitward.sync import Refresher, parse_app_object
from gitward.sync.lock import OperationInProgress, held
from gitward.sync.operation import run_sync
from gitward.sync.plan import SyncRequest
from gitward.sync.status import APPLICATION_API

Obj = dict[str, Any]
log = logging.getLogger("gitward.controller")

REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
HEAL_FIRST_DELAY = 2.0
HEAL_FACTOR = 3.0
HEAL_MAX_DELAY = 300.0
#: When another operation holds the app (or won a race for it), look again this soon.
BUSY_RETRY_SECONDS = 2.0


@dataclass
class AppMemory:
    """What the controller remembers between passes for one app (not persisted)."""

    failed_revision: str = ""
    heal_attempts: int = 0
    next_heal_at: float = 0.0
    syncs: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _synced_revision(obj: Obj) -> str:
    state = (obj.get("status") or {}).get("operationState") or {}
    if state.get("phase") != "Succeeded":
        return ""
    return str((state.get("syncResult") or {}).get("revision", ""))


class Reconciler:
    def __init__(
        self,
        client: KubeClient,
        refresher: Refresher,
        namespace: str,
        read_app: Callable[[str], Awaitable[Obj | None]] | None = None,
    ) -> None:
        self.client = client
        #: How a pass reads its Application: the controller's watch cache, else a GET.
        self.read_app = read_app or self.get_app
        #: Asks for another pass of an app after a delay (the controller's queue).
        self.wake: Callable[[str, float], None] = lambda _name, _delay: None
        self.refresher = refresher
        self.namespace = namespace
        self.memory: dict[str, AppMemory] = {}
        #: Syncs run, by (app, phase): for metrics.
        self.sync_counts: Counter[tuple[str, str]] = Counter()
        #: The last stored state of every app reconciled: for metrics.
        self.apps: dict[str, Obj] = {}

    async def get_app(self, name: str) -> Obj | None:
        try:
            return await self.client.get(APPLICATION_API, "Application", name, self.namespace)
        except NotFound:
            return None

    async def reconcile(self, name: str) -> bool:
        """One pass over app ``name``; False when the app no longer exists."""
        obj = await self.read_app(name)
        if obj is None:
            self.memory.pop(name, None)
            self.apps.pop(name, None)
            return False
        memory = self.memory.setdefault(name, AppMemory())
        annotations = obj["metadata"].get("annotations") or {}
        if annotations.get(REFRESH_ANNOTATION):
            obj = await self.client.patch(
                APPLICATION_API,
                "Application",
                name,
                self.namespace,
                {"metadata": {"annotations": {REFRESH_ANNOTATION: None}}},
            )
        if held(obj):
            return True  # another operation (a CLI sync, a rollback) owns it now
        obj, comparison = await self.refresher.refresh(obj)
        self.apps[name] = obj
        app = parse_app_object(obj)
        if comparison.sync_status is not SyncStatus.OUT_OF_SYNC or not app.automated:
            memory.heal_attempts = 0
            return True
        automated = app.sync_policy.automated if app.sync_policy else None
        assert automated is not None
        pending = comparison.out_of_sync
        if not automated.prune and all(r.requires_pruning for r in pending):
            return True  # only pruning would help, and automated prune is off
        revision = comparison.revision
        if revision == memory.failed_revision:
            return True  # wait for a new commit, a manual sync or the retry policy
        if revision == _synced_revision(obj):
            if not automated.self_heal:
                return True
            if time.monotonic() < memory.next_heal_at:
                self.wake(name, memory.next_heal_at - time.monotonic())
                return True
            delay = min(HEAL_FIRST_DELAY * HEAL_FACTOR**memory.heal_attempts, HEAL_MAX_DELAY)
            memory.heal_attempts += 1
            memory.next_heal_at = time.monotonic() + delay
            reason = "self-heal"
        else:
            memory.heal_attempts = 0
            reason = f"new revision {revision[:7]}"
        log.info("app %s: automated sync (%s)", name, reason)
        try:
            result = await run_sync(
                self.refresher,
                obj,
                SyncRequest(revision=revision, prune=automated.prune),
                initiator="automated",
                automated=True,
            )
        except OperationInProgress as exc:
            log.info("app %s: %s; trying again shortly", name, exc)
            self.wake(name, BUSY_RETRY_SECONDS)
            return True
        memory.syncs += 1
        self.sync_counts[(name, result.phase)] += 1
        memory.failed_revision = revision if result.phase != "Succeeded" else ""
        log.info("app %s: sync %s: %s", name, result.phase, result.message)
        return True
