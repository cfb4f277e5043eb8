"""``gitward app sync`` and rollback: a whole operation in this process, step after step.

The CLI takes the same steps the controller takes (:mod:`gitward.sync.operation`),
holding the lock throughout and pausing between steps as each asks — a CLI
may wait; a controller worker never does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from gitward.appstate.comparison import Comparison
from gitward.appstate.refresh import Refresher, parse_app_object
from gitward.sync.attempt import OperationResult, Progress, StepContext
from gitward.sync.operation import Step, abort, begin, resume
from gitward.sync.plan import SyncRequest
from gitward.sync.record import RecordedState, read_state

Obj = dict[str, Any]


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
    """Run a whole sync in this process: :func:`begin`, then :func:`resume` until done.

    The process pauses between steps as each asks (at most ``poll`` seconds
    while hooks run; a retry's whole backoff), holding the lock throughout.
    """
    ctx = StepContext(refresher, progress=progress, wait=poll)
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
                step = await abort(
                    ctx, step.app_obj, f"timed out after {timeout:.0f} s: {state.message}"
                )
                break
            if wait > 0:
                await asyncio.sleep(min(wait, max(deadline - time.monotonic(), 0.0) + poll))
            step = await resume(ctx, step.app_obj)
    except BaseException as exc:
        if not step.done:
            await abort(ctx, step.app_obj, f"sync interrupted: {exc}")
        raise
    return step.result


def _limit(app_obj: Obj, request: SyncRequest) -> str:
    app = parse_app_object(app_obj)
    retry = request.retry or (app.sync_policy.retry if app.sync_policy else None)
    return "unlimited" if retry is None or retry.limit < 0 else str(retry.limit)


async def _give_up(ctx: StepContext, app_obj: Obj, state: RecordedState) -> Step:
    """End an operation waiting for a retry with the failure of its last attempt."""
    message = state.message.partition(": ")[2] or state.message
    return await abort(ctx, app_obj, message)
