"""An operation lives in the Application's record: killed controllers, retries, busy workers.

- A ``gitward controller`` process SIGKILLed twice in the middle of a 300-object sync
  (once while its PreSync hook Job runs, once between its two waves) and restarted:
  each new process goes on from the record — the hook Job is never created again and
  the third process applies exactly the second wave — and the sync ends Succeeded.
- A revision whose sync failed, then a restart: the retry waits for the recorded
  backoff; a new commit is synced at once.
- Eight workers, twenty apps each waiting on a hook: a twenty-first app's drift is
  healed in under two seconds, as no worker waits on an operation.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from gitward.appstate import Settings
from gitward.cluster import KubeClient, NotFound
from gitward.localkube import LocalCluster
from gitward.localkube.process import free_ports
from gitward.services import Services, build_controller
from tests.support.apps import configmap, suspended_hook_job, unique, yaml_docs
from tests.support.controller import API, application, configmap_data
from tests.support.git import GitRepo
from tests.support.poll import eventually

Obj = dict[str, Any]
WAVE = "argocd.argoproj.io/sync-wave"
GATE = "gitward.test/gate"


class Process:
    """``gitward controller`` as its own process: started, scraped, SIGKILLed."""

    def __init__(self, kubeconfig: Path, home: str, log: Path) -> None:
        self.port = free_ports(1)[0]
        argv = [sys.executable, "-m", "gitward.cli", "--kubeconfig", str(kubeconfig)]
        argv += ["--namespace", home, "controller", "--listen", f"127.0.0.1:{self.port}"]
        argv += ["--replica-id", "resume-test", "--log-level", "info", "--no-appsets"]
        self.log = log.open("ab")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)

    async def metric(self, verb: str) -> float:
        """Requests of ``verb`` this process sent to the Kubernetes API so far."""
        url = f"http://127.0.0.1:{self.port}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            text = await resp.text()
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name.startswith("gitward_kubernetes_requests"):
                    total += sample.value if sample.labels.get("verb") == verb else 0.0
        return total

    async def ready(self) -> None:
        async def up() -> bool:
            with contextlib.suppress(aiohttp.ClientError):
                await self.metric("GET")
                return True
            return False

        await eventually(up, "the controller to serve /metrics", timeout=60)

    def kill(self) -> None:
        """SIGKILL: nothing is finished, released or flushed."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


@contextlib.contextmanager
def controller(kubeconfig: Path, home: str, log: Path) -> Iterator[Process]:
    process = Process(kubeconfig, home, log)
    try:
        yield process
    finally:
        process.stop()


def app_in(home: str, name: str, repo: GitRepo, dest: str, **policy: Any) -> Obj:
    obj = application(name, repo, dest, {"prune": True, **policy.pop("automated", {})})
    obj["metadata"]["namespace"] = home
    obj["spec"]["syncPolicy"].update(policy)
    return obj


async def record(kube: KubeClient, home: str, name: str) -> Obj:
    app = await kube.get(API, "Application", name, home)
    return dict((app.get("status") or {}).get("operationState") or {})


def results(state: Obj) -> list[Obj]:
    return list((state.get("syncResult") or {}).get("resources") or [])


def gated_deployment(gate: str) -> Obj:
    """Healthy only once a node carries the label ``GATE=gate`` (its Pod has nowhere to go)."""
    labels = {"app": "gate"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "gate"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": {GATE: gate},
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [{"name": "c", "image": "busybox:1.36"}],
                },
            },
        },
    }


@contextlib.asynccontextmanager
async def opened_gate(kube: KubeClient, gate: str) -> AsyncIterator[None]:
    """Label one node with the gate, so the gated Deployment's Pod is scheduled there."""
    nodes = await kube.list("v1", "Node", None)
    node = nodes[0]["metadata"]["name"]
    await kube.patch("v1", "Node", node, None, {"metadata": {"labels": {GATE: gate}}})
    try:
        yield
    finally:
        await kube.patch("v1", "Node", node, None, {"metadata": {"labels": {GATE: None}}})


async def test_a_killed_controller_goes_on_from_the_record_and_applies_nothing_twice(
    installed: KubeClient,
    cluster: LocalCluster,
    namespace: str,
    git_repo: Callable[[str], GitRepo],
    tmp_path: Path,
) -> None:
    kube, home = installed, namespace
    name, dest, gate = unique("killed"), unique("killed"), unique("gate")
    wave0 = [configmap(f"w0-{i:03d}", {WAVE: "0"}) for i in range(149)]
    wave1 = [configmap(f"w1-{i:03d}", {WAVE: "1"}) for i in range(150)]
    docs = [suspended_hook_job({"name": "migrate"}), gated_deployment(gate), *wave0, *wave1]
    repo = git_repo("killed")
    repo.commit({"app/all.yaml": yaml_docs(*docs)})
    log = tmp_path / "controller.log"
    await kube.create(app_in(home, name, repo, dest))
    try:
        # 1. Killed while the PreSync hook runs.
        with controller(cluster.kubeconfig, home, log) as first:

            async def hook_running() -> Obj | None:
                found = [
                    r for r in results(await record(kube, home, name)) if r["name"] == "migrate"
                ]
                if not found or found[0].get("hookPhase") != "Running":
                    return None
                with contextlib.suppress(NotFound):
                    return await kube.get("batch/v1", "Job", "migrate", dest)
                return None

            job = await eventually(hook_running, "the PreSync hook Job to run", timeout=90)
            first.kill()
        # 2. Killed between the waves: wave 0 applied, waiting for it to be healthy.
        with controller(cluster.kubeconfig, home, log) as second:
            await kube.patch("batch/v1", "Job", "migrate", dest, {"spec": {"suspend": False}})

            async def between_waves() -> bool:
                done = {r["name"]: r.get("status") for r in results(await record(kube, home, name))}
                first_wave = all(done.get(cm["metadata"]["name"]) == "Synced" for cm in wave0)
                return first_wave and done.get("gate") == "Synced"

            await eventually(between_waves, "wave 0 to be applied", timeout=90)
            second.kill()
        state = await record(kube, home, name)
        assert state["phase"] == "Running", state
        assert not [
            r for r in results(state) if r["name"].startswith("w1-") and r["status"] != "Pending"
        ]
        applied = {
            cm["metadata"]["name"]: (
                await kube.get("v1", "ConfigMap", cm["metadata"]["name"], dest)
            )["metadata"]["resourceVersion"]
            for cm in wave0
        }
        # 3. The third process finishes: only wave 1 is left to apply.
        with controller(cluster.kubeconfig, home, log) as third:
            await third.ready()
            async with opened_gate(kube, gate):

                async def succeeded() -> Obj | None:
                    state = await record(kube, home, name)
                    return state if state.get("phase") == "Succeeded" else None

                state = await eventually(succeeded, "the sync to succeed", timeout=120)
                assert await third.metric("APPLY") == len(wave1), "applied only what was left"
        again = await kube.get("batch/v1", "Job", "migrate", dest)
        assert again["metadata"]["uid"] == job["metadata"]["uid"], "the hook Job was created again"
        for cm_name, version in applied.items():
            live = await kube.get("v1", "ConfigMap", cm_name, dest)
            assert live["metadata"]["resourceVersion"] == version, f"{cm_name} written again"
        assert await configmap_data(kube, "w1-149", dest) == {"k": "w1-149"}
        statuses = {r["name"]: (r.get("status"), r.get("hookPhase")) for r in results(state)}
        assert statuses["migrate"] == ("Synced", "Succeeded")
        assert len(statuses) == 301
        assert all(s == "Synced" for s, _ in statuses.values())
        events = await kube.list("v1", "Event", home, field_selector=f"involvedObject.name={name}")
        assert [e["reason"] for e in events].count("OperationResumed") == 2
    finally:
        await kube.delete(API, "Application", name, home)
        with contextlib.suppress(NotFound):
            await kube.delete("v1", "Namespace", dest, None, propagation="Background")


async def test_a_failed_revision_waits_for_its_backoff_across_a_restart_and_a_new_commit_does_not(
    installed: KubeClient,
    cluster: LocalCluster,
    namespace: str,
    git_repo: Callable[[str], GitRepo],
    tmp_path: Path,
) -> None:
    kube, home = installed, namespace
    name, dest = unique("backoff"), unique("backoff")
    bad = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "bad"},
        "spec": {"ports": [{"port": 99999}]},
    }  # the API server refuses the port
    repo = git_repo("backoff")
    repo.commit({"app/all.yaml": yaml_docs(configmap("one"), bad)})
    retry = {"limit": 5, "backoff": {"duration": "60s", "factor": 2, "maxDuration": "5m"}}
    await kube.create(app_in(home, name, repo, dest, retry=retry))
    log = tmp_path / "controller.log"
    try:
        with controller(cluster.kubeconfig, home, log) as first:

            async def waiting_to_retry() -> Obj | None:
                state = await record(kube, home, name)
                return state if state.get("nextRetryAt") and state.get("retryCount") == 1 else None

            failed = await eventually(waiting_to_retry, "the first attempt to fail", timeout=90)
            first.kill()
        assert failed["phase"] == "Running", failed
        assert failed["finishedAt"], failed
        assert "Retrying attempt #1" in failed["message"]
        assert "99999" in failed["message"]
        with controller(cluster.kubeconfig, home, log) as second:
            await second.ready()

            # Its first pass is over the app (all apps are queued at start): nothing is retried.
            async def passed() -> bool:
                url = f"http://127.0.0.1:{second.port}/metrics"
                async with aiohttp.ClientSession() as http, http.get(url) as resp:
                    text = await resp.text()
                return "gitward_app_reconcile_seconds_count" in text and any(
                    s.value >= 1
                    for f in text_string_to_metric_families(text)
                    for s in f.samples
                    if s.name == "gitward_app_reconcile_seconds_count"
                )

            await eventually(passed, "one reconcile of the app")
            assert await second.metric("APPLY") == 0, "retried before its recorded backoff"
            assert await record(kube, home, name) == failed
            # A new commit is synced at once, whatever the old revision's backoff says.
            fixed = repo.commit({"app/all.yaml": yaml_docs(configmap("one"), configmap("two"))})
            pushed = time.monotonic()
            await kube.patch(
                API,
                "Application",
                name,
                home,
                {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}},
            )

            async def synced() -> Obj | None:
                state = await record(kube, home, name)
                done = state.get("phase") == "Succeeded"
                return state if done and state["syncResult"]["revision"] == fixed else None

            await eventually(synced, "the new commit to be synced", timeout=30)
            took = time.monotonic() - pushed
            assert took < 15, f"the new commit waited {took:.1f} s"
            assert await configmap_data(kube, "two", dest) == {"k": "two"}
    finally:
        await kube.delete(API, "Application", name, home)
        with contextlib.suppress(NotFound):
            await kube.delete("v1", "Namespace", dest, None, propagation="Background")


async def test_apps_waiting_on_hooks_hold_no_worker(
    installed: KubeClient, namespace: str, git_repo: Callable[[str], GitRepo]
) -> None:
    kube, home = installed, namespace
    waiting = [unique("hooked") for _ in range(20)]
    dests = {n: unique("hooked") for n in waiting}
    hooked = git_repo("hooked")
    hooked.commit({"app/all.yaml": yaml_docs(suspended_hook_job({"name": "wait"}), configmap("x"))})
    plain = git_repo("plain")
    plain.commit({"app/cm.yaml": yaml_docs(configmap("c"))})
    healer, healer_dest = unique("heal"), unique("heal")
    settings = Settings(reconciliation_seconds=60.0, reconciliation_jitter_seconds=0.0)
    parts = await Services.load(kube, home, long_lived=True, settings=settings)
    ctl = build_controller(parts, workers=8)
    stop = asyncio.Event()
    task = asyncio.create_task(ctl.run(stop))
    try:
        for app_name in waiting:
            await kube.create(app_in(home, app_name, hooked, dests[app_name]))
        await kube.create(app_in(home, healer, plain, healer_dest, automated={"selfHeal": True}))

        async def all_waiting() -> bool:
            for app_name in waiting:
                found = results(await record(kube, home, app_name))
                if not any(r.get("hookPhase") == "Running" for r in found):
                    return False
            return await configmap_data(kube, "c", healer_dest) == {"k": "c"}

        await eventually(all_waiting, "twenty apps waiting on their hooks", timeout=120)
        live = await kube.get("v1", "ConfigMap", "c", healer_dest)
        live["data"] = {"k": "edited by hand"}
        await kube.replace(live)
        edited = time.monotonic()

        async def healed() -> bool:
            return await configmap_data(kube, "c", healer_dest) == {"k": "c"}

        await eventually(healed, "the drift to be healed", timeout=30)
        took = time.monotonic() - edited
        assert took < 2.0, f"healing took {took:.2f} s with every app waiting on a hook"
        for app_name in waiting:  # still waiting: nobody gave up on them to make room
            assert (await record(kube, home, app_name))["phase"] == "Running"
    finally:
        stop.set()
        await asyncio.wait_for(task, 40)
        for app_name in [*waiting, healer]:
            with contextlib.suppress(NotFound):
                await kube.delete(API, "Application", app_name, home)
        for dest in [*dests.values(), healer_dest]:
            with contextlib.suppress(NotFound):
                await kube.delete("v1", "Namespace", dest, None, propagation="Background")
