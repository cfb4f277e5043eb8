"""A sync operation as a step function over what the Application records.

:func:`resume` takes one step of the operation an Application's ``operation``
field asks for: it reads ``status.operationState`` (:mod:`gitward.sync.record`),
rebuilds the plan from a comparison at the recorded revision, puts the
recorded per-resource results on it, lets :func:`gitward.sync.machine.advance`
do one bounded piece of work (one wave, one check of running hooks), writes
the record, and returns a :class:`Step`: done, or when to take the next one.
No step waits on the cluster: hook waits, waits for a wave to become healthy
and retry backoff are all ``requeue_after``.

The controller takes one step per reconcile and requeues the app; the CLI
(:func:`run_sync`) loops over the same function, pausing as the step says. As
the record is the only state, any process can take the next step — a
controller restarted after a crash, another replica after a shard move — and
nothing is applied twice.

:func:`begin` starts an operation. The CLI takes the lock (the ``operation``
field, :mod:`gitward.appstate.lock`) first. The controller's automated sync of a
plan that one step finishes (one wave, no hooks: most syncs) takes no lock at
all: it applies and then writes its result and the refresh after it in one
status write, guarded by the resourceVersion it read, so a sync costs the API
server its applies and one write. A plan of several steps takes the lock
before its first piece of work.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from gitward.appstate import lock
from gitward.appstate.comparison import Comparison
from gitward.appstate.refresh import parse_app_object
from gitward.appstate.status import age_seconds, now, patch_status, stamp_at
from gitward.cluster import ClusterError, KubeClient
from gitward.model.phases import OperationPhase
from gitward.sync import machine, terminate
from gitward.sync.attempt import (
    SYNC_WINDOW_BLOCKED,
    Attempt,
    OperationResult,
    Progress,
    StepContext,
    tell,
)
from gitward.sync.plan import SyncRequest
from gitward.sync.record import RecordedState, read_state, same_operation
from gitward.sync.requested import initiator_of, request_from_operation

__all__ = [
    "SYNC_WINDOW_BLOCKED",
    "OperationResult",
    "Progress",
    "Step",
    "StepContext",
    "abort",
    "auto_sync",
    "begin",
    "operation_field",
    "resume",
]

Obj = dict[str, Any]

#: Least seconds between two heartbeats of a held lock (a PATCH each).
HEARTBEAT_EVERY = 30.0


@dataclass
class Step:
    """What one step left behind: the stored Application, and done or when to step again."""

    app_obj: Obj
    result: OperationResult
    #: Seconds before the next step (0: at once); None once the operation has ended.
    requeue_after: float | None = None

    @property
    def done(self) -> bool:
        return self.requeue_after is None


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


async def _end(attempt: Attempt, phase: OperationPhase, message: str) -> Step:
    """End the attempt: wait for a retry, or write the result, tell, and release the lock."""
    delay = attempt.retry_delay(phase)
    if delay is not None:
        count = attempt.retry_count + 1
        due = stamp_at(time.time() + delay)
        note = f"Retrying attempt #{count} at {due}: {message}"
        state = attempt.record(
            OperationPhase.RUNNING, note, finished_at=now(), next_retry_at=due, retry_count=count
        )
        app_obj = await patch_status(attempt.client, attempt.app_obj, {"operationState": state})
        wait = _bounded(attempt.ctx, attempt.started_at, delay)
        return Step(app_obj, attempt.result(OperationPhase.RUNNING, note), wait)
    fields = await attempt.final_fields(phase, message)
    app_obj = await patch_status(attempt.client, attempt.app_obj, fields)
    await attempt.completed_event(app_obj, phase, message)
    if app_obj.get("operation"):
        app_obj = await lock.release(attempt.client, app_obj)
    return Step(app_obj, attempt.result(phase, message))


async def _persist(attempt: Attempt, message: str, wait: float) -> Step:
    """Record a running attempt after a step, refreshing the lock's heartbeat when due."""
    state = attempt.record(OperationPhase.RUNNING, message)
    app_obj = attempt.app_obj
    if (app_obj.get("status") or {}).get("operationState") != state:  # else nothing to write
        app_obj = await patch_status(attempt.client, app_obj, {"operationState": state})
    beat = lock.heartbeat_age(app_obj)
    if beat is not None and beat > HEARTBEAT_EVERY:
        with contextlib.suppress(ClusterError):  # a missed beat is not a failed sync
            app_obj = await lock.heartbeat(attempt.client, app_obj, attempt.refresher.holder)
    wait = _bounded(attempt.ctx, attempt.started_at, wait)
    return Step(app_obj, attempt.result(OperationPhase.RUNNING, message), wait)


def _bounded(ctx: StepContext, started_at: str, wait: float) -> float:
    """``wait``, but no later than the sync timeout's deadline: the step that ends it."""
    left = terminate.remaining(ctx.sync_timeout, started_at)
    return wait if left is None else min(wait, left)


def _waiting_for(state: RecordedState) -> str:
    """What a timed-out operation was doing, from its record's last message."""
    if state.retry_pending:
        return f"waiting to retry after a failed attempt ({state.message})"
    return state.message


def _where(app_obj: Obj) -> str:
    meta = app_obj.get("metadata") or {}
    return f"Application {meta.get('namespace')}/{meta.get('name')}"


async def resume(ctx: StepContext, app_obj: Obj, comparison: Comparison | None = None) -> Step:
    """Take the next step of the operation ``app_obj``'s ``operation`` field asks for.

    ``comparison`` is one the caller has just made (the controller's refresh);
    a step compares again when it is not at the operation's revision. Raises
    :class:`gitward.model.errors.GitwardError` when the operation or its record
    cannot be read (the caller ends it with that error).
    """
    operation = app_obj.get("operation")
    if not isinstance(operation, dict) or not operation:
        state = read_state(app_obj)
        phase = state.phase or OperationPhase.SUCCEEDED
        return Step(app_obj, OperationResult(phase, state.message, state.revision))
    request = request_from_operation(operation, _where(app_obj))
    state = read_state(app_obj)
    raw = (app_obj.get("status") or {}).get("operationState") or {}
    same = same_operation(raw.get("operation"), app_obj)
    if same and state.phase is not None and state.phase.completed:
        # Ended, and the lock outlived it (a crash between the two writes): only release.
        app_obj = await lock.release(ctx.refresher.client, app_obj)
        return Step(app_obj, OperationResult(state.phase, state.message, state.revision))
    ours = state.in_progress and same
    continuing, retry_count, started_at = False, 0, now()
    if ours:
        retry_count, started_at = state.retry_count, state.started_at or started_at
        ending = ""
        if state.phase is OperationPhase.TERMINATING:  # asked for by the API server
            ending = terminate.TERMINATED
        elif terminate.timed_out(ctx.sync_timeout, state.started_at):
            ending = terminate.timeout_message(ctx.sync_timeout, _waiting_for(state))
        if ending:
            app_obj, phase, message = await terminate.terminate(
                ctx.refresher, app_obj, state, ending
            )
            return Step(app_obj, OperationResult(phase, message, state.revision))
        if state.retry_pending:
            wait = age_seconds(state.next_retry_at) if state.next_retry_at else 0.0
            if wait < 0:  # the retry is not due yet: nothing to do until then
                result = OperationResult(OperationPhase.RUNNING, state.message, state.revision)
                return Step(app_obj, result, _bounded(ctx, started_at, -wait))
        else:
            continuing = True
    attempt = Attempt(
        ctx,
        app_obj,
        operation,
        request,
        state,
        continuing=continuing,
        retry_count=retry_count,
        started_at=started_at,
    )
    return await _step(attempt, comparison)


async def _step(attempt: Attempt, comparison: Comparison | None) -> Step:
    refused = await attempt.prepare(comparison)
    if refused is not None:
        return await _end(attempt, *refused)
    done = await attempt.advance()
    if done.phase.completed:
        return await _end(attempt, done.phase, done.message)
    return await _persist(attempt, done.message, min(done.wait, attempt.ctx.wait))


async def begin(
    ctx: StepContext,
    app_obj: Obj,
    request: SyncRequest,
    *,
    initiator: str = "gitward-cli",
    automated: bool = False,
    takeover: bool = False,
    comparison: Comparison | None = None,
) -> Step:
    """Take the lock for a new operation and run its first step.

    ``takeover`` runs an operation already set on ``app_obj`` but only
    requested (Argo CD's CLI) or abandoned: see :func:`gitward.appstate.lock.acquire`.
    Raises :class:`gitward.appstate.lock.OperationInProgress` when another holds it.
    """
    existing = app_obj.get("operation") if takeover else None
    if terminate.unlocked(app_obj):
        # A record left in progress without its lock: its hooks would run on beside this
        # operation's. Ended first, as the controller ends it (guarded: a ClusterError
        # when someone started an operation meanwhile).
        app_obj = await terminate.end_unlocked(ctx.refresher, app_obj)
    operation = existing or operation_field(request, initiator, automated)
    app_obj = await lock.acquire(
        ctx.refresher.client, app_obj, operation, ctx.refresher.holder, takeover=takeover
    )
    source = parse_app_object(app_obj).source
    target = request.revision or (source.target_revision if source else "")
    await tell(
        ctx,
        app_obj,
        "OperationStarted",
        f"{'Dry-run s' if request.dry_run else 'S'}ync operation to {target or 'HEAD'} "
        f"initiated by {initiator_of(operation)}",
    )
    return await resume(ctx, app_obj, comparison)


async def auto_sync(
    ctx: StepContext, app_obj: Obj, request: SyncRequest, comparison: Comparison
) -> Step:
    """The controller's automated sync: one step without a lock when one step finishes it.

    A plan of several steps (waves, hooks) takes the lock before its first
    piece of work, so a crash after it is resumed from the record. A one-step
    plan's result is written with a guard on the resourceVersion read: when
    someone else started an operation meanwhile, theirs stands. Raises
    :class:`gitward.appstate.lock.OperationInProgress` when the lock is taken.
    """
    operation = operation_field(request, "automated", automated=True)
    attempt = Attempt(
        ctx,
        app_obj,
        operation,
        request,
        RecordedState(),
        continuing=False,
        retry_count=0,
        started_at=now(),
    )
    refused = await attempt.prepare(comparison)
    if refused is None and not machine.single_step(attempt.tasks):
        attempt.app_obj = await lock.acquire(
            attempt.client, app_obj, operation, ctx.refresher.holder
        )
        done = await attempt.advance()
        if done.phase.completed:
            return await _end(attempt, done.phase, done.message)
        return await _persist(attempt, done.message, min(done.wait, ctx.wait))
    phase, message = refused or (OperationPhase.RUNNING, "")
    if refused is None:
        done = await attempt.advance()
        phase, message = done.phase, done.message
    if not phase.completed or attempt.retry_delay(phase) is not None:
        # Another step is needed after all (a retry): the record needs the lock.
        attempt.app_obj = await lock.acquire(
            attempt.client, app_obj, operation, ctx.refresher.holder
        )
        if not phase.completed:
            return await _persist(attempt, message, ctx.wait)
        return await _end(attempt, phase, message)
    fields = await attempt.final_fields(phase, message)
    stored = await _guarded_write(attempt.client, app_obj, fields)
    if stored is None:  # another operation started meanwhile: its record stands
        return Step(app_obj, attempt.result(phase, message))
    await attempt.completed_event(stored, phase, message)
    return Step(stored, attempt.result(phase, message))


async def _guarded_write(client: KubeClient, app_obj: Obj, fields: Obj) -> Obj | None:
    """Write ``fields`` unless an operation was started on the app since it was read."""
    try:
        return await patch_status(client, app_obj, fields, guard=True)
    except ClusterError:
        meta = app_obj["metadata"]
        fresh = await client.get(
            app_obj.get("apiVersion", "argoproj.io/v1alpha1"),
            "Application",
            meta["name"],
            meta.get("namespace"),
        )
        if fresh.get("operation") or read_state(fresh).in_progress:
            return None
        return await patch_status(client, fresh, fields)


async def abort(ctx: StepContext, app_obj: Obj, message: str) -> Step:
    """End the operation ``app_obj`` records as Failed with ``message``, deleting nothing.

    The controller ends so an automated operation waiting for its retry when a new
    revision supersedes it; an operation ended before its work is done is terminated
    instead (:mod:`gitward.sync.terminate`), its running hooks deleted.
    """
    operation = app_obj.get("operation") or {}
    state = read_state(app_obj)
    attempt = Attempt(
        ctx,
        app_obj,
        operation,
        request_from_operation(operation, _where(app_obj)) if operation else SyncRequest(),
        state,
        continuing=True,
        retry_count=state.retry_count,
        started_at=state.started_at or now(),
    )
    attempt.carried = [r.raw for r in state.resources]
    fields = {"operationState": attempt.record(OperationPhase.FAILED, message, finished_at=now())}
    app_obj = await patch_status(attempt.client, app_obj, fields)
    await attempt.completed_event(app_obj, OperationPhase.FAILED, message)
    if app_obj.get("operation"):
        app_obj = await lock.release(attempt.client, app_obj)
    return Step(app_obj, attempt.result(OperationPhase.FAILED, message))
