"""ApplicationSet benchmark apps-10k: S sets x A generated apps x 5 objects, cold start.

Run as ``.venv/bin/python -m bench.appsets`` (``GITWARD_BENCH_QUICK=1`` for
reduced sizes; ``GITWARD_BENCH_SETS`` and ``GITWARD_BENCH_APPS_PER_SET`` for any
size; ``GITWARD_BENCH_CLUSTER`` names the local cluster, re-created fresh).

One repository holds A directories of 5 objects each (3 ConfigMaps, a
Service, a ServiceAccount). S ApplicationSets, each a git directory generator
over ``apps/*``, are created before ``gitward controller`` starts (as its own
process, as users run it); each generates A automated apps, one namespace
each. Measured: time from controller start until every app is Synced and
Healthy, the controller's peak RSS, and its API requests per app (its own
/metrics), and the control plane's CPU. The benchmark follows the apps through
one watch, so its polling loads nothing. Baseline, same run, on a fresh control
plane of its own: ``kubectl apply --server-side`` of the same S x A x 5 objects
and namespaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    QUICK,
    Repo,
    cluster,
    control_plane_cpu,
    cpu_between,
    percentile,
    release,
    table,
    write,
)
from bench.controller import (
    ControllerProcess,
    app_resources,
    kubectl_baseline,
    requests_by_resource,
    requests_of,
    synced_healthy,
)
from gitward import localkube
from gitward.cluster import KubeClient
from gitward.cluster.informer import Informer
from gitward.install import install

Obj = dict[str, Any]
API = "argoproj.io/v1alpha1"

SETS = int(os.environ.get("GITWARD_BENCH_SETS", 10 if QUICK else 100))
PER_SET = int(os.environ.get("GITWARD_BENCH_APPS_PER_SET", 20 if QUICK else 100))
CLUSTER = os.environ.get("GITWARD_BENCH_CLUSTER", "bench-appsets")
TIMEOUT = float(os.environ.get("GITWARD_BENCH_TIMEOUT", 3600))


def appset(index: int, repo: Repo) -> Obj:
    name = f"s{index:03d}"
    return {
        "apiVersion": API,
        "kind": "ApplicationSet",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "generators": [
                {
                    "git": {
                        "repoURL": repo.url,
                        "revision": "main",
                        "directories": [{"path": "apps/*"}],
                    }
                }
            ],
            "template": {
                "metadata": {
                    "name": f"{name}-{{{{path.basename}}}}",
                    "labels": {"bench": "apps10k"},
                },
                "spec": {
                    "project": "default",
                    "source": {"repoURL": repo.url, "path": "{{path}}", "targetRevision": "main"},
                    "destination": {
                        "server": "https://kubernetes.default.svc",
                        "namespace": f"{name}-{{{{path.basename}}}}",
                    },
                    "syncPolicy": {
                        "automated": {"prune": True, "selfHeal": True},
                        "syncOptions": ["CreateNamespace=true"],
                    },
                },
            },
        },
    }


class Progress:
    """Every generated app's state, from one watch: how many exist, how many are done."""

    def __init__(self, kube: KubeClient, total: int) -> None:
        self.total = total
        self.done: set[str] = set()
        self.done_at: list[float] = []
        self.all_created: float | None = None
        self.finished = asyncio.Event()
        self.informer = Informer(kube, API, "Application", "argocd", "bench=apps10k", self._seen)

    def _seen(self, name: str, obj: Obj | None) -> None:
        if obj is None:
            return
        if self.all_created is None and len(self.informer.objects) >= self.total:
            self.all_created = time.monotonic()
        if name not in self.done and synced_healthy(obj):
            self.done.add(name)
            self.done_at.append(time.monotonic())
            if len(self.done) >= self.total:
                self.finished.set()


async def main() -> None:
    toolchain = localkube.ensure()
    kubectl = str(toolchain.binary("kubectl"))
    total = SETS * PER_SET
    manifests = app_resources(workload=False)
    # The baseline gets a control plane of its own, then the controller a fresh one:
    # each Service's ClusterIP costs the API server a pass over every IPAddress
    # (Kubernetes 1.34+), so the side that went second on one control plane would pay
    # for the other's 10,000 Services (docs/performance.md, "apps-10k: one control
    # plane each").
    local = cluster(CLUSTER, fresh=True)
    cpu_at_start = control_plane_cpu(local)
    kubectl_s, _ = await kubectl_baseline(kubectl, local.kubeconfig, manifests, total)
    cpu_after_kubectl = control_plane_cpu(local)
    local = cluster(CLUSTER, fresh=True)
    figures: Obj = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = Repo(root, "fleet")
        repo.push({f"apps/a{i:03d}/resources.yaml": manifests for i in range(PER_SET)}, "fleet")
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
                        "timeout.reconciliation": "300s",
                        "timeout.reconciliation.jitter": "0s",
                    },
                }
            )
            for i in range(SETS):
                await kube.create(appset(i, repo))
            progress = Progress(kube, total)
            progress.informer.start()
            await progress.informer.ready()
            cpu_at_controller = control_plane_cpu(local)
            ctl = ControllerProcess(local.kubeconfig, root / "controller.log")
            try:
                await ctl.ready(http)
                await ctl.trace_memory("apps-10k-start")
                await asyncio.wait_for(progress.finished.wait(), TIMEOUT)
                await ctl.trace_memory("apps-10k-synced")
                cold_s = time.monotonic() - ctl.started
                cpu_at_end = control_plane_cpu(local)
                done_s = [at - ctl.started for at in progress.done_at]
                metrics = await ctl.metrics(http)
                requests = requests_of(metrics)
                figures = {
                    "applicationsets": SETS,
                    "apps_per_set": PER_SET,
                    "apps": total,
                    "objects": total * 5,
                    "seconds_to_all_synced_healthy": round(cold_s, 1),
                    "seconds_to_all_generated": round((progress.all_created or 0) - ctl.started, 1),
                    "seconds_to_first_synced": round(done_s[0], 1),
                    "seconds_to_each_tenth_synced_healthy": [
                        round(percentile(done_s, p), 1) for p in range(10, 100, 10)
                    ],
                    "kubectl_apply_same_objects_s": round(kubectl_s, 1),
                    "ratio_to_kubectl": round(cold_s / kubectl_s, 2),
                    "peak_rss_mb": round(ctl.peak_rss_mb(), 1),
                    "cpu_seconds": round(ctl.cpu_seconds(), 1),
                    # What each phase cost the control plane, which shares the cores:
                    # from the controller's start (the set created) to all done, and
                    # during the kubectl baseline.
                    "control_plane_cpu_seconds": cpu_between(cpu_at_controller, cpu_at_end),
                    "control_plane_cpu_seconds_kubectl": cpu_between(
                        cpu_at_start, cpu_after_kubectl
                    ),
                    "api_requests_per_app": {
                        k: round(v / total, 2) for k, v in sorted(requests.items())
                    },
                    "api_requests_per_app_total": round(sum(requests.values()) / total, 2),
                    "api_requests_per_app_by_resource": requests_by_resource(metrics, total),
                }
                print(json.dumps(figures, indent=2))
            finally:
                ctl.stop()
                with contextlib.suppress(Exception):
                    await progress.informer.stop()
    release(local)
    write(
        "apps-10k",
        figures,
        {"kubectl_apply_same_objects_s": figures["kubectl_apply_same_objects_s"]},
    )
    print(
        table(
            ["scenario", "figure", "value", "target"],
            [
                (
                    f"apps-10k ({total})",
                    "s to all Synced+Healthy",
                    figures["seconds_to_all_synced_healthy"],
                    "< 600",
                ),
                (
                    f"apps-10k ({total})",
                    "kubectl apply of the same objects s",
                    figures["kubectl_apply_same_objects_s"],
                    "",
                ),
                (f"apps-10k ({total})", "controller peak RSS MB", figures["peak_rss_mb"], "< 1024"),
                (
                    f"apps-10k ({total})",
                    "API requests per app",
                    figures["api_requests_per_app_total"],
                    "",
                ),
            ],
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
