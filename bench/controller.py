"""Controller benchmarks: apps-1k, refresh, drift and push, on one fresh local cluster.

Run as ``.venv/bin/python -m bench.controller`` (``GITWARD_BENCH_QUICK=1`` for
reduced sizes). The controller runs as its own process, exactly as users run
it (``gitward controller``), so its CPU time and peak RSS come from /proc and
its request counts from its /metrics; the benchmark's own requests (creating
apps, polling status) are not counted.

- **apps-1k**: N Applications of 7 resources each (3 ConfigMaps, a Service,
  a ServiceAccount, a Secret and a one-replica Deployment whose Pod runs on a kwok
  node, so Healthy means a finished rollout) from one repository, created before
  the controller starts; time from controller start until every app is Synced and
  Healthy; peak RSS; API requests per app. Baseline: ``kubectl apply
  --server-side`` of the same N x 7 objects (plus namespaces) in the same run, on
  a fresh control plane of its own (the controller then gets another).
- **refresh**: steady state, nothing changed, reconciliation every few seconds:
  CPU seconds, API requests and git commands per full cycle over all N apps.
- **drift**: a tracked ConfigMap edited (as ``kubectl edit`` would), time until
  self-heal put it back; p50/p95 over T trials, each on another app. Baseline:
  the round trip of one GET (the API's own latency) in the same run.
- **push**: ``git push`` + a signed GitHub webhook, time until the app is
  Synced at the new commit; p50/p95 over P trials; then fan-out: one push
  that concerns F apps, time until all are Synced at the new commit.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import hashlib
import hmac
import json
import math
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bench.common import (
    QUICK,
    RESULTS,
    Repo,
    cluster,
    compile_bytecode,
    control_plane_cpu,
    cpu_between,
    percentile,
    process_cpu_seconds,
    release,
    table,
    write,
)
from gitward import localkube
from gitward.cluster import KubeClient, NotFound
from gitward.cluster.informer import Informer
from gitward.install import install
from gitward.localkube.process import free_ports

Obj = dict[str, Any]
API = "argoproj.io/v1alpha1"
SECRET = "bench-webhook-secret"  # noqa: S105 (a throw-away local cluster)

APPS = int(os.environ.get("GITWARD_BENCH_APPS", 100 if QUICK else 1000))
DRIFT_TRIALS = 10 if QUICK else 50
PUSH_TRIALS = 5 if QUICK else 20
FANOUT = 50 if QUICK else 500
RECONCILE_SECONDS = 10 if QUICK else 30
WORKERS = 8
#: Resources of each app (below), and of those the ConfigMaps a push changes.
APP_RESOURCES = 7
CHANGED_BY_PUSH = 3
#: kwok nodes hold 110 Pods each: one Pod per app (apps-1k, push, fan-out) and per
#: namespace of the kubectl baseline (its Deployments keep running), with room.
NODES = max(3, math.ceil((2 * APPS + FANOUT + 1) / 100) + 1)


def app_resources(workload: bool = True) -> str:
    """One app's manifests: 3 ConfigMaps, a Service, a ServiceAccount and, with
    ``workload``, a Secret and a one-replica Deployment (apps-1k: Healthy is a finished
    rollout). apps-10k keeps the first five: 10,000 Pods would be a kwok benchmark."""
    docs: list[Obj] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}, "data": {"i": "0"}}
        for i in range(3)
    ]
    docs.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        }
    )
    docs.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "runner"}})
    if not workload:
        return yaml.safe_dump_all(docs)
    token = base64.b64encode(b"not-a-real-token").decode()
    docs.append(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "web-credentials"},
            "type": "Opaque",
            "data": {"token": token},
        }
    )
    labels = {"app": "web"}
    docs.append(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": "runner",
                        "containers": [
                            {
                                "name": "web",
                                "image": "registry.local/web:1.0",
                                "envFrom": [{"secretRef": {"name": "web-credentials"}}],
                            }
                        ],
                    },
                },
            },
        }
    )
    assert len(docs) == APP_RESOURCES
    return yaml.safe_dump_all(docs)


def application(name: str, repo: Repo, path: str, namespace: str) -> Obj:
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": "argocd",
            "labels": {"bench-group": group_of(name)},
        },
        "spec": {
            "project": "default",
            "source": {"repoURL": repo.url, "path": path, "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["CreateNamespace=true"],
            },
        },
    }


async def gather_limited(calls: list[Callable[[], Awaitable[Any]]], limit: int = 32) -> None:
    semaphore = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[Any]]) -> None:
        async with semaphore:
            await call()

    await asyncio.gather(*(one(c) for c in calls))


class ControllerProcess:
    """``gitward controller`` in its own process, with its /metrics and /proc figures."""

    def __init__(self, kubeconfig: Path, log: Path) -> None:
        self.port = free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "gitward.cli", "--kubeconfig", str(kubeconfig)]
        argv += ["--namespace", "argocd", "controller", "--listen", f"127.0.0.1:{self.port}"]
        argv += ["--workers", str(WORKERS), "--log-level", "warning"]
        # GITWARD_BENCH_CONTROLLER_ARGS="--no-dora ...": compare with parts switched off.
        argv += shlex.split(os.environ.get("GITWARD_BENCH_CONTROLLER_ARGS", ""))
        self.log_path = log
        self.log = log.open("w")
        compile_bytecode()  # as the image has them: a start is not a compile
        self.started = time.monotonic()
        env = dict(os.environ)
        if os.environ.get("GITWARD_BENCH_MEMTRACE"):
            env["GITWARD_TRACEMALLOC"] = os.environ["GITWARD_BENCH_MEMTRACE"]  # frames
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    async def trace_memory(self, label: str) -> None:
        """With ``GITWARD_BENCH_MEMTRACE=N`` (frames per site): ask the controller for an
        allocation report (the first is the baseline, later ones the growth since) and keep
        it in ``bench/results/memtrace-<label>.txt``: where a scenario's memory goes."""
        if not os.environ.get("GITWARD_BENCH_MEMTRACE"):
            return
        before = self.log_path.read_text().count("memory: traced")
        self.proc.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = self.log_path.read_text()
            if text.count("memory: traced") > before:
                await asyncio.sleep(1.0)  # the report's lines follow its heading
                lines = self.log_path.read_text().splitlines()
                start = [i for i, line in enumerate(lines) if "memory: traced" in line][-1]
                report = "\n".join(lines[start : start + 30])
                RESULTS.mkdir(parents=True, exist_ok=True)
                (RESULTS / f"memtrace-{label}.txt").write_text(report + "\n")
                return
            await asyncio.sleep(0.5)

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.proc.pid)

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def metrics(self, http: aiohttp.ClientSession) -> dict[str, float]:
        """Summed samples by name+labels of interest: requests by verb, git, reconciles."""
        async with http.get(self.url + "/metrics") as resp:
            text = await resp.text()
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name.startswith("gitward_kubernetes_requests"):
                    by = f"{sample.labels.get('verb', '')} {sample.labels.get('resource', '')}"
                    out["res_" + by] = out.get("res_" + by, 0.0) + sample.value
                    key = "api_" + sample.labels.get("verb", "")
                elif sample.name.startswith("gitward_git_requests"):
                    key = "git_" + sample.labels.get("request_type", "")
                elif sample.name == "gitward_app_reconcile_seconds_count":
                    key = "reconciles"
                else:
                    continue
                out[key] = out.get(key, 0.0) + sample.value
        return out

    async def ready(self, http: aiohttp.ClientSession, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the controller exited: see {self.log.name}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(self.url + "/readyz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
        raise RuntimeError("the controller did not become ready")

    def profile(self, name: str) -> subprocess.Popen[bytes] | None:
        """With GITWARD_BENCH_PROFILE=DIR, sample the controller with py-spy into DIR/name."""
        out = os.environ.get("GITWARD_BENCH_PROFILE")
        if not out:
            return None
        Path(out).mkdir(parents=True, exist_ok=True)
        argv = ["py-spy", "record", "-p", str(self.proc.pid), "-f", "raw", "--nonblocking"]
        return subprocess.Popen([*argv, "-r", "1000", "-o", str(Path(out) / name)])

    @staticmethod
    def stop_profile(sampler: subprocess.Popen[bytes] | None) -> None:
        if sampler is not None:
            sampler.send_signal(signal.SIGINT)
            sampler.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def requests_of(metrics: dict[str, float]) -> dict[str, float]:
    return {k[4:]: v for k, v in metrics.items() if k.startswith("api_")}


def requests_by_resource(metrics: dict[str, float], apps: int) -> dict[str, float]:
    """Requests per app by ``VERB resource`` (``APPLY configmaps``), the larger first."""
    per_app = {k[4:]: v / apps for k, v in metrics.items() if k.startswith("res_")}
    return {k: round(v, 2) for k, v in sorted(per_app.items(), key=lambda kv: -kv[1]) if v}


async def deferred_writes_done(
    ctl: ControllerProcess, http: aiohttp.ClientSession, apps: int, timeout: float = 300.0
) -> tuple[float, dict[str, float]]:
    """Seconds from the controller's start until it wrote an Event for each app, and its
    metrics then (the Events and delivery records it wrote behind the syncs)."""
    deadline = time.monotonic() + timeout
    while True:
        metrics = await ctl.metrics(http)
        if metrics.get("res_POST events", 0.0) >= apps or time.monotonic() > deadline:
            return time.monotonic() - ctl.started, metrics
        await asyncio.sleep(0.5)


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}


def group_of(name: str) -> str:
    """The ``bench-group`` label of an app named ``name`` (``app-0001``: ``app``)."""
    return name.rsplit("-", 1)[0]


async def app_states(kube: KubeClient, group: str) -> list[Obj]:
    """The Applications of one group: one LIST filtered by label, never every app."""
    return await kube.list(API, "Application", "argocd", label_selector=f"bench-group={group}")


def synced_healthy(app: Obj, revision: str | None = None) -> bool:
    status = app.get("status") or {}
    sync = status.get("sync") or {}
    return (
        sync.get("status") == "Synced"
        and (status.get("health") or {}).get("status") == "Healthy"
        and (revision is None or sync.get("revision") == revision)
    )


async def wait_all(
    kube: KubeClient, prefix: str, count: int, revision: str | None, timeout: float
) -> float:
    """Seconds until ``count`` apps of ``prefix`` are Synced+Healthy (at ``revision``)."""
    started = time.monotonic()
    return max(await watch_until_done(kube, prefix, count, revision, started, timeout))


async def wait_all_timed(
    kube: KubeClient, prefix: str, count: int, since: float, timeout: float
) -> list[float]:
    """Seconds from ``since`` at which each of ``count`` apps was first seen Synced+Healthy.

    First apps first: the time to the first and the median app say how soon a
    cold-started controller delivers anything, beside the time to all.
    """
    return await watch_until_done(kube, prefix, count, None, since, timeout)


async def watch_until_done(
    kube: KubeClient,
    prefix: str,
    count: int,
    revision: str | None,
    since: float,
    timeout: float,
) -> list[float]:
    """Seconds from ``since`` at which each of ``count`` apps of ``prefix`` was first seen
    Synced+Healthy (at ``revision``), sorted.

    The apps are followed through one watch. Listing 1,000 Applications ten times a
    second, as this once did, cost the API server and this process a share of the
    two cores the controller is measured on.
    """
    seen: dict[str, float] = {}
    finished = asyncio.Event()

    def changed(name: str, app: Obj | None) -> None:
        if app is None or name in seen or not name.startswith(prefix):
            return
        if synced_healthy(app, revision):
            seen[name] = time.monotonic() - since
            if len(seen) >= count:
                finished.set()

    group = f"bench-group={group_of(prefix)}"
    informer = Informer(kube, API, "Application", "argocd", group, changed)
    informer.start()
    try:
        await asyncio.wait_for(finished.wait(), timeout)
    except TimeoutError:
        raise RuntimeError(
            f"{prefix}*: {len(seen)} of {count} apps Synced/Healthy after {timeout:.0f} s"
        ) from None
    finally:
        await informer.stop()
    return sorted(seen.values())


async def sync_finished_tenths(kube: KubeClient, group: str, started_wall: float) -> list[float]:
    """Seconds from ``started_wall`` at which each tenth of the apps' operations finished."""
    finished = []
    for app in await app_states(kube, group):
        stamp = ((app.get("status") or {}).get("operationState") or {}).get("finishedAt")
        if isinstance(stamp, str):
            at = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
            finished.append(at - started_wall)
    finished.sort()
    return [round(percentile(finished, p), 1) for p in range(10, 100, 10)] if finished else []


async def kubectl_baseline(
    kubectl: str, kubeconfig: Path, manifests: str, apps: int
) -> tuple[float, list[float]]:
    """``kubectl apply --server-side`` of the same objects into ``apps`` namespaces.

    Returns the seconds the apply took and, when the objects hold a Deployment, the
    seconds from the start at which each namespace's Deployment became Available: the
    same end state as Synced+Healthy, reached by the same kube-controller-manager and
    kwok, so first / median / all compare with the controller's like for like.
    """
    with tempfile.TemporaryDirectory() as tmp:
        docs = []
        body = list(yaml.safe_load_all(manifests))
        for i in range(apps):
            ns = f"kubectl-{i:04d}"
            docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            for obj in body:
                docs.append({**obj, "metadata": {**obj["metadata"], "namespace": ns}})
        path = Path(tmp) / "all.yaml"
        path.write_text(yaml.safe_dump_all(docs))
        started = time.monotonic()
        await asyncio.to_thread(
            subprocess.run,
            [kubectl, "--kubeconfig", str(kubeconfig), "apply", "--server-side", "-f", str(path)],
            check=True,
            capture_output=True,
        )
        applied = time.monotonic() - started
    if not any(obj.get("kind") == "Deployment" for obj in body):
        return applied, []
    async with await KubeClient.from_kubeconfig(str(kubeconfig), request_timeout=120) as kube:
        available: dict[str, float] = {}
        deadline = started + 1800
        while len(available) < apps and time.monotonic() < deadline:
            at = time.monotonic() - started
            for item in await kube.list("apps/v1", "Deployment", None):
                ns = item["metadata"].get("namespace", "")
                ready = int((item.get("status") or {}).get("availableReplicas") or 0)
                if ns.startswith("kubectl-") and ns not in available and ready >= 1:
                    available[ns] = at
            await asyncio.sleep(0.25)
        if len(available) < apps:
            raise RuntimeError(f"kubectl baseline: {len(available)} of {apps} rollouts done")
    return applied, sorted(available.values())


def signed_push(repo: Repo) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {"ref": "refs/heads/main", "repository": {"clone_url": repo.url, "default_branch": "main"}}
    ).encode()
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }
    return body, headers


async def push_and_notify(
    http: aiohttp.ClientSession, ctl: ControllerProcess, repo: Repo, files: dict[str, str]
) -> tuple[str, float]:
    """Push, then send the webhook; (new SHA, the moment the push began)."""
    started = time.monotonic()
    sha = await asyncio.to_thread(repo.push, files)
    body, headers = signed_push(repo)
    async with http.post(ctl.url + "/api/webhook", data=body, headers=headers) as resp:
        if resp.status != 200:
            raise RuntimeError(f"webhook answered {resp.status}: {await resp.text()}")
    return sha, started


async def drift_trials(kube: KubeClient, trials: int) -> tuple[list[float], list[float]]:
    """(heal seconds, GET round-trip seconds) per trial."""
    heals, gets = [], []
    for i in range(trials):
        ns = f"app-{i:04d}"
        t0 = time.monotonic()
        live = await kube.get("v1", "ConfigMap", "c0", ns)
        gets.append(time.monotonic() - t0)
        live["data"] = {"i": "edited by hand"}
        await kube.replace(live)
        started = time.monotonic()
        while True:
            with contextlib.suppress(NotFound):
                now = await kube.get("v1", "ConfigMap", "c0", ns)
                if now.get("data") == {"i": "0"}:
                    break
            if time.monotonic() - started > 60:
                raise RuntimeError(f"{ns}/c0 was not healed within 60 s")
            await asyncio.sleep(0.01)
        heals.append(time.monotonic() - started)
    return heals, gets


async def main() -> None:
    toolchain = localkube.ensure()
    kubectl = str(toolchain.binary("kubectl"))
    name = os.environ.get("GITWARD_BENCH_CLUSTER", "bench-controller")
    manifests = app_resources()
    # The baseline runs on a control plane of its own, the controller on a fresh one,
    # so neither pays for the other's objects (each Service's ClusterIP costs the API
    # server a pass over every IPAddress; the controller's caches would hold the
    # baseline's objects too): docs/performance.md, "apps-10k: one control plane each".
    local = cluster(name, fresh=True, nodes=NODES)
    cpu_at_start = control_plane_cpu(local)
    kubectl_s, rollouts = await kubectl_baseline(kubectl, local.kubeconfig, manifests, APPS)
    kubectl_cpu = cpu_between(cpu_at_start, control_plane_cpu(local))
    local = cluster(name, fresh=True, nodes=NODES)
    figures: dict[str, Obj] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = Repo(root, "apps")
        repo.push({"app/resources.yaml": manifests}, "five resources")
        async with (
            await KubeClient.from_kubeconfig(str(local.kubeconfig), request_timeout=120) as kube,
            aiohttp.ClientSession() as http,
        ):
            await install(kube, "argocd")
            await kube.apply(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "argocd-cm", "namespace": "argocd"},
                    "data": {
                        "timeout.reconciliation": f"{RECONCILE_SECONDS}s",
                        "timeout.reconciliation.jitter": "0s",
                    },
                }
            )
            await kube.apply(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "argocd-secret", "namespace": "argocd"},
                    "stringData": {"webhook.github.secret": SECRET},
                }
            )
            await gather_limited(
                [
                    lambda i=i: kube.create(
                        application(f"app-{i:04d}", repo, "app", f"app-{i:04d}")
                    )
                    for i in range(APPS)
                ]
            )

            # -- apps-1k: cold start ------------------------------------------------------
            cpu_at_controller = control_plane_cpu(local)
            ctl = ControllerProcess(local.kubeconfig, root / "controller.log")
            try:
                await ctl.ready(http)
                done_at = await wait_all_timed(kube, "app", APPS, ctl.started, timeout=1800)
                cold_s = time.monotonic() - ctl.started
                cold_cpu = cpu_between(cpu_at_controller, control_plane_cpu(local))
                after_cold = await ctl.metrics(http)
                requests = requests_of(after_cold)
                figures["apps-1k"] = {
                    "apps": APPS,
                    "objects": APPS * APP_RESOURCES,
                    "pods": APPS,
                    "kwok_nodes": NODES,
                    "seconds_to_all_synced_healthy": round(cold_s, 2),
                    "seconds_to_first_synced_healthy": round(done_at[0], 2),
                    "seconds_to_p50_synced_healthy": round(percentile(done_at, 50), 2),
                    "seconds_to_each_tenth_synced_healthy": [
                        round(percentile(done_at, p), 1) for p in range(10, 100, 10)
                    ],
                    # When each tenth's sync operation ended (operationState.finishedAt, to
                    # the second): how far the rollouts after it lag behind the syncs.
                    "seconds_to_each_tenth_sync_finished": await sync_finished_tenths(
                        kube, "app", time.time() - (time.monotonic() - ctl.started)
                    ),
                    "kubectl_apply_same_objects_s": round(kubectl_s, 2),
                    "ratio_to_kubectl": round(cold_s / kubectl_s, 2),
                    "kubectl_apply_and_rollout_first_p50_all_s": [
                        round(rollouts[0], 2),
                        round(percentile(rollouts, 50), 2),
                        round(rollouts[-1], 2),
                    ],
                    "ratio_to_kubectl_and_rollout": round(cold_s / rollouts[-1], 2),
                    "peak_rss_mb": round(ctl.peak_rss_mb(), 1),
                    "cpu_seconds": round(ctl.cpu_seconds(), 2),
                    # The control plane's CPU during the cold start and during the baseline
                    # (apply and rollouts): it shares the two cores with the controller.
                    "control_plane_cpu_seconds": cold_cpu,
                    "control_plane_cpu_seconds_kubectl": kubectl_cpu,
                    "api_requests_per_app": {
                        k: round(v / APPS, 2) for k, v in sorted(requests.items())
                    },
                    "api_requests_per_app_total": round(sum(requests.values()) / APPS, 2),
                    "api_requests_per_app_by_resource": requests_by_resource(after_cold, APPS),
                }
                # Events and delivery records wait behind the sync work: count them too, once
                # the controller wrote them (one OperationCompleted Event per app).
                deferred_s, after_deferred = await deferred_writes_done(ctl, http, APPS)
                figures["apps-1k"]["seconds_to_deferred_writes_done"] = round(deferred_s, 1)
                figures["apps-1k"]["api_requests_per_app_total_with_deferred"] = round(
                    sum(requests_of(after_deferred).values()) / APPS, 2
                )
                print_apps(figures["apps-1k"])
                if os.environ.get("GITWARD_BENCH_APPS_ONLY"):
                    # Only the cold start (GITWARD_BENCH_APPS_ONLY=1): the other scenarios skip.
                    ctl.stop()
                    release(local)
                    write(
                        "apps-1k", figures["apps-1k"], {"kubectl_apply_same_objects_s": kubectl_s}
                    )
                    return

                # -- refresh: steady state -------------------------------------------------
                # Let the post-sync passes settle, then measure whole cycles.
                await asyncio.sleep(RECONCILE_SECONDS + 2)  # wall-clock window, not a sync
                sampler = ctl.profile("refresh.txt")
                before, cpu0, t0 = await ctl.metrics(http), ctl.cpu_seconds(), time.monotonic()
                # A measurement window of two cycles. /metrics is read only at its ends:
                # rendering it for N apps costs the controller CPU that a Prometheus
                # scraping every 15-30 s would not add to each refresh cycle.
                await asyncio.sleep(2 * RECONCILE_SECONDS + 1)
                cpu1 = ctl.cpu_seconds()  # before the scrape, which is not refresh work
                after = await ctl.metrics(http)
                ctl.stop_profile(sampler)
                moved = delta(after, before)
                cycles = moved["reconciles"] / APPS
                api = {k: v / cycles for k, v in requests_of(moved).items() if v}
                figures["refresh"] = {
                    "apps": APPS,
                    "cycles": round(cycles, 2),
                    "cycle_interval_s": RECONCILE_SECONDS,
                    "wall_s": round(time.monotonic() - t0, 1),
                    "cpu_seconds_per_cycle": round((cpu1 - cpu0) / cycles, 3),
                    "api_requests_per_cycle": {k: round(v, 1) for k, v in api.items()},
                    "api_reads_per_cycle": round(
                        sum(v for k, v in api.items() if k in ("GET", "LIST")), 1
                    ),
                    "git_ls_remote_per_cycle": round(moved.get("git_ls-remote", 0.0) / cycles, 1),
                    "git_fetch_per_cycle": round(moved.get("git_fetch", 0.0) / cycles, 1),
                }
                print(json.dumps(figures["refresh"], indent=2))

                # -- drift ----------------------------------------------------------------------
                heals, gets = await drift_trials(kube, DRIFT_TRIALS)
                figures["drift"] = {
                    "trials": DRIFT_TRIALS,
                    "heal_p50_s": round(percentile(heals, 50), 3),
                    "heal_p95_s": round(percentile(heals, 95), 3),
                    "heal_max_s": round(max(heals), 3),
                    "api_get_p50_s": round(percentile(gets, 50), 4),
                }
                print(json.dumps(figures["drift"], indent=2))

                # -- push: one app, then fan-out ---------------------------------------------
                single = Repo(root, "single")
                single.push({"app/resources.yaml": manifests}, "start")
                await kube.create(application("push-one", single, "app", "push-one"))
                await wait_all(kube, "push-one", 1, None, timeout=120)
                push_s = []
                for trial in range(PUSH_TRIALS):
                    changed = manifests.replace("i: '0'", f"i: '{trial + 1}'")
                    sha, started = await push_and_notify(
                        http, ctl, single, {"app/resources.yaml": changed}
                    )
                    await wait_all(kube, "push-one", 1, sha, timeout=120)
                    push_s.append(time.monotonic() - started)
                fan = Repo(root, "fanout")
                fan.push({"app/resources.yaml": manifests}, "start")
                await gather_limited(
                    [
                        lambda i=i: kube.create(
                            application(f"fan-{i:04d}", fan, "app", f"fan-{i:04d}")
                        )
                        for i in range(FANOUT)
                    ]
                )
                await wait_all(kube, "fan", FANOUT, None, timeout=1800)
                changed = manifests.replace("i: '0'", "i: 'fanned-out'")
                sampler = ctl.profile("fanout.txt")
                sha, started = await push_and_notify(
                    http, ctl, fan, {"app/resources.yaml": changed}
                )
                await wait_all(kube, "fan", FANOUT, sha, timeout=1800)
                fanout_s = time.monotonic() - started
                ctl.stop_profile(sampler)
                figures["push"] = {
                    "trials": PUSH_TRIALS,
                    "push_to_synced_p50_s": round(percentile(push_s, 50), 3),
                    "push_to_synced_p95_s": round(percentile(push_s, 95), 3),
                    "fanout_apps": FANOUT,
                    "fanout_push_to_all_synced_s": round(fanout_s, 2),
                    "fanout_per_app_ms": round(fanout_s / FANOUT * 1000, 1),
                    "fanout_changed_objects": FANOUT * CHANGED_BY_PUSH,
                }
                print(json.dumps(figures["push"], indent=2))
                figures["apps-1k"]["peak_rss_mb_end"] = round(ctl.peak_rss_mb(), 1)
            finally:
                ctl.stop()
    release(local)
    get_p50 = figures["drift"]["api_get_p50_s"]
    write(
        "apps-1k",
        figures["apps-1k"],
        {"kubectl_apply_same_objects_s": figures["apps-1k"]["kubectl_apply_same_objects_s"]},
    )
    write("refresh", figures["refresh"], {"cycle_interval_s": RECONCILE_SECONDS})
    write("drift", figures["drift"], {"api_get_p50_s": get_p50})
    write("push", figures["push"], {"api_get_p50_s": get_p50})
    print(
        table(
            ["scenario", "figure", "value", "target"],
            [
                (
                    "apps-1k",
                    "s to all Synced+Healthy",
                    figures["apps-1k"]["seconds_to_all_synced_healthy"],
                    "< 120",
                ),
                ("apps-1k", "peak RSS MB", figures["apps-1k"]["peak_rss_mb_end"], "< 300"),
                ("refresh", "CPU s per cycle", figures["refresh"]["cpu_seconds_per_cycle"], "< 2"),
                ("refresh", "API reads per cycle", figures["refresh"]["api_reads_per_cycle"], "0"),
                ("drift", "heal p95 s", figures["drift"]["heal_p95_s"], "< 2"),
                ("push", "push p95 s", figures["push"]["push_to_synced_p95_s"], "< 3"),
                (
                    "push",
                    f"fan-out {FANOUT} apps s",
                    figures["push"]["fanout_push_to_all_synced_s"],
                    "< 10",
                ),
            ],
        )
    )


def print_apps(f: Obj) -> None:
    print(json.dumps(f, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
