"""Every operation ends, and none makes a hook twice: on a real control plane.

- A controller step that dies between creating a ``generateName`` hook Job and
  recording it (the API server refuses the record, through a
  ValidatingAdmissionPolicy): the step is taken again rather than the operation
  ended, and after a restart the next step creates the same Job again, meets
  AlreadyExists, adopts the one that exists (same uid), and the operation ends
  Succeeded with one Job in the namespace.
- The controller's sync timeout: an app whose PreSync hook never finishes and an
  app whose failed attempt waits a minute for its retry both end Failed once the
  timeout has passed, the hook Job deleted and the lock released, the message
  naming the timeout and what each was waiting for. A third app's operation,
  marked Terminating as the API server's DELETE operation does, is ended by the
  controller's next step: its own hook deleted, a Job a forged record entry names
  left alone (and the end is an Error saying so).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from gitward.appstate import lock
from gitward.appstate.settings import SYNC_TIMEOUT_KEY
from gitward.appstate.status import age_seconds
from gitward.cluster import ClusterError, KubeClient, NotFound
from gitward.services import Services, build_controller
from gitward.sync import hooks
from tests.support.admission import refusing
from tests.support.apps import configmap, suspended_hook_job, unique, yaml_docs
from tests.support.controller import API, application
from tests.support.git import GitRepo
from tests.support.poll import eventually

Obj = dict[str, Any]
pytestmark = pytest.mark.cluster
#: Where the probe Application lives: a namespace no controller of these tests watches.
PROBES = "default"


def app_in(home: str, name: str, repo: GitRepo, dest: str, automated: Obj | None = None) -> Obj:
    obj = application(name, repo, dest, automated)
    obj["metadata"]["namespace"] = home
    return obj


async def operation_state(kube: KubeClient, home: str, name: str) -> Obj:
    app = await kube.get(API, "Application", name, home)
    return dict((app.get("status") or {}).get("operationState") or {})


async def jobs(kube: KubeClient, dest: str) -> list[Obj]:
    return list(await kube.list("batch/v1", "Job", dest))


#: CEL: the written status records a hook as running (what a step writes after creating one).
RECORDS_RUNNING_HOOK = (
    "has(object.status) && has(object.status.operationState) && "
    "has(object.status.operationState.syncResult) && "
    "has(object.status.operationState.syncResult.resources) && "
    "object.status.operationState.syncResult.resources.exists(r, "
    "has(r.hookPhase) && r.hookPhase == 'Running')"
)


def running_hook_record() -> Obj:
    hook = {"group": "batch", "version": "v1", "kind": "Job", "name": "x", "hookPhase": "Running"}
    return {"operationState": {"phase": "Running", "syncResult": {"resources": [hook]}}}


async def refused(kube: KubeClient, name: str) -> bool:
    """Whether the API server refuses to record a running hook for the probe app now."""
    try:
        await kube.patch(
            API,
            "Application",
            name,
            PROBES,
            {"status": running_hook_record()},
            subresource="status",
        )
    except ClusterError:
        return True
    return False


@contextlib.asynccontextmanager
async def hook_records_refused(kube: KubeClient, names: list[str]) -> AsyncIterator[str]:
    """The API server refuses every status write that records a running hook of the apps
    ``names`` (the last one a probe in :data:`PROBES`, which no controller watches), as a
    step's write after creating a hook: the step dies between the two. Yields the
    policy's name; it is gone afterwards."""
    policy = f"refuse-hook-records-{names[0]}"
    allowed = ", ".join(f"'{n}'" for n in names)
    rule = {
        "apiGroups": ["argoproj.io"],
        "apiVersions": ["*"],
        "operations": ["UPDATE"],
        "resources": ["applications/status"],
    }
    async with refusing(
        kube,
        policy,
        rule,
        f"!({RECORDS_RUNNING_HOOK})",
        "hook record refused",
        only_if=f"object.metadata.name in [{allowed}]",
    ):
        probe = names[-1]
        await eventually(
            lambda: refused(kube, probe), "the policy to refuse hook records", timeout=30
        )
        yield policy


async def test_a_hook_created_before_its_record_failed_is_adopted_not_created_again(
    installed: KubeClient, namespace: str, git_repo: Callable[[str], GitRepo]
) -> None:
    """The controller's step creates the PreSync Job, then the API server refuses the
    record of it, again and again; the step is taken again (not ended, which would
    start the sync over with a new Job), then the controller is restarted with the
    records allowed: it adopts the Job, and the sync ends Succeeded with that one Job."""
    kube, home = installed, namespace
    name, dest = unique("adopt"), unique("adopt")
    probe = f"{name}-probe"
    repo = git_repo("adopt")
    migrate = suspended_hook_job({"generateName": "migrate-"})
    repo.commit({"app/all.yaml": yaml_docs(migrate, configmap("x"))})
    await kube.create(app_in(PROBES, probe, repo, dest))
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    try:
        async with hook_records_refused(kube, [name, probe]):
            ctl = build_controller(await Services.load(kube, home, long_lived=True), workers=2)
            task = asyncio.create_task(ctl.run(stop))
            await kube.create(app_in(home, name, repo, dest, {"prune": True}))

            async def retried() -> bool:
                made = await jobs(kube, dest)
                assert len(made) <= 1, [j["metadata"]["name"] for j in made]
                memory = ctl.reconciler.memory.get(name)
                return bool(made) and memory is not None and memory.step_failures >= 2

            await eventually(retried, "the refused step to be taken again", timeout=40)
            stop.set()
            await asyncio.wait_for(task, 30)
        made = await jobs(kube, dest)
        assert len(made) == 1, [j["metadata"]["name"] for j in made]
        created = made[0]["metadata"]
        assert created["name"].startswith("migrate-")
        stored = await kube.get(API, "Application", name, home)
        assert stored.get("operation"), "the operation is not ended by a refused write"
        token = hooks.owner_token(lock.operation_id(stored), 0, "PreSync", 0)
        assert created["annotations"][hooks.OWNER] == token, "marked with its attempt"
        recorded = (stored.get("status") or {}).get("operationState") or {}
        names = [r["name"] for r in (recorded.get("syncResult") or {}).get("resources") or []]
        assert created["name"] not in names, "the hook was never recorded"

        # A restarted controller takes the step from the record, which lacks the hook.
        stop = asyncio.Event()
        ctl = build_controller(await Services.load(kube, home, long_lived=True), workers=2)
        task = asyncio.create_task(ctl.run(stop))
        await kube.patch("batch/v1", "Job", created["name"], dest, {"spec": {"suspend": False}})

        async def succeeded() -> Obj | None:
            state = await operation_state(kube, home, name)
            return state if state.get("phase") in ("Succeeded", "Failed", "Error") else None

        state = await eventually(succeeded, "the operation to end", timeout=60)
        assert state["phase"] == "Succeeded", state["message"]
        uids = [j["metadata"]["uid"] for j in await jobs(kube, dest)]
        assert uids == [created["uid"]], "the hook Job was made twice"
        entries = {r["name"]: r for r in state["syncResult"]["resources"]}
        assert entries[created["name"]]["hookPhase"] == "Succeeded"
        assert entries["x"]["status"] == "Synced"
    finally:
        stop.set()
        if task is not None:
            await asyncio.wait_for(task, 40)
        for app_ns, app_name in ((home, name), (PROBES, probe)):
            with contextlib.suppress(NotFound):
                await kube.delete(API, "Application", app_name, app_ns)
        with contextlib.suppress(NotFound):
            await kube.delete("v1", "Namespace", dest, None, propagation="Background")


async def test_the_sync_timeout_and_a_terminate_request_end_operations_as_argo_cd_does(
    installed: KubeClient, namespace: str, git_repo: Callable[[str], GitRepo]
) -> None:
    kube, home = installed, namespace
    timeout = 12.0
    hang, hang_dest = unique("hang"), unique("hang")
    far, far_dest = unique("far"), unique("far")
    asked, asked_dest = unique("asked"), unique("asked")
    hanging = git_repo("hang")
    never = suspended_hook_job({"name": "never"})
    hanging.commit({"app/all.yaml": yaml_docs(never, configmap("x"))})
    bad = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "bad"},
        "spec": {"ports": [{"port": 99999}]},
    }  # the API server refuses the port: the attempt fails, its retry is a minute away
    failing = git_repo("far")
    failing.commit({"app/all.yaml": yaml_docs(configmap("one"), bad)})
    retried = app_in(home, far, failing, far_dest, {"prune": True})
    retried["spec"]["syncPolicy"]["retry"] = {
        "limit": 3,
        "backoff": {"duration": "60s", "factor": 2, "maxDuration": "5m"},
    }
    parts = await Services.load(kube, home, long_lived=True)
    ctl = build_controller(parts, workers=2, sync_timeout=timeout)
    stop = asyncio.Event()
    task = asyncio.create_task(ctl.run(stop))
    try:
        await kube.create(app_in(home, hang, hanging, hang_dest, {"prune": True}))
        await kube.create(retried)
        await kube.create(app_in(home, asked, hanging, asked_dest, {"prune": True}))

        async def ended(name: str) -> Obj | None:
            state = await operation_state(kube, home, name)
            return state if state.get("phase") in ("Failed", "Error") else None

        # The API server's DELETE operation while the hook runs, with a forged record entry
        # naming a bystander Job: the controller deletes its own hook, never the bystander.
        async def hook_running() -> bool:
            found = (await operation_state(kube, home, asked)).get("syncResult") or {}
            return any(r.get("hookPhase") == "Running" for r in found.get("resources") or [])

        await eventually(hook_running, "the asked app's hook to run", timeout=20)
        await kube.create(
            {
                **suspended_hook_job({"name": "bystander"}),
                "metadata": {"name": "bystander", "namespace": asked_dest},
            }
        )
        forged = {
            "group": "batch",
            "version": "v1",
            "kind": "Job",
            "namespace": asked_dest,
            "name": "bystander",
            "syncPhase": "PreSync",
            "hookType": "PreSync",
            "hookPhase": "Running",
        }
        path = "/status/operationState/syncResult/resources/-"
        await kube.patch(
            API,
            "Application",
            asked,
            home,
            {"ops": [{"op": "add", "path": path, "value": forged}]},
            patch_type="json",
            subresource="status",
        )
        marked = await lock.request_termination(
            kube, await kube.get(API, "Application", asked, home)
        )
        assert marked["status"]["operationState"]["phase"] == "Terminating"

        hung = await eventually(lambda: ended(hang), "the hanging sync to end", timeout=45)
        assert hung["phase"] == "Failed", hung
        message = hung["message"]
        assert message.startswith("Operation terminated"), message
        assert f"{timeout:.0f} s ({SYNC_TIMEOUT_KEY})" in message
        assert "PreSync wave 0 hook job.batch/never" in message
        took = round(age_seconds(hung["startedAt"]) - age_seconds(hung["finishedAt"]))
        assert timeout <= took <= timeout + 4, f"ended {took:.0f} s after its start"
        entry = next(r for r in hung["syncResult"]["resources"] if r["name"] == "never")
        assert entry["hookPhase"] == "Failed"
        assert "terminated" in entry["message"]

        async def deleted() -> bool:
            try:
                live = await kube.get("batch/v1", "Job", "never", hang_dest)
            except NotFound:
                return True
            return bool(live["metadata"].get("deletionTimestamp"))

        await eventually(deleted, "the running hook Job to be deleted", timeout=20)
        assert "operation" not in await kube.get(API, "Application", hang, home)

        waited = await eventually(lambda: ended(far), "the retrying sync to end", timeout=45)
        assert waited["phase"] == "Failed", waited
        assert "waiting to retry" in waited["message"], waited["message"]
        assert "99999" in waited["message"]
        took = round(age_seconds(waited["startedAt"]) - age_seconds(waited["finishedAt"]))
        assert took <= timeout + 4, f"the retry's backoff held the app {took:.0f} s"
        assert "nextRetryAt" not in waited
        assert "operation" not in await kube.get(API, "Application", far, home)

        stopped = await eventually(lambda: ended(asked), "the asked app to end", timeout=20)
        assert stopped["phase"] == "Error", stopped
        assert stopped["message"].startswith("Operation termination had errors"), stopped
        assert "Operation terminated" in stopped["message"]
        assert SYNC_TIMEOUT_KEY not in stopped["message"], "ended by the request, not the timeout"
        assert "job.batch/bystander not deleted" in stopped["message"]
        bystander = await kube.get("batch/v1", "Job", "bystander", asked_dest)
        assert not bystander["metadata"].get("deletionTimestamp"), "a forged entry deleted it"

        async def own_deleted() -> bool:
            try:
                live = await kube.get("batch/v1", "Job", "never", asked_dest)
            except NotFound:
                return True
            return bool(live["metadata"].get("deletionTimestamp"))

        await eventually(own_deleted, "the asked app's own hook Job to be deleted", timeout=20)
        assert "operation" not in await kube.get(API, "Application", asked, home)
    finally:
        stop.set()
        await asyncio.wait_for(task, 40)
        for app_name in (hang, far, asked):
            with contextlib.suppress(NotFound):
                await kube.delete(API, "Application", app_name, home)
        for dest in (hang_dest, far_dest, asked_dest):
            with contextlib.suppress(NotFound):
                await kube.delete("v1", "Namespace", dest, None, propagation="Background")
