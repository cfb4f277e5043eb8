"""One attempt of one sync operation, as far as one step takes it.

An :class:`Attempt` is built afresh by every step from the Application and its
record (:mod:`gitward.sync.record`): it resolves the destination, compares at
the operation's revision, plans, puts the recorded results on the plan, and
writes the record back in Argo CD's shape. It holds nothing a later step
needs that the record does not say.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gitward.appstate import events, history, lock
from gitward.appstate.comparison import Comparison
from gitward.appstate.refresh import Refresher, parse_app_object
from gitward.appstate.status import now, status_fields
from gitward.cluster import ClusterError
from gitward.model.application import Application
from gitward.model.errors import GitwardError
from gitward.model.phases import OperationPhase
from gitward.sync import machine
from gitward.sync.executor import ClusterExecutor, create_namespace
from gitward.sync.plan import SyncRequest, SyncTask, build_plan
from gitward.sync.record import RecordedState, overlay, recorded_operation, without_info
from gitward.sync.requested import initiator_of, is_automated
from gitward.sync.shared import SharedResourceFound

Obj = dict[str, Any]
Progress = Callable[[SyncTask], None]

#: The start of the message of an operation a sync window refused (Argo CD's words).
SYNC_WINDOW_BLOCKED = "Cannot sync: blocked by sync window"


@dataclass
class OperationResult:
    phase: OperationPhase
    message: str
    revision: str
    tasks: list[SyncTask] = field(default_factory=list)


@dataclass
class StepContext:
    """What every step of every operation shares: the services, and how to report."""

    refresher: Refresher
    #: Called for each task a step finished (the CLI prints it).
    progress: Progress = lambda _task: None
    #: The longest pause a step asks for while hooks run or a wave becomes healthy.
    wait: float = machine.WAIT_SECONDS
    #: ``controller.sync.timeout.seconds``: an operation older than this (from its
    #: ``startedAt``) is terminated at its next step; 0 (Argo CD's default) never.
    sync_timeout: float = 0.0
    #: The controller's background writer of Events; None: each is written at once (CLI).
    events: events.EventWriter | None = None


async def tell(
    ctx: StepContext, app_obj: Obj, reason: str, message: str, warning: bool = False
) -> None:
    """An Event about an operation: queued behind the controller's work, or written now."""
    if ctx.events is not None:
        ctx.events.emit(app_obj, reason, message, warning)
    else:
        await events.record(ctx.refresher.client, app_obj, reason, message, warning)


class Attempt:
    """One attempt of one operation, as far as one step takes it."""

    def __init__(
        self,
        ctx: StepContext,
        app_obj: Obj,
        operation: Obj,
        request: SyncRequest,
        state: RecordedState,
        *,
        continuing: bool,
        retry_count: int,
        started_at: str,
    ) -> None:
        self.ctx = ctx
        self.refresher = ctx.refresher
        self.client = ctx.refresher.client
        self.app_obj = app_obj
        self.app: Application = parse_app_object(app_obj)
        self.operation = without_info(operation)
        self.request = request
        self.state = state
        self.continuing = continuing
        self.retry_count = retry_count
        self.started_at = started_at
        self.initiator = initiator_of(operation)
        self.automated = is_automated(operation)
        self.comparison: Comparison | None = None
        self.tasks: list[SyncTask] = []
        self.carried: list[Obj] = []
        self.executor: ClusterExecutor | None = None

    # -- the record ----------------------------------------------------------

    def record(
        self,
        phase: OperationPhase,
        message: str,
        *,
        finished_at: str = "",
        next_retry_at: str = "",
        retry_count: int | None = None,
    ) -> Obj:
        """``status.operationState`` for where this attempt stands."""
        comparison = self.comparison
        result: Obj = {
            "revision": comparison.revision if comparison else self.state.revision,
            "resources": [t.as_result() for t in self.tasks] + self.carried,
        }
        if comparison is not None and comparison.revisions:
            result["revisions"] = list(comparison.revisions)
            result["sources"] = self.app_obj["spec"].get("sources")
        if self.app.source is not None and not self.app.sources:
            result["source"] = self.app_obj["spec"].get("source")
        state: Obj = {
            "operation": recorded_operation(self.operation, lock.operation_id(self.app_obj)),
            "phase": str(phase),
            "message": message,
            "startedAt": self.started_at,
            "retryCount": self.retry_count if retry_count is None else retry_count,
            "syncResult": result,
        }
        if finished_at:
            state["finishedAt"] = finished_at
        if next_retry_at:
            state["nextRetryAt"] = next_retry_at
        return state

    def result(self, phase: OperationPhase, message: str) -> OperationResult:
        revision = self.comparison.revision if self.comparison else self.state.revision
        return OperationResult(phase, message, revision, self.tasks)

    # -- preparing -----------------------------------------------------------

    async def prepare(self, comparison: Comparison | None) -> tuple[OperationPhase, str] | None:
        """Resolve, compare, plan, overlay the record; (phase, message) when it cannot go on."""
        try:
            target = await self.refresher.target(self.app_obj)
        except GitwardError as exc:
            return OperationPhase.ERROR, f"cannot sync: {exc}"
        revision = self.request.revision or (self.state.revision if self.continuing else "")
        revisions = self.request.revisions or (self.state.revisions if self.continuing else ())
        stale = comparison is None or bool(revision and comparison.revision != revision)
        if revisions:
            stale = comparison is None or comparison.revisions != tuple(revisions)
        if comparison is None or stale:
            comparison = await self.refresher.compare(
                self.app_obj, revision or None, tuple(revisions) or None
            )
        self.comparison = comparison
        if comparison.conditions and comparison.sync_status.value == "Unknown":
            message = "; ".join(c["message"] for c in comparison.conditions)
            return OperationPhase.ERROR, f"cannot sync: {message}"
        writer = target.client
        if comparison.fence is not None and not self.continuing:
            window = comparison.fence.window_verdict(
                self.app.name, self.app.destination.namespace, manual=not self.automated
            )
            if not window.allowed:
                return OperationPhase.ERROR, f"{SYNC_WINDOW_BLOCKED}: {window.reason}"
        if self.refresher.settings.impersonation:
            namespace = self.app.destination.namespace
            account = comparison.fence.service_account(namespace) if comparison.fence else None
            if account is None:
                return OperationPhase.ERROR, (
                    "cannot sync: impersonation is enabled and no destinationServiceAccounts "
                    f"entry of the project matches server {target.server} and namespace "
                    f"{namespace!r}"
                )
            writer = target.client.impersonating(account)
        try:
            self.tasks = build_plan(comparison, self.app, self.request)
        except SharedResourceFound as exc:  # the sync is refused as a whole, as Argo CD does
            return OperationPhase.FAILED, str(exc)
        except GitwardError as exc:
            return OperationPhase.ERROR, f"cannot sync: {exc}"
        if self.continuing:
            self.carried = overlay(self.tasks, self.state.resources)
        self.executor = ClusterExecutor(
            writer, target, self.request, self.tasks, self.app, self.refresher.settings.overrides
        )
        self.executor.progress = self.ctx.progress
        if not self.request.dry_run:  # costs a request only when the namespace is missing
            try:
                await create_namespace(writer, target, self.app, self.request)
            except ClusterError as exc:
                return OperationPhase.FAILED, f"cannot create the destination namespace: {exc}"
        return None

    async def advance(self) -> machine.Advance:
        assert self.executor is not None
        # Read now: an automated sync takes its lock (and the id) after prepare().
        self.executor.operation_id = lock.operation_id(self.app_obj)
        self.executor.retry_count = self.retry_count
        return await machine.advance(self.tasks, self.executor, dry_run=self.request.dry_run)

    # -- ending --------------------------------------------------------------

    def retry_delay(self, phase: OperationPhase) -> float | None:
        """Seconds before the next attempt, when the retry policy allows one; else None."""
        if phase.successful or self.request.dry_run:
            return None
        retry = self.request.retry or (self.app.sync_policy.retry if self.app.sync_policy else None)
        if retry is None or (0 <= retry.limit <= self.retry_count):
            return None
        return retry.backoff.delay(self.retry_count)

    async def final_fields(self, phase: OperationPhase, message: str) -> Obj:
        """The status fields of the operation's end: its record, history, and a refresh."""
        fields: Obj = {"operationState": self.record(phase, message, finished_at=now())}
        if phase.successful and not self.request.dry_run and self.comparison is not None:
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
            fields["history"] = history.append(previous, entry, self.app.revision_history_limit)
            # The refresh after the sync goes into the same status write as its result.
            after = await self.refresher.compare(self.app_obj)
            fields.update(status_fields(after, self.app_obj))
        return fields

    async def completed_event(self, app_obj: Obj, phase: OperationPhase, message: str) -> None:
        revision = self.comparison.revision[:7] if self.comparison else ""
        await tell(
            self.ctx,
            app_obj,
            "OperationCompleted",
            f"Sync operation to {revision} {phase.lower()}: {message}",
            warning=not phase.successful,
        )
