"""Reconcile one Application: refresh it, and sync it when its policy says so.

Automated sync follows Argo CD's rules: sync when the app is OutOfSync at a
revision that was not synced yet, or with a source (parameters, Kustomize
images) changed since the last sync; once synced, only ``selfHeal`` re-syncs
drift, with a growing pause between heals (2 s, x3, at most 300 s). A
revision and source whose sync failed are not retried on every pass — only
its retry policy, a new commit or source, or a manual sync moves it on; what
failed is read from ``status.operationState``, so a restarted controller
knows it too. Every automated sync that is due and held says why in a
condition (a failed attempt, an empty render, a dependency, a sync window).

A sync operation is taken one step per pass (:func:`gitward.sync.operation.resume`):
the pass requeues the app for the next step instead of waiting, so no worker
is ever held by an operation waiting on hooks, health or a retry's backoff.
Nothing is synced while another process (a CLI sync) holds the app.
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
from gitward.appstate import Comparison, Refresher, lock, parse_app_object
from gitward.appstate.events import EventWriter
from gitward.appstate.lock import OperationInProgress
from gitward.appstate.status import now, patch_status, set_conditions
from gitward.cluster import ClusterError, KubeClient, NotFound
from gitward.controller import dependencies
from gitward.model.application import split_qualified
from gitward.model.errors import GitwardError
from gitward.model.kinds import API_VERSION, APPLICATION
from gitward.model.outcome import recorded_outcome
from gitward.model.phases import OperationPhase
from gitward.model.status import SyncStatus
from gitward.projects.fence import Fence
from gitward.sync import cascade, terminate
from gitward.sync.attempt import tell
from gitward.sync.operation import (
    SYNC_WINDOW_BLOCKED,
    Step,
    StepContext,
    abort,
    auto_sync,
    begin,
    resume,
)
from gitward.sync.plan import SyncRequest
from gitward.sync.record import InvalidRecord, RecordedState, read_state
from gitward.sync.requested import (
    initiator_of,
    is_automated,
    request_from_operation,
)

Obj = dict[str, Any]
log = logging.getLogger("gitward.controller")

REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
HEAL_FIRST_DELAY = 2.0
HEAL_FACTOR = 3.0
HEAL_MAX_DELAY = 300.0
#: When another operation holds the app (or won a race for it), look again this soon.
BUSY_RETRY_SECONDS = 2.0
#: After an operation step failed on the API server (its record not written), the first
#: pause before it is taken again; doubled on each failure in a row, up to the second.
STEP_RETRY_SECONDS = 2.0
STEP_RETRY_MAX = 10.0
#: After a failed cascade deletion (an unreachable repo or cluster), try again this late.
DELETION_RETRY_SECONDS = 30.0
#: An automated sync is due but the project's sync windows hold it (gitward's own type;
#: ``...Warning`` as tools classify conditions by suffix).
WINDOW_CONDITION = "SyncWindowWarning"
#: An automated sync is due but cannot run (Argo CD's type): a failed attempt, an empty render.
SYNC_ERROR_CONDITION = "SyncError"


@dataclass
class AppMemory:
    """What the controller remembers between passes for one app (not persisted).

    Only pacing lives here (the pause between self-heals); what an operation
    did and what failed is in the Application's record.
    """

    heal_attempts: int = 0
    next_heal_at: float = 0.0
    #: Operation steps that failed in a row on the API server (paces the next try).
    step_failures: int = 0
    syncs: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _spec(obj: Obj) -> Obj:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _synced_revision(state: RecordedState) -> str:
    """The revision the last successful sync applied ("" when the last did not succeed)."""
    return state.revision if state.phase is OperationPhase.SUCCEEDED else ""


def _source_changed(state: RecordedState, obj: Obj) -> bool:
    """Whether the spec's source(s) differ from those the last successful sync used.

    Argo CD syncs again then (its ``alreadyAttemptedSync`` compares both): a parameter
    override — ``kustomize.images``, Helm parameters, as ``app set`` or Image Updater's
    ``argocd`` write-back makes — changes what one revision renders.
    """
    if state.phase is not OperationPhase.SUCCEEDED:
        return False
    spec = _spec(obj)
    if spec.get("sources") or state.sources:
        return bool(state.sources != spec.get("sources"))
    return bool(state.source != spec.get("source"))


def _attempt(revision: str, obj: Obj) -> str:
    """An automated sync attempt: the revision and the source(s) it rendered."""
    spec = _spec(obj)
    sources = spec.get("sources") or spec.get("source")
    return f"{revision} {json.dumps(sources, sort_keys=True, default=str)}"


def _recorded_attempt(state: RecordedState) -> str:
    """The attempt the last operation recorded: its revision and the source(s) it used."""
    sources = state.sources or state.source
    return f"{state.revision} {json.dumps(sources, sort_keys=True, default=str)}"


def _state(obj: Obj) -> RecordedState:
    """The recorded operation; an empty one when the record cannot be read.

    Read once per pass and handed to the readers below: it walks every resource
    the record lists."""
    try:
        return read_state(obj)
    except InvalidRecord:
        return RecordedState()


def failed_attempt(state: RecordedState, obj: Obj, revision: str) -> str:
    """Why the last operation's failure holds an automated sync to ``revision`` ("" if not).

    It holds when it failed at this very revision and source(s): the same
    sync would fail the same way. A new commit, a changed source or a manual
    sync moves it on; an operation's own retry policy retries it.
    """
    if state.phase not in (OperationPhase.FAILED, OperationPhase.ERROR):
        return ""
    if state.message.startswith(SYNC_WINDOW_BLOCKED):
        return ""  # refused before it started (Argo CD records no operation then)
    if _recorded_attempt(state) != _attempt(revision, obj):
        return ""
    return (
        f"Failed last sync attempt to {revision[:7]}: {state.message}; automated sync does not "
        "retry it (a new commit, a changed source or a manual sync does)"
    )


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
        wake_first: Callable[[str], None] = lambda _name: None,
        sync_timeout: float = 0.0,
        events: EventWriter | None = None,
    ) -> None:
        self.client = client
        #: ``controller.sync.timeout.seconds``: operations older than this are terminated.
        self.sync_timeout = sync_timeout
        #: Writes the operations' Events behind the work (None: each at once).
        self.events = events
        #: How a pass reads its Application: the controller's watch cache, else a GET.
        self.read_app = read_app or self.get_app
        #: The latest Application of each name in a namespace (for depends-on).
        self.index: Callable[[str], Mapping[str, Obj]] = index or (lambda _namespace: self.apps)
        #: Drops cached ref listings (and, when True, renders): the refresh annotation.
        self.forget_revisions = forget_revisions
        #: Asks for another pass of an app after a delay (the controller's queue).
        self.wake = wake
        #: Asks for the next pass of an app ahead of all others (an operation's next step).
        self.wake_first = wake_first
        self.refresher = refresher
        self.namespace = namespace
        self.memory: dict[str, AppMemory] = {}
        #: Syncs run, by (app, phase): for metrics.
        self.sync_counts: Counter[tuple[str, str]] = Counter()
        #: The last stored state of every app reconciled: for metrics.
        self.apps: dict[str, Obj] = {}

    def _context(self) -> StepContext:
        """What every operation step of this controller shares."""
        return StepContext(self.refresher, sync_timeout=self.sync_timeout, events=self.events)

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
        if terminate.unlocked(obj):
            ended = await self._end_unlocked(name, obj)
            if ended is None:
                return True
            obj = ended
        comparison: Comparison | None = None
        if obj.get("operation"):
            holder = self.refresher.holder
            if not (lock.requested(obj) or lock.resumable(obj, holder)):
                return True  # another process (a CLI sync, a rollback) runs it now
            comparison = await self._superseded(name, obj)
            if comparison is None:
                await self._step(name, obj)
                return True
            obj = self.apps[name]  # the retrying operation ended: sync the new revision
        verdict = dependencies.blocked_by(
            obj, self.index(obj["metadata"].get("namespace") or self.namespace)
        )
        comparison = comparison or await self.refresher.compare(obj)
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
                written = await self.refresher.write(obj, comparison)
            except NotFound:  # deleted while it was being compared
                return self._gone(name)
            if written.held_for:
                self.wake(name, written.held_for)  # the held health messages, then
            self.apps[name] = written.app
            return True
        # The sync writes the status (its result and a fresh comparison) in one request.
        self.apps[name] = obj
        ids = {"revision": comparison.revision[:7], "operation": f"sync-{uuid.uuid4().hex[:8]}"}
        with log_context(**ids):
            await self._auto_sync(name, obj, comparison, memory, reason)
        return True

    async def _superseded(self, name: str, obj: Obj) -> Comparison | None:
        """End an automated operation waiting to retry an old revision when a new one is here.

        Returns the comparison that found the new revision (the pass syncs it
        at once), or None when the operation goes on.
        """
        operation = obj.get("operation") or {}
        state = _state(obj)
        if not (state.retry_pending and is_automated(operation)):
            return None
        comparison = await self.refresher.compare(obj)
        if not comparison.revision or _attempt(comparison.revision, obj) == _recorded_attempt(
            state
        ):
            return None
        why = f"superseded by revision {comparison.revision[:7]}: {state.message}"
        log.info("app %s: %s", name, why)
        ctx = self._context()
        self.apps[name] = (await abort(ctx, obj, why)).app_obj
        return comparison

    async def _end_unlocked(self, name: str, obj: Obj) -> Obj | None:
        """End a record left Running or Terminating without its lock; None when it must
        wait a pass.

        Nobody would take a step of it otherwise, and an automated sync would start over
        it with its hooks still running: another tool removed the ``operation`` field, or
        the process ending it died between its two writes (:mod:`gitward.sync.terminate`).
        """
        phase = recorded_outcome(obj).phase
        log.warning("app %s: ending an operation left %s without its lock", name, phase)
        try:
            stored = await terminate.end_unlocked(self.refresher, obj)
        except NotFound:
            return None  # the Application was deleted meanwhile
        except ClusterError as exc:  # written meanwhile (a new operation?): look again
            log.info("app %s: the lockless record changed meanwhile (%s)", name, exc)
            self.wake(name, BUSY_RETRY_SECONDS)
            return None
        self.apps[name] = stored
        return stored

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
        state = _state(obj)
        held = failed_attempt(state, obj, revision)
        resources = comparison.resources
        wipes = bool(resources) and all(r.requires_pruning for r in resources)
        if not held and wipes and not automated.allow_empty:
            held = (
                f"Skipping sync attempt to {revision[:7]}: auto-sync will wipe out all "
                "resources (the render is empty; set syncPolicy.automated.allowEmpty to "
                "allow it)"
            )
        if held:
            comparison.conditions.append({"type": SYNC_ERROR_CONDITION, "message": held})
            return None
        if revision != _synced_revision(state):
            memory.heal_attempts = 0
            return f"new revision {revision[:7]}"
        if _source_changed(state, obj):
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
        automated = comparison.app.sync_policy.automated if comparison.app.sync_policy else None
        prune = bool(automated and automated.prune)
        log.info("app %s: automated sync (%s)", name, reason)
        request = SyncRequest(revision=comparison.revision, prune=prune)
        try:
            step = await auto_sync(self._context(), obj, request, comparison)
        except OperationInProgress as exc:
            log.info("app %s: %s; trying again shortly", name, exc)
            self.wake(name, BUSY_RETRY_SECONDS)
            return
        except NotFound:
            return  # the Application was deleted meanwhile
        except ClusterError as exc:
            self._step_failed(name, exc)
            return
        memory.step_failures = 0
        memory.syncs += 1
        self._stepped(name, step)

    def _stepped(self, name: str, step: Step) -> None:
        """Keep what a step stored; requeue the app for the next one, or count the result."""
        self.apps[name] = step.app_obj
        if step.requeue_after == 0:
            # Its next wave goes on before apps not started yet: first apps finish first.
            self.wake_first(name)
            return
        if step.requeue_after is not None:
            self.wake(name, step.requeue_after)
            return
        result = step.result
        self.sync_counts[(name, str(result.phase))] += 1
        log.info("app %s: sync %s: %s", name, result.phase, result.message)

    async def _step(self, name: str, obj: Obj) -> None:
        """Take the next step of the operation ``obj`` records, or start a requested one.

        Argo CD's CLI and UI request a sync by writing ``operation``; an
        operation a controller started (this one before a restart, another
        replica before a shard move) is resumed from its record where it stood.
        """
        operation = obj["operation"]
        where = "Application {}/{}".format(*split_qualified(name, self.namespace))
        ctx = self._context()
        requested = lock.requested(obj)
        why = lock.interrupted(obj, self.refresher.holder)
        try:
            request = request_from_operation(operation, where)
            parse_app_object(obj)  # a spec that cannot be read cannot be synced either
            with log_context(operation=f"sync-{uuid.uuid4().hex[:8]}"):
                if requested:
                    step = await begin(
                        ctx,
                        obj,
                        request,
                        initiator=initiator_of(operation),
                        automated=is_automated(operation),
                        takeover=True,
                    )
                else:
                    if why:
                        log.warning(
                            "app %s: resuming an interrupted sync operation (%s)", name, why
                        )
                        await tell(
                            ctx,
                            obj,
                            "OperationResumed",
                            f"Resuming the sync operation: {why}",
                        )
                        # The lock is this process's now: later steps are not a takeover.
                        obj = await lock.heartbeat(self.client, obj, self.refresher.holder)
                    step = await resume(ctx, obj)
        except OperationInProgress:
            self.wake(name, BUSY_RETRY_SECONDS)
            return
        except NotFound:
            return  # the Application was deleted meanwhile
        except ClusterError as exc:
            self._step_failed(name, exc)
            return
        except GitwardError as exc:  # InvalidOperation, InvalidRecord, or the spec's ConfigError
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
        self.memory.setdefault(name, AppMemory()).step_failures = 0
        self._stepped(name, step)

    def _step_failed(self, name: str, exc: ClusterError) -> None:
        """Take an operation step the API server failed again, after a growing pause.

        The record is as the last step left it, so the step is taken again (a hook
        it created before the failure is adopted, not made twice), as Argo CD retries
        an operation's state write until it succeeds. Ending the operation here
        would lose its record and start it over from PreSync; the sync timeout ends
        one whose record can never be written.
        """
        memory = self.memory.setdefault(name, AppMemory())
        delay = min(STEP_RETRY_SECONDS * 2**memory.step_failures, STEP_RETRY_MAX)
        memory.step_failures += 1
        log.warning(
            "app %s: operation step failed, taking it again in %.0f s: %s", name, delay, exc
        )
        self.wake(name, delay)

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
