"""Sync benchmark: a 200-resource app, full sync vs kubectl, and a no-op re-sync.

Runs on a local control plane named ``bench`` (started if needed, left running
for repeat runs; ``gitward localkube down --name bench`` stops it). Prints a
Markdown table and writes ``bench/results/sync.json``.

Figures:
- full sync of N resources by gitward vs ``kubectl apply --server-side`` of the same
  manifests into another namespace (the baseline, same cluster, same run);
- a re-sync of the unchanged app with ApplyOutOfSyncOnly: time and apply requests
  (expected: zero PATCHes).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from gitward import localkube
from gitward.cli.services import Refresher
from gitward.cluster import KubeClient
from gitward.install import install
from gitward.sync.operation import run_sync
from gitward.sync.plan import SyncRequest

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200
RESULTS = Path(__file__).parent / "results"


def manifests(n: int) -> list[dict[str, Any]]:
    """n resources: a third ConfigMaps, a third Services, a third Deployments."""
    docs: list[dict[str, Any]] = []
    for i in range(n):
        name = f"r{i:04d}"
        kind = i % 3
        if kind == 0:
            docs.append(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": name},
                    "data": {"index": str(i)},
                }
            )
        elif kind == 1:
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
                        "replicas": 1,
                        "selector": {"matchLabels": labels},
                        "template": {
                            "metadata": {"labels": labels},
                            "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]},
                        },
                    },
                }
            )
    return docs


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


async def main() -> None:
    toolchain = localkube.ensure()
    cluster = localkube.LocalCluster("bench")
    cluster.up(toolchain, nodes=3)
    kubectl = str(toolchain.binary("kubectl"))
    docs = manifests(N)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        (repo / "app").mkdir(parents=True)
        (repo / "app" / "all.yaml").write_text(yaml.safe_dump_all(docs))
        git("init", "-q", "--initial-branch=main", cwd=repo)
        git("add", "-A", cwd=repo)
        git("commit", "-qm", "bench", cwd=repo)
        stamp = str(int(time.time()))
        ns_app, ns_kubectl = f"bench-app-{stamp}", f"bench-kubectl-{stamp}"

        async with await KubeClient.from_kubeconfig(str(cluster.kubeconfig)) as kube:
            await install(kube, "argocd")
            for ns in (ns_app, ns_kubectl):
                await kube.create(
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
                )

            started = time.perf_counter()
            await asyncio.to_thread(
                subprocess.run,
                [
                    kubectl,
                    "--kubeconfig",
                    str(cluster.kubeconfig),
                    "apply",
                    "--server-side",
                    "--field-manager=bench",
                    "-n",
                    ns_kubectl,
                    "-f",
                    str(repo / "app"),
                ],
                check=True,
                capture_output=True,
            )
            kubectl_s = time.perf_counter() - started

            app_name = f"bench-{stamp}"
            app = {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Application",
                "metadata": {"name": app_name, "namespace": "argocd"},
                "spec": {
                    "source": {"repoURL": repo.as_uri(), "path": "app"},
                    "destination": {
                        "server": "https://kubernetes.default.svc",
                        "namespace": ns_app,
                    },
                },
            }
            app = await kube.create(app)
            refresher = await Refresher.create(kube, "argocd")
            before = kube.requests.copy()
            started = time.perf_counter()
            result = await run_sync(refresher, app, SyncRequest())
            full_s = time.perf_counter() - started
            assert result.phase == "Succeeded", result.message
            full_requests = dict(kube.requests - before)

            app = await kube.get("argoproj.io/v1alpha1", "Application", app_name, "argocd")
            before = kube.requests.copy()
            started = time.perf_counter()
            result = await run_sync(
                refresher,
                app,
                SyncRequest(sync_options=("ApplyOutOfSyncOnly=true",)),
            )
            noop_s = time.perf_counter() - started
            assert result.phase == "Succeeded", result.message
            noop_requests = dict(kube.requests - before)

    figures = {
        "resources": N,
        "kubectl_apply_server_side_s": round(kubectl_s, 3),
        "gitward_full_sync_s": round(full_s, 3),
        "ratio_full_vs_kubectl": round(full_s / kubectl_s, 2),
        "full_sync_requests": full_requests,
        "noop_resync_apply_out_of_sync_only_s": round(noop_s, 3),
        "noop_resync_requests": noop_requests,
    }
    record = {
        "scenario": "sync",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "versions": toolchain.versions,
        "figures": figures,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sync.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"| scenario ({N} resources) | seconds | ratio to kubectl |")
    print("|---|---:|---:|")
    print(f"| kubectl apply --server-side (baseline) | {kubectl_s:.2f} | 1.00 |")
    rows = [
        ("gitward full sync (render, compare, apply, status)", full_s),
        ("gitward re-sync, unchanged, ApplyOutOfSyncOnly", noop_s),
    ]
    for label, seconds in rows:
        print(f"| {label} | {seconds:.2f} | {seconds / kubectl_s:.2f} |")
    print(f"\nrequests, full sync: {full_requests}")
    print(f"requests, no-op re-sync: {noop_requests} (APPLY = server-side applies)")


if __name__ == "__main__":
    asyncio.run(main())
