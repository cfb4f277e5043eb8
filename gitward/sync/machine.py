"""The sync state machine: from the tasks and their recorded results, the next piece of work.

This is gitops-engine's ``sync_context`` idea, kept free of the cluster: the
caller rebuilds the plan, overlays what ``status.operationState`` says was
already done (:mod:`gitward.sync.record`), and calls :func:`advance` with an
:class:`Executor` that does the writing. One call does one bounded piece of
work — start one wave (apply its resources, create its hooks), or check the
running hooks once, or start the SyncFail hooks — and says what comes next:
still running (and how soon to look again), succeeded, or failed. Nothing is
kept between calls but what the tasks carry, so any process can make the next
call from the record, and nothing is done twice.

Where the operation stands is read from the results alone:

- a task that failed (not one the project refused) means the operation is
  failing: the SyncFail hooks run, then it ends Failed;
- a hook created and not finished means the operation waits for it; one
  recorded neither running nor finished (``Terminating``) fails, as no step
  could move it on;
- otherwise the first wave with a task not done yet is next, once the wave
  before it is healthy;
- when every task is done, the operation succeeded (or fails, naming the
  resources the project refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gitward.cluster import ClusterError
from gitward.model.phases import FORWARD_PHASES, HookPhase, OperationPhase, ResultCode, SyncPhase
from gitward.sync.plan import SyncTask, waves

#: Seconds before a step looks again at running hooks or an unhealthy wave.
WAIT_SECONDS = 2.0


class WaveDegraded(ClusterError):
    """A resource of the wave before the next one became Degraded: the sync fails."""


class Executor(Protocol):
    """What the state machine asks of the cluster; each call records results on the tasks."""

    async def run(self, tasks: list[SyncTask]) -> None:
        """Apply, prune or create the hooks of ``tasks`` (one wave, or what is left of it)."""

    async def poll(self, hooks: list[SyncTask]) -> None:
        """Look once at each running hook; record a finished one's phase."""

    async def healthy(self, tasks: list[SyncTask]) -> tuple[bool, str]:
        """(healthy, why not) for the resources ``tasks`` applied; raise WaveDegraded."""


@dataclass(frozen=True)
class Advance:
    """What one call of :func:`advance` did and what comes next."""

    phase: OperationPhase
    message: str
    #: Seconds before the next call (0: at once); meaningless once the phase is completed.
    wait: float = 0.0


def forward_waves(tasks: list[SyncTask]) -> list[list[SyncTask]]:
    """Every wave of PreSync, Sync and PostSync, in the order they run."""
    return [w for phase in FORWARD_PHASES for w in waves(tasks, phase)]


def single_step(tasks: list[SyncTask]) -> bool:
    """True when the whole operation is one wave without hooks: one call can finish it."""
    if any(t.action == "hook" for t in tasks):
        return False
    return len(forward_waves(tasks)) <= 1


def failure_message(tasks: list[SyncTask]) -> str:
    """Why a sync failed, from its results: the failed tasks, else the refused ones."""
    failed = [t for t in tasks if t.failed and not t.refused and t.phase is not SyncPhase.SYNC_FAIL]
    if failed:
        return "one or more objects failed to apply: " + "; ".join(t.message for t in failed)
    refused = [t for t in tasks if t.refused]
    # Everything permitted was synced; what the project forbids was never touched.
    return f"{len(refused)} resource(s) not permitted by the project, not synced: " + "; ".join(
        t.violation for t in refused
    )


def _fail_stranded(tasks: list[SyncTask]) -> None:
    """Fail each hook the record leaves neither running nor finished (``Terminating``).

    No step can move such a hook on: it is not checked (it is not running)
    nor created again (it was started), so its wave would never be done and
    the operation would stay Running for ever, asking to be looked at again
    at once. Its object is not trusted to finish either: it was being ended.
    """
    for task in tasks:
        if task.action != "hook" or not task.started or task.done:
            continue
        if not task.running:
            was = task.hook_phase or "started"
            why = f"{hook_label(task)} was recorded {was}, neither running nor finished"
        elif not task.key.name:  # a generateName hook's record lost its name: nothing to check
            why = f"{task.key.kind.lower()} hook was recorded running without a name"
        else:
            continue
        task.hook_phase, task.status = HookPhase.FAILED, ResultCode.SYNC_FAILED
        task.message = f"{why}: no step can complete it"


def _failing(tasks: list[SyncTask]) -> bool:
    main = [t for t in tasks if t.phase is not SyncPhase.SYNC_FAIL]
    if any(t.failed and not t.refused for t in main):
        return True
    return all(t.done for t in main) and any(t.refused for t in main)


async def _fail(tasks: list[SyncTask], executor: Executor) -> Advance:
    """Run the SyncFail hooks wave by wave; Failed once they have all finished."""
    message = failure_message(tasks)
    for wave in waves(tasks, SyncPhase.SYNC_FAIL):
        running = [t for t in wave if t.running]
        if running:
            await executor.poll(running)
        else:
            todo = [t for t in wave if not t.started]
            if todo:
                await executor.run(todo)
        if not all(t.done for t in wave):
            running = [t for t in wave if t.running]
            names = ", ".join(hook_label(t) for t in running) or "SyncFail hooks"
            return Advance(
                OperationPhase.RUNNING, f"{message} (running SyncFail hook {names})", WAIT_SECONDS
            )
    failed = [t for t in tasks if t.phase is SyncPhase.SYNC_FAIL and t.failed]
    if failed:
        message += "; SyncFail hook failed: " + "; ".join(t.message for t in failed)
    return Advance(OperationPhase.FAILED, message)


def hook_label(task: SyncTask) -> str:
    """``job.batch/migrate``: how messages name a hook (kind, group, name)."""
    group = f".{task.key.group}" if task.key.group else ""
    return f"{task.key.kind.lower()}{group}/{task.key.name}"


def _waiting(running: list[SyncTask]) -> Advance:
    """Running, naming the phase, wave and hooks waited for (a timeout's message repeats it)."""
    first = running[0]
    names = ", ".join(hook_label(t) for t in running[:3])
    more = f" and {len(running) - 3} more" if len(running) > 3 else ""
    return Advance(
        OperationPhase.RUNNING,
        f"waiting for {first.phase} wave {first.wave} hook {names}{more} to complete",
        WAIT_SECONDS,
    )


async def advance(tasks: list[SyncTask], executor: Executor, *, dry_run: bool) -> Advance:
    """Do the next piece of work of the operation ``tasks`` (results overlaid) describe."""
    _fail_stranded(tasks)
    if _failing(tasks):
        return await _fail(tasks, executor)
    ordered = forward_waves(tasks)
    running = [t for wave in ordered for t in wave if t.running]
    if running:
        await executor.poll(running)
        if _failing(tasks):
            return await _fail(tasks, executor)
        still = [t for t in running if t.running]
        if still:
            return _waiting(still)
    for index, wave in enumerate(ordered):
        if all(t.done for t in wave):
            continue
        before = ordered[index - 1] if index else []
        if before and not dry_run and any(t.action == "apply" for t in before):
            try:
                healthy, why = await executor.healthy(before)
            except WaveDegraded:
                return await _fail(tasks, executor)  # the degraded task records the failure
            if not healthy:
                where = f"{wave[0].phase} wave {wave[0].wave}"
                return Advance(OperationPhase.RUNNING, f"{why} (before {where})", WAIT_SECONDS)
        await executor.run([t for t in wave if not t.started])
        if _failing(tasks):
            return await _fail(tasks, executor)
        started = [t for t in wave if t.running]
        if started:
            return _waiting(started)
        if index + 1 < len(ordered):
            # The wave is recorded before the next one starts: a crash resumes after it.
            return Advance(OperationPhase.RUNNING, f"ran {wave[0].phase} wave {wave[0].wave}")
        break
    if _failing(tasks):
        return await _fail(tasks, executor)
    verb = "dry run" if dry_run else "synced"
    return Advance(OperationPhase.SUCCEEDED, f"successfully {verb} (all tasks run)")
