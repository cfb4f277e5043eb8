"""The sync state machine as a table: plan + recorded results + what the cluster says -> next step.

In the manner of gitops-engine's ``sync_context_test``: each row plans a real
comparison (:func:`build_plan`), puts a recorded ``syncResult.resources`` on
it the way a later step reads it back (:func:`overlay` of :func:`read_state`),
and advances once with a fake executor whose answers the row gives. The row
says which tasks that step ran or polled and where the operation stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from gitward.appstate import lock
from gitward.model.phases import HookPhase, OperationPhase, ResultCode
from gitward.sync import hooks
from gitward.sync.machine import WaveDegraded, advance, single_step
from gitward.sync.plan import SyncRequest, SyncTask, build_plan
from gitward.sync.record import overlay, read_state, recorded_operation, same_operation
from tests.unit.sync.test_plan import APP, annotated, comparison, obj, state

HOOK = "argocd.argoproj.io/hook"
WAVE = "argocd.argoproj.io/sync-wave"

Obj = dict[str, Any]


@dataclass
class FakeExecutor:
    """Answers as the row says; records what the machine asked of it."""

    fail: set[str] = field(default_factory=set)
    #: A hook's phase at its next check (absent: still running).
    hooks: dict[str, HookPhase] = field(default_factory=dict)
    unhealthy: set[str] = field(default_factory=set)
    degraded: set[str] = field(default_factory=set)
    ran: list[str] = field(default_factory=list)
    polled: list[str] = field(default_factory=list)

    async def run(self, tasks: list[SyncTask]) -> None:
        for task in tasks:
            self.ran.append(task.key.name)
            failed = task.key.name in self.fail
            if task.action == "hook":
                task.hook_phase = HookPhase.FAILED if failed else HookPhase.RUNNING
                if failed:
                    task.status = ResultCode.SYNC_FAILED
            elif task.action == "prune":
                task.status = ResultCode.PRUNED
            else:
                task.status = ResultCode.SYNC_FAILED if failed else ResultCode.SYNCED
            task.message = "failed" if failed else "done"

    async def poll(self, hooks: list[SyncTask]) -> None:
        for task in hooks:
            self.polled.append(task.key.name)
            outcome = self.hooks.get(task.key.name)
            if outcome is not None:
                task.hook_phase = outcome
                ok = outcome is HookPhase.SUCCEEDED
                task.status = ResultCode.SYNCED if ok else ResultCode.SYNC_FAILED

    async def healthy(self, tasks: list[SyncTask]) -> tuple[bool, str]:
        for task in tasks:
            if task.key.name in self.degraded:
                task.status, task.message = ResultCode.SYNC_FAILED, f"{task.key.name} is Degraded"
                raise WaveDegraded(task.message)
            if task.key.name in self.unhealthy:
                return False, f"waiting for {task.key.name}"
        return True, ""


def hook(name: str, phase: str, **more: str) -> Obj:
    return annotated("Job", name, "batch/v1", **{HOOK: phase, **more})


def cm(name: str, wave: int = 0) -> Obj:
    return annotated("ConfigMap", name, **{WAVE: str(wave)}) if wave else obj("ConfigMap", name)


#: Every row's manifests: a PreSync hook, two waves of ConfigMaps, a PostSync and a SyncFail hook.
FULL = [hook("pre", "PreSync"), cm("a"), cm("b"), cm("late", 1), hook("post", "PostSync")]
FULL_WITH_FAIL = [*FULL, hook("onfail", "SyncFail")]


def saved(name: str, phase: str = "Sync", wave: int = 0, **fields: Any) -> Obj:
    """A recorded ``syncResult.resources[]`` entry."""
    group, kind = ("batch", "Job") if "hookPhase" in fields else ("", "ConfigMap")
    entry = {
        "group": group,
        "version": "v1",
        "kind": kind,
        "namespace": "ns",
        "name": name,
        "syncPhase": phase,
        "syncWave": wave,
        "status": fields.pop("status", ""),
        "message": "",
    }
    if "hookPhase" in fields:
        entry["hookType"] = phase
    entry.update(fields)
    return entry


def plan(docs: list[Obj], results: list[Obj]) -> list[SyncTask]:
    tasks = build_plan(comparison(*(state(d) for d in docs)), APP, SyncRequest(prune=True))
    record = {"status": {"operationState": {"syncResult": {"resources": results}}}}
    overlay(tasks, read_state(record).resources)
    return tasks


PRE_DONE = saved("pre", "PreSync", hookPhase="Succeeded", status="Synced")
WAVE0_DONE = [saved("a", status="Synced"), saved("b", status="Synced")]

ROWS: list[tuple[str, list[Obj], list[Obj], FakeExecutor, OperationPhase, list[str], list[str]]] = [
    # (why, manifests, recorded, cluster, next phase, tasks run, hooks polled)
    (
        "nothing done: the PreSync hook starts",
        FULL,
        [],
        FakeExecutor(),
        OperationPhase.RUNNING,
        ["pre"],
        [],
    ),
    (
        "PreSync running: only checked, never created again",
        FULL,
        [saved("pre", "PreSync", hookPhase="Running")],
        FakeExecutor(),
        OperationPhase.RUNNING,
        [],
        ["pre"],
    ),
    (
        "PreSync finished at this check: wave 0 runs in the same step",
        FULL,
        [saved("pre", "PreSync", hookPhase="Running")],
        FakeExecutor(hooks={"pre": HookPhase.SUCCEEDED}),
        OperationPhase.RUNNING,
        ["a", "b"],
        ["pre"],
    ),
    (
        "PreSync done: wave 0 runs",
        FULL,
        [PRE_DONE],
        FakeExecutor(),
        OperationPhase.RUNNING,
        ["a", "b"],
        [],
    ),
    (
        "wave 0 half done (a crash mid-wave): only the rest runs",
        FULL,
        [PRE_DONE, saved("a", status="Synced")],
        FakeExecutor(),
        OperationPhase.RUNNING,
        ["b"],
        [],
    ),
    (
        "wave 0 done and healthy: wave 1 runs",
        FULL,
        [PRE_DONE, *WAVE0_DONE],
        FakeExecutor(),
        OperationPhase.RUNNING,
        ["late"],
        [],
    ),
    (
        "wave 0 done, not healthy yet: nothing runs",
        FULL,
        [PRE_DONE, *WAVE0_DONE],
        FakeExecutor(unhealthy={"a"}),
        OperationPhase.RUNNING,
        [],
        [],
    ),
    (
        "wave 1 done: the PostSync hook starts",
        FULL,
        [PRE_DONE, *WAVE0_DONE, saved("late", wave=1, status="Synced")],
        FakeExecutor(),
        OperationPhase.RUNNING,
        ["post"],
        [],
    ),
    (
        "PostSync succeeded: the operation succeeds",
        FULL,
        [
            PRE_DONE,
            *WAVE0_DONE,
            saved("late", wave=1, status="Synced"),
            saved("post", "PostSync", hookPhase="Running"),
        ],
        FakeExecutor(hooks={"post": HookPhase.SUCCEEDED}),
        OperationPhase.SUCCEEDED,
        [],
        ["post"],
    ),
    (
        "a wave-0 apply fails: SyncFail hooks start, nothing later runs",
        FULL_WITH_FAIL,
        [PRE_DONE],
        FakeExecutor(fail={"a"}),
        OperationPhase.RUNNING,
        ["a", "b", "onfail"],
        [],
    ),
    (
        "recorded failure: the running SyncFail hook is checked",
        FULL_WITH_FAIL,
        [
            PRE_DONE,
            saved("a", status="SyncFailed"),
            saved("b", status="Synced"),
            saved("onfail", "SyncFail", hookPhase="Running"),
        ],
        FakeExecutor(hooks={"onfail": HookPhase.SUCCEEDED}),
        OperationPhase.FAILED,
        [],
        ["onfail"],
    ),
    (
        "a failure without SyncFail hooks fails at once",
        FULL,
        [PRE_DONE],
        FakeExecutor(fail={"b"}),
        OperationPhase.FAILED,
        ["a", "b"],
        [],
    ),
    (
        "a failed PreSync hook fails the sync before any apply",
        FULL,
        [saved("pre", "PreSync", hookPhase="Running")],
        FakeExecutor(hooks={"pre": HookPhase.FAILED}),
        OperationPhase.FAILED,
        [],
        ["pre"],
    ),
    (
        "a degraded wave fails the sync before the next wave",
        FULL,
        [PRE_DONE, *WAVE0_DONE],
        FakeExecutor(degraded={"b"}),
        OperationPhase.FAILED,
        [],
        [],
    ),
    (
        "one wave, no hooks: one step runs it all and succeeds",
        [cm("x"), cm("y")],
        [],
        FakeExecutor(),
        OperationPhase.SUCCEEDED,
        ["x", "y"],
        [],
    ),
]


@pytest.mark.parametrize(
    ("why", "docs", "results", "cluster", "phase", "ran", "polled"),
    ROWS,
    ids=[row[0] for row in ROWS],
)
async def test_next_step(
    why: str,
    docs: list[Obj],
    results: list[Obj],
    cluster: FakeExecutor,
    phase: OperationPhase,
    ran: list[str],
    polled: list[str],
) -> None:
    tasks = plan(docs, results)
    step = await advance(tasks, cluster, dry_run=False)
    assert (step.phase, sorted(cluster.ran), cluster.polled) == (phase, sorted(ran), polled), why
    if phase is OperationPhase.RUNNING and not ran and not polled:
        assert step.wait > 0, "a step that did nothing must not ask to run again at once"


async def test_steps_from_the_record_alone_reach_the_end_once_each() -> None:
    """Each step starts from nothing but the record the step before wrote."""
    cluster = FakeExecutor(hooks={"pre": HookPhase.SUCCEEDED, "post": HookPhase.SUCCEEDED})
    results: list[Obj] = []
    phases = []
    for _ in range(10):
        tasks = plan(FULL, results)
        step = await advance(tasks, cluster, dry_run=False)
        phases.append(step.phase)
        results = [t.as_result() for t in tasks]
        if step.phase.completed:
            break
    assert phases[-1] is OperationPhase.SUCCEEDED
    assert sorted(cluster.ran) == ["a", "b", "late", "post", "pre"], "each task ran exactly once"
    assert all(r["status"] == "Synced" for r in results)


def test_one_step_plans() -> None:
    assert single_step(plan([cm("x"), cm("y")], []))
    assert not single_step(plan([cm("x"), cm("y", 1)], []))
    assert not single_step(plan([cm("x"), hook("h", "PostSync")], []))


def test_a_record_belongs_to_the_operation_its_lock_names() -> None:
    asked = {"sync": {"prune": True}, "initiatedBy": {"username": "bob"}}
    locked = {**asked, "info": [{"name": lock.OPERATION_ID, "value": "id-1"}]}
    app = {"operation": {**asked, "info": [*locked["info"], {"name": lock.HOLDER, "value": "x"}]}}
    assert same_operation(recorded_operation(asked, "id-1"), app)
    assert not same_operation(recorded_operation(asked, "id-0"), app), "an earlier operation"
    assert not same_operation(asked, app), "recorded without an id: not this locked one"
    # Neither has an id (written by another tool): what they ask for decides.
    assert same_operation(asked, {"operation": asked})
    assert not same_operation({**asked, "sync": {}}, {"operation": asked})
    assert not same_operation("garbage", {"operation": asked})


STUCK_ROWS: list[tuple[str, list[Obj], list[Obj]]] = [
    (
        "a forward hook recorded Terminating (Argo CD's word while it ends one)",
        FULL,
        [saved("pre", "PreSync", hookPhase="Terminating")],
    ),
    (
        "a SyncFail hook recorded Terminating after a failure",
        FULL_WITH_FAIL,
        [
            PRE_DONE,
            saved("a", status="SyncFailed"),
            saved("b", status="Synced"),
            saved("onfail", "SyncFail", hookPhase="Terminating"),
        ],
    ),
]


@pytest.mark.parametrize(("why", "docs", "results"), STUCK_ROWS, ids=[row[0] for row in STUCK_ROWS])
async def test_a_task_neither_done_nor_running_ends_the_operation(
    why: str, docs: list[Obj], results: list[Obj]
) -> None:
    """No step could move it on: looking again (at once, or every few seconds) would
    keep the operation Running for ever, so it fails naming the task."""
    cluster = FakeExecutor()
    step = await advance(plan(docs, results), cluster, dry_run=False)
    assert step.phase is OperationPhase.FAILED, (why, step)
    assert "Terminating" in step.message, step.message
    assert cluster.ran == [], "nothing is created again"


@dataclass
class HookCluster(FakeExecutor):
    """A fake cluster that, like the API server, holds one object per name: a hook is
    named and marked as :class:`ClusterExecutor` names and marks it, and a create of a
    name that exists adopts the object when its mark is this attempt's, else fails."""

    operation_id: str = "0123456789abcdef"
    retry_count: int = 0
    #: name -> the owner mark of the object of that name.
    objects: dict[str, str] = field(default_factory=dict)
    creates: int = 0

    async def run(self, tasks: list[SyncTask]) -> None:
        others = [t for t in tasks if t.action != "hook"]
        await super().run(others)
        for task in (t for t in tasks if t.action == "hook"):
            token = hooks.owner_token(self.operation_id, self.retry_count, task.phase, task.wave)
            prefix = str((task.obj or {})["metadata"].get("generateName", ""))
            key = task.key
            name = key.name or hooks.derived_name(
                prefix, token, f"{key.group}/{key.kind}/{key.namespace}"
            )
            task.key = replace(task.key, name=name)
            self.ran.append(name)
            if self.objects.get(name, token) != token:
                task.hook_phase, task.status = HookPhase.FAILED, ResultCode.SYNC_FAILED
                task.message = f"{name} already exists and was not created by this operation"
                continue
            if name not in self.objects:
                self.objects[name] = token
                self.creates += 1
            task.hook_phase = HookPhase.RUNNING


def generated(prefix: str, phase: str) -> Obj:
    doc = hook("", phase)
    del doc["metadata"]["name"]
    doc["metadata"]["generateName"] = prefix
    return doc


GENERATED = [generated("migrate-", "PreSync"), cm("a")]


async def test_a_hook_created_before_a_crash_is_adopted_by_the_next_step() -> None:
    cluster = HookCluster()
    first = plan(GENERATED, [])
    step = await advance(first, cluster, dry_run=False)
    assert step.phase is OperationPhase.RUNNING
    # The process dies before it records the step: the next one starts from nothing.
    again = plan(GENERATED, [])
    step = await advance(again, cluster, dry_run=False)
    assert step.phase is OperationPhase.RUNNING, step.message
    assert cluster.creates == 1, "the hook was created twice"
    assert len(set(cluster.ran)) == 1, "both steps named it alike"
    # Recorded now: later steps only check it, never create it.
    recorded = [t.as_result() for t in again]
    cluster.hooks = {cluster.ran[0]: HookPhase.SUCCEEDED}
    step = await advance(plan(GENERATED, recorded), cluster, dry_run=False)
    assert cluster.ran[2:] == ["a"]
    assert cluster.creates == 1


async def test_a_retry_is_a_new_attempt_with_a_hook_of_its_own() -> None:
    cluster = HookCluster()
    await advance(plan(GENERATED, []), cluster, dry_run=False)
    cluster.retry_count = 1
    await advance(plan(GENERATED, []), cluster, dry_run=False)
    assert cluster.creates == 2
    assert len(set(cluster.objects.values())) == 2


async def test_a_running_hook_recorded_without_a_name_fails_rather_than_being_looked_up() -> None:
    nameless = saved("", "PreSync", hookPhase="Running")
    cluster = HookCluster()
    step = await advance(plan(GENERATED, [nameless]), cluster, dry_run=False)
    assert step.phase is OperationPhase.FAILED
    assert "recorded running without a name" in step.message
    assert cluster.polled == [], "a GET without a name would read the whole collection"
    assert cluster.ran == []


async def test_an_object_of_the_derived_name_made_by_another_is_never_adopted() -> None:
    cluster = HookCluster()
    await advance(plan(GENERATED, []), cluster, dry_run=False)
    name = cluster.ran[0]
    cluster.objects[name] = "someone-else.0.PreSync.0"
    tasks = plan(GENERATED, [])
    step = await advance(tasks, cluster, dry_run=False)
    assert step.phase is OperationPhase.FAILED
    assert f"{name} already exists and was not created by this operation" in step.message
