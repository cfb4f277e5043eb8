"""``gitward app sync`` and rollback: a whole operation in this process, step after step.

The CLI takes the same steps the controller takes (:mod:`gitward.sync.operation`),
holding the lock throughout and pausing between steps as each asks — a CLI
may wait; a controller worker never does.

Here the CLI is the operation's executor, not a client waiting for a
controller (as ``argocd app sync`` is): when it stops — its ``--timeout`` has
passed, or a signal asks it to stop — nobody would take the next step, and
the hooks it started would run on, unowned. So it terminates the operation as
``app terminate-op`` and the controller's sync timeout do
(:func:`gitward.sync.terminate.terminate`): the running hooks this operation
created are deleted, the record ends ``Failed`` saying why, and the lock is
released. A signal is acted on between two steps, never inside one, so the
record it ends is whole: a hook the step in progress creates is recorded
before termination reads the record to delete it.

Each step starts from the Application as stored, read again: a termination the
API server asked for (``Terminating``) is acted on, and when the lock is gone
(another tool removed ``operation``) or taken (a controller found it stale), the
CLI stops at once with :class:`gitward.appstate.lock.LockLost`, applying nothing
more and ending nothing: the operation is no longer its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gitward.appstate import lock
from gitward.appstate.comparison import Comparison
from gitward.appstate.refresh import Refresher, parse_app_object
from gitward.cluster import NotFound
from gitward.model.kinds import API_VERSION, APPLICATION
from gitward.sync import terminate
from gitward.sync.attempt import OperationResult, Progress, StepContext
from gitward.sync.operation import Step, begin, resume
from gitward.sync.plan import SyncRequest
from gitward.sync.record import RecordedState, read_state

Obj = dict[str, Any]


@dataclass
class Interrupt:
    """A request from outside to stop the sync this process runs (a signal, as a rule).

    Setting it never cancels anything: :func:`run_sync` sees it once the step in
    progress is done and terminates the operation.
    """

    #: What asked ("SIGINT"); "" until then.
    reason: str = ""
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def set(self, reason: str) -> None:
        """Ask the sync to stop; the first reason given is kept."""
        self.reason = self.reason or reason
        self.event.set()


def timeout_message(timeout: float, waiting: str) -> str:
    """What an operation the CLI's ``--timeout`` ended records."""
    doing = waiting.strip() or "running"
    return (
        f"{terminate.TERMINATED}: the sync did not finish within the CLI's --timeout of "
        f"{timeout:.0f} s; it was {doing}"
    )


def interrupted_message(reason: str, waiting: str) -> str:
    """What an operation ended by a signal to the CLI running it records."""
    doing = waiting.strip() or "running"
    return (
        f"{terminate.TERMINATED}: the CLI running the sync was interrupted ({reason}); "
        f"it was {doing}"
    )


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
    interrupt: Interrupt | None = None,
) -> OperationResult:
    """Run a whole sync in this process: :func:`begin`, then :func:`resume` until done.

    The process pauses between steps as each asks (at most ``poll`` seconds
    while hooks run; a retry's whole backoff), holding the lock throughout.
    Past ``timeout``, or once ``interrupt`` is set, the operation is terminated
    (see the module's docstring).
    """
    ctx = StepContext(refresher, progress=progress, wait=poll)
    stop = interrupt or Interrupt()
    deadline = time.monotonic() + timeout
    step = await begin(
        ctx,
        app_obj,
        request,
        initiator=initiator,
        automated=automated,
        takeover=takeover,
        comparison=comparison,
    )
    try:
        while (wait := step.requeue_after) is not None:
            state = read_state(step.app_obj)
            if stop.reason:
                message = interrupted_message(stop.reason, _waiting_for(state))
                step = await _terminate(ctx, step.app_obj, state, message)
                break
            if state.retry_pending:
                if time.monotonic() + wait > deadline:
                    notice(
                        f"not retrying: the next attempt would start after the {timeout:.0f} s "
                        "timeout"
                    )
                    step = await _give_up(ctx, step.app_obj, state)
                    break
                limit = _limit(step.app_obj, request)
                notice(
                    f"sync failed: {state.message.partition(': ')[2]}; retry "
                    f"{state.retry_count}/{limit} in {wait:.0f} s"
                )
            elif time.monotonic() > deadline:
                message = timeout_message(timeout, state.message)
                step = await _terminate(ctx, step.app_obj, state, message)
                break
            if wait > 0:
                pause = min(wait, max(deadline - time.monotonic(), 0.0) + poll)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.event.wait(), pause)
            if not stop.reason:
                step = await resume(ctx, await _as_stored(ctx, step.app_obj))
    except lock.LockLost:
        raise  # not ours to end any more
    except BaseException as exc:
        # Not a signal (those wait for the step to end): an error or a cancellation
        # inside a step. The record is the one the step before left.
        if not step.done:
            state = read_state(step.app_obj)
            why = f"{terminate.TERMINATED}: the CLI running the sync stopped: {exc!r:.300}"
            await _terminate(ctx, step.app_obj, state, why)
        raise
    return step.result


async def _as_stored(ctx: StepContext, app_obj: Obj) -> Obj:
    """``app_obj`` read again, when this process still holds its operation's lock."""
    meta = app_obj["metadata"]
    try:
        fresh = await ctx.refresher.client.get(
            API_VERSION, APPLICATION, meta["name"], meta.get("namespace")
        )
    except NotFound:
        raise lock.LockLost(f"application {meta['name']} was deleted meanwhile") from None
    lock.still_held(fresh, ctx.refresher.holder, lock.operation_id(app_obj))
    return fresh


def _waiting_for(state: RecordedState) -> str:
    if state.retry_pending:
        return f"waiting to retry after a failed attempt ({state.message})"
    return state.message


async def _terminate(ctx: StepContext, app_obj: Obj, state: RecordedState, message: str) -> Step:
    """End the operation as ``app terminate-op`` does: its running hooks deleted first."""
    stored, phase, said = await terminate.terminate(ctx.refresher, app_obj, state, message)
    return Step(stored, OperationResult(phase, said, state.revision))


def _limit(app_obj: Obj, request: SyncRequest) -> str:
    app = parse_app_object(app_obj)
    retry = request.retry or (app.sync_policy.retry if app.sync_policy else None)
    return "unlimited" if retry is None or retry.limit < 0 else str(retry.limit)


async def _give_up(ctx: StepContext, app_obj: Obj, state: RecordedState) -> Step:
    """End an operation waiting for a retry with the failure of its last attempt."""
    message = state.message.partition(": ")[2] or state.message
    return await _terminate(ctx, app_obj, state, message)
