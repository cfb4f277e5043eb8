"""Every operation ends, and none makes a hook twice: on a real control plane.

- A step that dies between creating a ``generateName`` hook Job and recording it
  (the API server refuses its status write, through a ValidatingAdmissionPolicy):
  the next step, in another process's shoes, creates the same Job again, meets
  AlreadyExists, adopts the one that exists (same uid), and the operation ends
  Succeeded with one Job in the namespace.
- The controller's sync timeout: an app whose PreSync hook never finishes and an
  app whose failed attempt waits a minute for its retry both end Failed once the
  timeout has passed, the hook Job deleted and the lock released, the message
  naming the timeout and what each was waiting for.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from gitward.appstate import lock
from gitward.appstate.settings import SYNC_TIMEOUT_KEY
from gitward.appstate.status import age_seconds, now
from gitward.cluster import ClusterError, KubeClient, NotFound
from gitward.services import Services, build_controller
from gitward.sync import hooks
from gitward.sync.operation import Step, StepContext, begin, resume
from gitward.sync.plan import SyncRequest
from tests.support.apps import HOOK, configmap, unique, yaml_docs
from tests.support.controller import API, application
from tests.support.git import GitRepo
from tests.support.poll import eventually

Obj = dict[str, Any]
pytestmark = pytest.mark.cluster
ADMISSION = "admissionregistration.k8s.io/v1"


def job(meta: Obj, phase: str) -> Obj:
    """A hook Job that runs only once the test un-suspends it."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {**meta, "annotations": {HOOK: phase}},
        "spec": {
            "suspend": True,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "m", "image": "busybox:1.36", "args": ["true"]}],
                }
            },
        },
    }


def app_in(home: str, name: str, repo: GitRepo, dest: str, automated: Obj | None = None) -> Obj:
    obj = application(name, repo, dest, automated)
    obj["metadata"]["namespace"] = home
    return obj


async def operation_state(kube: KubeClient, home: str, name: str) -> Obj:
    app = await kube.get(API, "Application", name, home)
    return dict((app.get("status") or {}).get("operationState") or {})


async def jobs(kube: KubeClient, dest: str) -> list[Obj]:
    return list(await kube.list("batch/v1", "Job", dest))


async def status_write_refused(kube: KubeClient, home: str, name: str) -> bool:
    """Whether the API server refuses a status write of the app right now."""
    try:
        await kube.patch(
            API,
            "Application",
            name,
            home,
            {"status": {"reconciledAt": now()}},
            subresource="status",
        )
    except ClusterError:
        return True
    return False


@contextlib.asynccontextmanager
async def status_writes_refused(kube: KubeClient, home: str, name: str) -> AsyncIterator[None]:
    """The API server refuses every status write of Application ``home/name`` meanwhile."""
    policy = f"refuse-status-{name}"
    await kube.create(
        {
            "apiVersion": ADMISSION,
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": policy},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["argoproj.io"],
                            "apiVersions": ["*"],
                            "operations": ["UPDATE"],
                            "resources": ["applications/status"],
                        }
                    ]
                },
                "matchConditions": [
                    {
                        "name": "this-app",
                        "expression": f"object.metadata.namespace == '{home}' && "
                        f"object.metadata.name == '{name}'",
                    }
                ],
                "validations": [{"expression": "false", "message": "status write refused"}],
            },
        }
    )
    await kube.create(
        {
            "apiVersion": ADMISSION,
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": policy},
            "spec": {"policyName": policy, "validationActions": ["Deny"]},
        }
    )
    try:

        async def refused() -> bool:
            return await status_write_refused(kube, home, name)

        await eventually(refused, "the policy to refuse status writes", timeout=30)
        yield
    finally:
        for kind in ("ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicy"):
            with contextlib.suppress(NotFound):
                await kube.delete(ADMISSION, kind, policy, None)

    async def accepted() -> bool:
        return not await status_write_refused(kube, home, name)

    await eventually(accepted, "status writes to be accepted again", timeout=30)


async def test_a_hook_created_before_a_crash_is_adopted_not_created_again(
    installed: KubeClient, namespace: str, git_repo: Callable[[str], GitRepo]
) -> None:
    kube, home = installed, namespace
    name, dest = unique("adopt"), unique("adopt")
    repo = git_repo("adopt")
    migrate = job({"generateName": "migrate-"}, "PreSync")
    repo.commit({"app/all.yaml": yaml_docs(migrate, configmap("x"))})
    await kube.create(app_in(home, name, repo, dest))
    try:
        first = (await Services.load(kube, home)).refresher(holder="controller@adopt/first")
        async with status_writes_refused(kube, home, name):
            app_obj = await kube.get(API, "Application", name, home)
            with pytest.raises(ClusterError, match="status write refused"):
                await begin(StepContext(first), app_obj, SyncRequest(prune=True))
        made = await jobs(kube, dest)
        assert len(made) == 1, [j["metadata"]["name"] for j in made]
        created = made[0]["metadata"]
        assert created["name"].startswith("migrate-")
        operation_id = lock.operation_id(await kube.get(API, "Application", name, home))
        token = hooks.owner_token(operation_id, 0, "PreSync", 0)
        assert created["annotations"][hooks.OWNER] == token, "marked with its attempt"
        assert "syncResult" not in await operation_state(kube, home, name), "nothing recorded"

        # Another process takes the next step from the record (which lacks the hook).
        second = (await Services.load(kube, home)).refresher(holder="controller@adopt/second")
        ctx = StepContext(second, wait=0.2)
        step = await resume(ctx, await kube.get(API, "Application", name, home))
        assert step.requeue_after is not None, step.result.message
        await kube.patch("batch/v1", "Job", created["name"], dest, {"spec": {"suspend": False}})

        async def finished() -> Step | None:
            nonlocal step
            step = await resume(ctx, step.app_obj)
            return step if step.done else None

        done = await eventually(finished, "the operation to end", timeout=60)
        assert done.result.phase == "Succeeded", done.result.message
        after = await jobs(kube, dest)
        uids = [j["metadata"]["uid"] for j in after]
        assert uids == [created["uid"]], "the hook Job was made twice"
        state = await operation_state(kube, home, name)
        entries = {r["name"]: r for r in state["syncResult"]["resources"]}
        assert entries[created["name"]]["hookPhase"] == "Succeeded"
        assert entries["x"]["status"] == "Synced"
    finally:
        await kube.delete(API, "Application", name, home)
        with contextlib.suppress(NotFound):
            await kube.delete("v1", "Namespace", dest, None, propagation="Background")


async def test_the_sync_timeout_ends_a_hanging_hook_and_a_far_retry(
    installed: KubeClient, namespace: str, git_repo: Callable[[str], GitRepo]
) -> None:
    kube, home = installed, namespace
    timeout = 8.0
    hang, hang_dest = unique("hang"), unique("hang")
    far, far_dest = unique("far"), unique("far")
    hanging = git_repo("hang")
    hanging.commit({"app/all.yaml": yaml_docs(job({"name": "never"}, "PreSync"), configmap("x"))})
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

        async def ended(name: str) -> Obj | None:
            state = await operation_state(kube, home, name)
            return state if state.get("phase") in ("Failed", "Error") else None

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
    finally:
        stop.set()
        await asyncio.wait_for(task, 40)
        for app_name in (hang, far):
            with contextlib.suppress(NotFound):
                await kube.delete(API, "Application", app_name, home)
        for dest in (hang_dest, far_dest):
            with contextlib.suppress(NotFound):
                await kube.delete("v1", "Namespace", dest, None, propagation="Background")
