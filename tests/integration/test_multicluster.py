"""Apps deploy to registered clusters: destination by name or server, unknown ones refused."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from gitward.cluster import KubeClient, NotFound
from gitward.cluster.secrets import cluster_secret_name
from gitward.localkube import LocalCluster
from tests.support.apps import configmap, unique, yaml_docs
from tests.support.controller import API, application, configmap_data, running_controller
from tests.support.git import GitRepo
from tests.support.kubeconfigs import context_of, merged_kubeconfig
from tests.support.poll import eventually


async def register(kubeconfig: Path, management: str, target: str, name: str) -> None:
    """``gitward cluster add TARGET --name NAME`` into the argocd namespace of MANAGEMENT."""
    argv = [sys.executable, "-m", "gitward.cli", "--kubeconfig", str(kubeconfig)]
    argv += ["--kube-context", management, "--namespace", "argocd"]
    result = await asyncio.to_thread(
        subprocess.run,
        [*argv, "cluster", "add", target, "--name", name, "--upsert"],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stdout + result.stderr


async def test_apps_deploy_to_the_cluster_their_destination_names(
    installed: KubeClient,
    second_cluster: LocalCluster,
    kubeconfig: Path,
    tmp_path: Path,
    git_repo: Callable[[str], GitRepo],
) -> None:
    kube = installed
    merged = merged_kubeconfig(tmp_path / "kubeconfig", kubeconfig, second_cluster.kubeconfig)
    target_name = unique("second")
    await register(
        merged, context_of(kubeconfig), context_of(second_cluster.kubeconfig), target_name
    )
    repo = git_repo("multi")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("remote"))})
    by_name, by_server, unknown = unique("by-name"), unique("by-server"), unique("unknown")
    ns_name, ns_server = unique("far"), unique("far")
    async with (
        await KubeClient.from_kubeconfig(str(second_cluster.kubeconfig)) as far,
        running_controller(kube, 120.0) as ctl,
    ):
        app = application(by_name, repo, ns_name, {"prune": True, "selfHeal": True})
        app["spec"]["destination"] = {"name": target_name, "namespace": ns_name}
        await kube.create(app)
        app = application(by_server, repo, ns_server, {"prune": True})
        app["spec"]["destination"] = {"server": far.server + "/", "namespace": ns_server}
        await kube.create(app)
        app = application(unknown, repo, ns_name, {"prune": True})
        app["spec"]["destination"] = {"server": "https://nowhere.invalid:6443", "namespace": "x"}
        await kube.create(app)
        try:
            for ns in (ns_name, ns_server):

                async def deployed(ns: str = ns) -> bool:
                    return await configmap_data(far, "remote", ns) == {"k": "remote"}

                await eventually(deployed, f"the ConfigMap in {ns} of the second cluster")
                assert await configmap_data(kube, "remote", ns) is None  # not in the first

            async def refused() -> str:
                status = (ctl.apps.get(unknown) or {}).get("status") or {}
                return " ".join(c.get("message", "") for c in status.get("conditions") or [])

            message = await eventually(refused, "a condition on the app with an unknown cluster")
            assert "no cluster with server 'https://nowhere.invalid:6443'" in message
            status = ctl.apps[unknown]["status"]
            assert status["sync"]["status"] == "Unknown"
            assert "operationState" not in status  # nothing synced, nothing pruned

            # Drift on the far cluster is healed through its own watch.
            await far.delete("v1", "ConfigMap", "remote", ns_name)

            async def healed() -> bool:
                return await configmap_data(far, "remote", ns_name) == {"k": "remote"}

            await eventually(healed, "self-heal on the second cluster", timeout=30)
            assert far.server in ctl.caches
        finally:
            for name in (by_name, by_server, unknown):
                with contextlib.suppress(NotFound):
                    await kube.delete(API, "Application", name, "argocd", propagation="Background")
            await kube.delete(
                "v1", "Secret", cluster_secret_name(far.server), "argocd", propagation="Background"
            )
