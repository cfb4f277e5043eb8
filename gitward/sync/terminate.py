"""Ending an operation before its work is done: ``app terminate-op``, the sync timeout,
the CLI's own ``--timeout`` and signals (:mod:`gitward.sync.runner`).

Argo CD terminates an operation the same way whoever asks (a user, or the
controller's ``controller.sync.timeout.seconds``): every hook still running
is deleted, and the operation ends Failed with "Operation terminated" (Error
with "Operation termination had errors" when a hook could not be deleted).
Nothing else is undone: what the operation applied stays applied.

The record says which hooks run (``syncResult.resources[]`` with
``hookPhase`` Running), but the record is input anyone with write access to
the status may have edited: only an object whose :data:`gitward.sync.hooks.OWNER`
annotation names this operation is deleted, so a forged entry cannot make
termination delete someone else's object.

The timeout is measured from ``operationState.startedAt``, which every attempt
of one operation keeps (retries included, as Argo CD): it survives a restart,
and any replica that takes the next step enforces it.

A record ``Running`` or ``Terminating`` whose lock (the ``operation`` field)
is gone names an operation nobody takes a step of: every process that runs an
operation holds its lock from before its first record to after its last, so
the lock went some other way: another tool removed the field (``kubectl patch
... '{"operation": null}'``, a common way out of a stuck Argo CD sync), or the
process ending a Terminating record died between its two writes. Such a record
would stay Running for ever, show a sync in progress that is not, and be
overwritten by the next sync with its hooks still running. :func:`end_unlocked`
lets the controller end it as a termination, deleting the running hooks the
record's own operation id marks: the lock was taken away, and resuming the
operation would undo what whoever removed it wanted.
"""

from __future__ import annotations

import contextlib
from typing import Any

from gitward.appstate import events, lock
from gitward.appstate.refresh import Refresher
from gitward.appstate.settings import SYNC_TIMEOUT_KEY
from gitward.appstate.status import age_seconds, now, patch_status
from gitward.cluster import ClusterError, KubeClient, NotFound
from gitward.model.errors import GitwardError
from gitward.model.outcome import recorded_outcome
from gitward.model.phases import HookPhase, OperationPhase, ResultCode
from gitward.sync import hooks
from gitward.sync.record import (
    InvalidRecord,
    RecordedState,
    SavedResult,
    read_state,
    recorded_operation_id,
)

Obj = dict[str, Any]

#: The message of an operation someone ended (Argo CD's words).
TERMINATED = lock.TERMINATED
#: The message when a running hook could not be deleted (Argo CD's words).
TERMINATION_ERRORS = "Operation termination had errors"
#: Why a record without its lock was ended, after :data:`TERMINATED`.
UNLOCKED = "the controller ended it, as its lock (the operation field) was gone"


def timed_out(timeout: float, started_at: str) -> bool:
    """Whether an operation started at ``started_at`` has outlived ``timeout`` (0: never)."""
    return timeout > 0 and bool(started_at) and age_seconds(started_at) >= timeout


def remaining(timeout: float, started_at: str) -> float | None:
    """Seconds left before the timeout ends the operation; None without a timeout."""
    if timeout <= 0 or not started_at:
        return None
    return max(timeout - age_seconds(started_at), 0.0)


def timeout_message(timeout: float, waiting: str) -> str:
    """What a timed-out operation records: the timeout, and what it was waiting for."""
    doing = waiting.strip() or "running"
    return (
        f"{TERMINATED}: the sync did not finish within {timeout:.0f} s "
        f"({SYNC_TIMEOUT_KEY}); it was {doing}"
    )


def _api_version(saved: SavedResult) -> str:
    version = str(saved.raw.get("version") or "v1")
    return f"{saved.group}/{version}" if saved.group else version


def _label(saved: SavedResult) -> str:
    group = f".{saved.group}" if saved.group else ""
    return f"{saved.kind.lower()}{group}/{saved.name}"


async def _stop(writer: KubeClient, saved: SavedResult, operation_id: str) -> tuple[Obj, str]:
    """Delete one running hook if this operation made it: its new entry, and an error or ""."""
    api_version, namespace = _api_version(saved), saved.namespace or None
    try:
        live = await writer.get(api_version, saved.kind, saved.name, namespace)
    except NotFound:
        live = None
    if live is not None and not hooks.belongs_to_operation(live, operation_id):
        why = f"{_label(saved)} not deleted: it was not created by this operation"
        return {**saved.raw, "message": why}, why
    if live is not None:
        with contextlib.suppress(NotFound):
            await writer.delete(
                api_version, saved.kind, saved.name, namespace, propagation="Background"
            )
    entry = {
        **saved.raw,
        "hookPhase": str(HookPhase.FAILED),
        "status": str(ResultCode.SYNC_FAILED),
        "message": f"{_label(saved)} deleted: the operation was terminated",
    }
    return entry, ""


async def _writer(refresher: Refresher, app_obj: Obj) -> KubeClient:
    """The client the operation's syncs write with (impersonating when the settings say)."""
    target = await refresher.target(app_obj)
    if not refresher.settings.impersonation:
        return target.client
    fence = await refresher.fence(app_obj, target, whole_app=False)
    namespace = str(((app_obj.get("spec") or {}).get("destination") or {}).get("namespace") or "")
    account = fence.service_account(namespace)
    if account is None:
        raise GitwardError(
            "impersonation is enabled and no destinationServiceAccounts entry of the project "
            f"matches namespace {namespace!r}: running hooks cannot be deleted"
        )
    return target.client.impersonating(account)


async def stop_hooks(
    refresher: Refresher, app_obj: Obj, state: RecordedState, operation_id: str
) -> tuple[list[Obj], list[str]]:
    """Delete the running hooks ``state`` records that operation ``operation_id`` created;
    the record's entries after it, and errors."""
    running = [
        i
        for i, s in enumerate(state.resources)
        if s.hook and s.hook_phase is HookPhase.RUNNING and s.name
    ]
    entries = [s.raw for s in state.resources]
    if not running:
        return entries, []
    errors: list[str] = []
    try:
        writer = await _writer(refresher, app_obj)
    except GitwardError as exc:
        return entries, [str(exc)]
    for index in running:
        saved = state.resources[index]
        try:
            entry, error = await _stop(writer, saved, operation_id)
        except ClusterError as exc:
            entry, error = saved.raw, f"{_label(saved)} could not be deleted: {exc}"
        entries[index] = entry
        if error:
            errors.append(error)
    return entries, errors


async def terminate(
    refresher: Refresher,
    app_obj: Obj,
    state: RecordedState,
    message: str = TERMINATED,
    *,
    operation_id: str | None = None,
    guard: bool = False,
) -> tuple[Obj, OperationPhase, str]:
    """End ``app_obj``'s operation as Argo CD does; the stored app, the phase and message.

    Running hooks are deleted (:func:`stop_hooks`; those of ``operation_id``,
    by default the lock's), the record is written ended — before the lock is
    cleared, so a process resuming the operation in between finds it finished
    — with an event, and the lock goes. No retry follows: a terminated
    operation is over. With ``guard`` the record is written only if nobody
    wrote the app since it was read (a ClusterError otherwise).
    """
    client = refresher.client
    raw = (app_obj.get("status") or {}).get("operationState")
    if operation_id is None:
        operation_id = lock.operation_id(app_obj)
    entries, errors = await stop_hooks(refresher, app_obj, state, operation_id)
    phase = OperationPhase.ERROR if errors else OperationPhase.FAILED
    if errors:
        message = f"{TERMINATION_ERRORS}: {message}: " + "; ".join(errors)
    if isinstance(raw, dict) and state.in_progress:
        result = raw.get("syncResult") if isinstance(raw.get("syncResult"), dict) else {}
        ended = {k: v for k, v in raw.items() if k != "nextRetryAt"}
        ended.update(phase=str(phase), message=message, finishedAt=now())
        ended["syncResult"] = {**(result or {}), "resources": entries}
        app_obj = await patch_status(client, app_obj, {"operationState": ended}, guard=guard)
        revision = state.revision[:7]
        await events.record(
            client,
            app_obj,
            "OperationCompleted",
            f"Sync operation to {revision} {phase.lower()}: {message}",
            warning=True,
        )
    if app_obj.get("operation"):
        app_obj = await lock.release(client, app_obj)
    return app_obj, phase, message


async def terminate_op(refresher: Refresher, app_obj: Obj) -> Obj:
    """``app terminate-op``: end the operation ``app_obj`` runs; the stored Application.

    A record that cannot be read (edited by hand) names no hook to stop: the
    operation is still ended and its lock cleared, as the way out it is.
    """
    try:
        state = read_state(app_obj)
    except InvalidRecord:
        return await lock.terminate(refresher.client, app_obj)
    stored, _phase, _message = await terminate(refresher, app_obj, state)
    return stored


def unlocked(app_obj: Obj) -> bool:
    """Whether ``app_obj`` records an operation in progress (Running, also waiting for a
    retry, or Terminating) that no lock holds any more."""
    return recorded_outcome(app_obj).in_progress and not app_obj.get("operation")


async def end_unlocked(refresher: Refresher, app_obj: Obj) -> Obj:
    """End a record in progress without a lock (:func:`unlocked`); the stored app.

    Its running hooks that carry the record's operation id are deleted, and
    the record ends Failed, "Operation terminated". The write is guarded: an
    operation someone starts meanwhile takes the lock (a new resourceVersion),
    and its record is not overwritten (the ClusterError tells the caller to
    look again). A record that cannot be read names no hook: it is only ended.
    """
    try:
        state = read_state(app_obj)
    except InvalidRecord:
        return await lock.terminate(refresher.client, app_obj)
    stored, _phase, _message = await terminate(
        refresher,
        app_obj,
        state,
        f"{TERMINATED}: {UNLOCKED}",
        operation_id=recorded_operation_id(app_obj),
        guard=True,
    )
    return stored
