"""sync-1k: one app of N resources, gitward's sync vs kubectl on the same cluster.

Run as ``.venv/bin/python -m bench.sync [N]`` (default 1,000; 200 with
``GITWARD_BENCH_QUICK=1``) on a fresh local control plane named
``bench-sync``. Figures, each beside its baseline from the same run:

- full sync of N resources (a third each ConfigMaps, Services, Deployments with
  ``replicas: 0``) by
  gitward (render, compare, apply, status) vs ``kubectl apply --server-side -f
  DIR`` of the same manifests into another namespace, after an untimed warm-up
  apply into a third;
- the no-op re-sync of the unchanged app (ApplyOutOfSyncOnly: compare, nothing
  applied) vs ``kubectl diff --server-side -f DIR`` (which also only compares);
- requests sent by each gitward run, by verb.

Writes ``bench/results/sync-1k.json``; ``bench/ceiling.py`` then sets the
full sync's throughput against the API server's raw apply throughput.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.common import QUICK, Repo, cluster, release, table, write
from gitward import localkube
from gitward.cluster import KubeClient
from gitward.install import install
from gitward.services import refresher_for
from gitward.sync.plan import SyncRequest
from gitward.sync.runner import run_sync

Obj = dict[str, Any]
N = int(sys.argv[1]) if len(sys.argv) > 1 else (200 if QUICK else 1000)


def manifests(n: int, replicas: int = 0) -> list[Obj]:
    """n resources: a third ConfigMaps, a third Services, a third Deployments."""
    docs: list[Obj] = []
    for i in range(n):
        name = f"r{i:04d}"
        if i % 3 == 0:
            docs.append(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": name},
                    "data": {"index": str(i)},
                }
            )
        elif i % 3 == 1:
            docs.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": name},
                    "spec": {"selector": {"app": name}, "ports": [{"port": 80}]},
                }
            )
        else:
            labels = {"app": name}
            docs.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": name},
                    "spec": {
                        "replicas": replicas,
                        "selector": {"matchLabels": labels},
                        "template": {
                            "metadata": {"labels": labels},
                            "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]},
                        },
                    },
                }
            )
    return docs


async def kubectl(kubectl_bin: str, kubeconfig: Path, *args: str) -> tuple[float, int]:
    """(seconds, exit code) of one kubectl command."""
    started = time.perf_counter()
    done = await asyncio.to_thread(
        subprocess.run,
        [kubectl_bin, "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
    )
    if done.returncode not in (0, 1):  # kubectl diff: 1 means "differences found"
        raise RuntimeError(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
    return time.perf_counter() - started, done.returncode


async def warm_up(kube: KubeClient, kubectl_bin: str, kubeconfig: Path, directory: str) -> None:
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "warm-up"}})
    await kubectl(
        kubectl_bin, kubeconfig, "apply", "--server-side", "-n", "warm-up", "-f", directory
    )


async def main() -> None:
    kubectl_bin = str(localkube.ensure().binary("kubectl"))
    local = cluster("bench-sync", fresh=True)
    # replicas 0: Pods are the scheduler's and kwok's work, not the sync's; with them the
    # first measurement's Pods are still being scheduled while the second one runs.
    docs = manifests(N, replicas=0)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repo(Path(tmp), "repo")
        repo.push({"app/all.yaml": yaml.safe_dump_all(docs)}, "bench")
        directory = str(repo.work / "app")
        ns_app, ns_kubectl = "bench-app", "bench-kubectl"
        async with await KubeClient.from_kubeconfig(
            str(local.kubeconfig), request_timeout=120
        ) as kube:
            await install(kube, "argocd")
            for ns in (ns_app, ns_kubectl):
                await kube.create(
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
                )
            # Warm the fresh API server up (caches, controllers' first syncs) so neither
            # measurement below pays for it: an untimed apply of the same manifests.
            await warm_up(kube, kubectl_bin, local.kubeconfig, directory)
            server_side = ("--server-side", "--field-manager=bench", "-n", ns_kubectl)
            kubectl_apply_s, _ = await kubectl(
                kubectl_bin, local.kubeconfig, "apply", *server_side, "-f", directory
            )
            kubectl_diff_s, diff_rc = await kubectl(
                kubectl_bin, local.kubeconfig, "diff", *server_side, "-f", directory
            )
            app = await kube.create(
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Application",
                    "metadata": {"name": "bench", "namespace": "argocd"},
                    "spec": {
                        "source": {"repoURL": repo.url, "path": "app"},
                        "destination": {
                            "server": "https://kubernetes.default.svc",
                            "namespace": ns_app,
                        },
                    },
                }
            )
            refresher = await refresher_for(kube, "argocd")
            before = kube.requests.copy()
            started = time.perf_counter()
            result = await run_sync(refresher, app, SyncRequest(), timeout=900)
            full_s = time.perf_counter() - started
            if result.phase != "Succeeded":
                raise RuntimeError(f"sync {result.phase}: {result.message}")
            full_requests = dict(kube.requests - before)

            app = await kube.get("argoproj.io/v1alpha1", "Application", "bench", "argocd")
            before = kube.requests.copy()
            started = time.perf_counter()
            result = await run_sync(
                refresher, app, SyncRequest(sync_options=("ApplyOutOfSyncOnly=true",))
            )
            noop_s = time.perf_counter() - started
            if result.phase != "Succeeded":
                raise RuntimeError(f"no-op sync {result.phase}: {result.message}")
            noop_requests = dict(kube.requests - before)

    release(local)
    figures = {
        "resources": N,
        "gitward_full_sync_s": round(full_s, 3),
        "gitward_full_sync_objects_per_s": round(N / full_s, 1),
        "ratio_full_vs_kubectl_apply": round(full_s / kubectl_apply_s, 2),
        "full_sync_requests": full_requests,
        "gitward_noop_resync_s": round(noop_s, 3),
        "ratio_noop_vs_kubectl_diff": round(noop_s / kubectl_diff_s, 2),
        "noop_resync_requests": noop_requests,
    }
    baselines = {
        "kubectl_apply_server_side_s": round(kubectl_apply_s, 3),
        "kubectl_diff_server_side_s": round(kubectl_diff_s, 3),
        "kubectl_diff_exit_code": diff_rc,
    }
    path = write("sync-1k", figures, baselines)
    print(
        table(
            [f"sync-1k ({N} resources)", "seconds", "baseline (s)", "ratio"],
            [
                (
                    "full sync vs kubectl apply --server-side",
                    full_s,
                    kubectl_apply_s,
                    full_s / kubectl_apply_s,
                ),
                (
                    "no-op re-sync vs kubectl diff --server-side",
                    noop_s,
                    kubectl_diff_s,
                    noop_s / kubectl_diff_s,
                ),
            ],
        )
    )
    print(f"\nrequests, full sync: {full_requests}")
    print(f"requests, no-op re-sync: {noop_requests} (APPLY = server-side applies)")
    print(f"wrote {path}")


if __name__ == "__main__":
    asyncio.run(main())
