"""Turn a comparison into an ordered list of sync tasks.

A task is one thing to do to one resource — apply it, prune it, or run it as
a hook — with the phase and wave it belongs to. Tasks are plain data with
their result fields filled in as the operation runs, so the whole plan can be
written to ``status.operationState`` and resumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitward.appstate import respect_ignore
from gitward.appstate.comparison import Comparison
from gitward.model import resource_options as sync_options
from gitward.model.application import Application, Retry
from gitward.model.ordering import (
    hook_delete_policies,
    hook_phases,
    is_hook,
    is_skipped,
    kind_rank,
    wave,
)
from gitward.model.phases import HookPhase, ResultCode, SyncPhase
from gitward.model.status import SyncStatus
from gitward.model.tracking import ResourceKey
from gitward.sync import shared

Obj = dict[str, Any]

#: Wave used for PruneLast: after every other wave of the Sync phase.
PRUNE_LAST_WAVE = 1 << 30


@dataclass(frozen=True)
class SyncRequest:
    """What the user asked for (CLI flags or the ``operation`` field)."""

    revision: str | None = None
    #: One revision per ``spec.sources`` entry (a multi-source sync or rollback).
    revisions: tuple[str, ...] | None = None
    prune: bool = False
    dry_run: bool = False
    force: bool = False
    resources: frozenset[tuple[str, str, str]] | None = None  # (group, kind, name)
    sync_options: tuple[str, ...] = ()
    retry: Retry | None = None  # overrides spec.syncPolicy.retry

    def selects(self, key: ResourceKey) -> bool:
        if self.resources is None:
            return True
        return (key.group, key.kind, key.name) in self.resources or ("*", key.kind, key.name) in (
            self.resources
        )


@dataclass
class SyncTask:
    key: ResourceKey
    api_version: str
    action: str  # "apply" | "prune" | "hook"
    phase: SyncPhase
    wave: int
    obj: Obj | None
    live: Obj | None
    options: sync_options.Options
    delete_policies: frozenset[str] = frozenset()
    #: What the sync did to the resource; None until it did something.
    status: ResultCode | None = None
    #: Where a hook's object stands; None until it is created.
    hook_phase: HookPhase | None = None
    message: str = ""
    out_of_sync: bool = True
    #: Why the app's project forbids this resource: the task is failed from the start
    #: and never executed (nothing outside the fence is applied, pruned or run).
    violation: str = ""

    @property
    def refused(self) -> bool:
        """A resource (not a hook) the project forbids: the rest of the sync goes on."""
        return bool(self.violation) and self.action != "hook"

    @property
    def started(self) -> bool:
        """Whether the sync has acted on it (applied, pruned, or its hook created)."""
        if self.action == "hook":
            return self.hook_phase is not None or self.status is not None
        return self.status is not None

    @property
    def done(self) -> bool:
        if self.action == "hook":
            return self.hook_phase is not None and self.hook_phase.completed
        return self.status is not None

    @property
    def running(self) -> bool:
        """A hook created and not finished yet: what a step checks on."""
        return self.action == "hook" and self.hook_phase is HookPhase.RUNNING

    @property
    def failed(self) -> bool:
        return self.status is ResultCode.SYNC_FAILED or bool(
            self.hook_phase and self.hook_phase.failed
        )

    def sort_key(self) -> tuple[int, int, int, int, str, str]:
        return (
            self.phase.rank,
            self.wave,
            1 if self.action == "prune" else 0,
            kind_rank(self.key.kind),
            self.key.namespace,
            self.key.name,
        )

    def as_result(self) -> Obj:
        """A ``syncResult.resources[]`` entry, as Argo CD writes it.

        ``syncWave`` is gitward's addition: with the resource key and
        ``syncPhase`` it identifies the task when a later step resumes the
        operation from this record.
        """
        group, _, version = self.api_version.rpartition("/")
        entry: Obj = {
            "group": group,
            "version": version,
            "kind": self.key.kind,
            "namespace": self.key.namespace,
            "name": self.key.name,
            "status": str(self.status or ("" if self.action == "hook" else "Pending")),
            "message": self.message,
            "syncPhase": str(self.phase),
            "syncWave": self.wave,
        }
        if self.action == "hook":
            entry["hookType"] = str(self.phase)
            entry["hookPhase"] = str(self.hook_phase or HookPhase.PENDING)
        return entry


def build_plan(comparison: Comparison, app: Application, request: SyncRequest) -> list[SyncTask]:
    """Every task of a sync, in execution order."""
    policy = app.sync_policy
    app_opts = sync_options.parse(
        [*(policy.sync_options if policy else ()), *request.sync_options], "spec.syncPolicy"
    )
    respect_ignore.refuse_request_only(
        sync_options.parse(policy.sync_options if policy else (), "spec.syncPolicy"),
        sync_options.parse(request.sync_options, "sync request"),
    )
    if shared.enabled(app_opts):
        shared.check(app.name, _applied(comparison, request))
    tasks: list[SyncTask] = []
    for state in comparison.resources:
        if not request.selects(state.key):
            continue
        source = state.desired if state.desired is not None else state.live
        opts = sync_options.effective(app_opts, source)
        if state.desired is not None and is_skipped(state.desired):
            continue
        if state.requires_pruning:
            prune_last = opts.flag("PruneLast")
            tasks.append(
                SyncTask(
                    state.key,
                    state.api_version,
                    "prune",
                    SyncPhase.SYNC,
                    PRUNE_LAST_WAVE if prune_last else wave(state.live or {}),
                    None,
                    state.live,
                    opts,
                )
            )
            continue
        assert state.desired is not None
        phases = hook_phases(state.desired)
        if not phases and is_hook(state.desired):
            continue  # a Helm hook Argo CD has no phase for (test, rollback, delete): ignored
        if phases:
            for phase in phases:
                tasks.append(
                    _refused(
                        SyncTask(
                            state.key,
                            state.api_version,
                            "hook",
                            phase,
                            wave(state.desired),
                            state.desired,
                            state.live,
                            opts,
                            frozenset(hook_delete_policies(state.desired)),
                        ),
                        state.violation,
                    )
                )
            continue
        tasks.append(
            _refused(
                SyncTask(
                    state.key,
                    state.api_version,
                    "apply",
                    SyncPhase.SYNC,
                    wave(state.desired),
                    state.respected if state.respected is not None else state.desired,
                    state.live,
                    opts,
                    out_of_sync=state.status is not SyncStatus.SYNCED,
                ),
                state.violation,
            )
        )
    tasks.sort(key=SyncTask.sort_key)
    return tasks


def _applied(comparison: Comparison, request: SyncRequest) -> list[tuple[Obj, Obj | None]]:
    """(desired, live) of every resource the sync would apply."""
    return [
        (s.desired, s.live)
        for s in comparison.resources
        if s.desired is not None and not s.hook and request.selects(s.key)
    ]


def _refused(task: SyncTask, violation: str) -> SyncTask:
    """``task`` failed before it runs when the project forbids its resource.

    A forbidden hook fails its phase like a failed hook (what it would have done, a
    migration say, did not happen); a forbidden resource fails only itself.
    """
    if violation:
        task.violation = violation
        task.status = ResultCode.SYNC_FAILED
        task.message = violation
        if task.action == "hook":
            task.hook_phase = HookPhase.FAILED
    return task


def waves(tasks: list[SyncTask], phase: SyncPhase) -> list[list[SyncTask]]:
    """Tasks of ``phase`` grouped by wave, in order."""
    grouped: dict[int, list[SyncTask]] = {}
    for task in tasks:
        if task.phase is phase:
            grouped.setdefault(task.wave, []).append(task)
    return [grouped[w] for w in sorted(grouped)]
