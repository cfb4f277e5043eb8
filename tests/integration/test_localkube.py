"""The local control plane behaves like a real cluster, because it is one."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from gitward.cluster import Conflict, KubeClient
from gitward.localkube import LocalCluster, Toolchain
from gitward.localkube import process as proc_util
from tests.support.poll import eventually, eventually_sync


def deployment(name: str, namespace: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }


def configmap(name: str, namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


async def test_deployment_of_three_becomes_available_on_kwok_nodes(
    kube: KubeClient, namespace: str
) -> None:
    await kube.apply(deployment("web", namespace, 3))

    async def available() -> dict[str, Any] | None:
        live = await kube.get("apps/v1", "Deployment", "web", namespace)
        status = live.get("status", {})
        return live if status.get("availableReplicas") == 3 else None

    live = await eventually(available, "Deployment web to have 3 available replicas")
    conditions = {c["type"]: c["status"] for c in live["status"]["conditions"]}
    assert conditions["Available"] == "True"

    pods = await kube.list("v1", "Pod", namespace, label_selector="app=web")
    assert len(pods) == 3
    assert {p["status"]["phase"] for p in pods} == {"Running"}
    assert all(p["spec"]["nodeName"].startswith("kwok-node-") for p in pods)


async def test_server_side_apply_records_field_manager(kube: KubeClient, namespace: str) -> None:
    applied = await kube.apply(configmap("settings", namespace, {"mode": "a"}))
    managers = {(m["manager"], m["operation"]) for m in applied["metadata"]["managedFields"]}
    assert ("gitward", "Apply") in managers
    assert applied["data"] == {"mode": "a"}


async def test_dry_run_apply_shows_change_but_leaves_live_object(
    kube: KubeClient, namespace: str
) -> None:
    before = await kube.apply(configmap("settings", namespace, {"mode": "a"}))
    preview = await kube.apply(configmap("settings", namespace, {"mode": "b"}), dry_run=True)
    assert preview["data"] == {"mode": "b"}
    after = await kube.get("v1", "ConfigMap", "settings", namespace)
    assert after["data"] == {"mode": "a"}
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


async def test_dry_run_apply_of_server_defaults_changes_nothing(
    kube: KubeClient, namespace: str
) -> None:
    """Spelling out a default the server fills in is a no-op under dry-run."""
    intended = deployment("defaults", namespace, 1)
    live = await kube.apply(intended)
    intended["spec"]["revisionHistoryLimit"] = live["spec"]["revisionHistoryLimit"]
    preview = await kube.apply(intended, dry_run=True)
    # The deployment controller may write the status meanwhile (a new resourceVersion);
    # a change of the spec would show as a new generation.
    assert preview["metadata"]["generation"] == live["metadata"]["generation"]
    assert preview["spec"] == live["spec"]


async def test_apply_conflict_with_another_manager_is_reported(
    kube: KubeClient, namespace: str
) -> None:
    await kube.apply(configmap("shared", namespace, {"k": "1"}), field_manager="someone-else")
    with pytest.raises(Conflict) as info:
        await kube.apply(configmap("shared", namespace, {"k": "2"}))
    assert "someone-else" in str(info.value)
    forced = await kube.apply(configmap("shared", namespace, {"k": "2"}), force=True)
    assert forced["data"] == {"k": "2"}


def test_up_again_is_a_no_op_with_the_same_kubeconfig(
    cluster: LocalCluster, toolchain: Toolchain
) -> None:
    pids_before = {s.name: s.pid for s in cluster.status()}
    started = time.monotonic()
    again = LocalCluster(cluster.name).up(toolchain, nodes=3)
    assert again == cluster.kubeconfig
    assert {s.name: s.pid for s in cluster.status()} == pids_before
    assert time.monotonic() - started < 10


def _gitward(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitward.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_cli_kubeconfig_works_with_kubectl_of_the_same_release(
    cluster: LocalCluster, toolchain: Toolchain
) -> None:
    result = _gitward("localkube", "kubeconfig", "--name", cluster.name)
    assert result.returncode == 0, result.stderr
    path = result.stdout.strip()
    assert Path(path) == cluster.kubeconfig
    nodes = subprocess.run(
        [str(toolchain.binary("kubectl")), "--kubeconfig", path, "get", "nodes", "--no-headers"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    ready = [line for line in nodes if line.split()[1] == "Ready"]
    assert len(ready) == 3, nodes
    version = subprocess.run(
        [str(toolchain.binary("kubectl")), "--kubeconfig", path, "version", "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    expected = toolchain.versions["kubernetes"]
    assert version.count(f'"gitVersion": "{expected}"') == 2  # client and server


def test_cli_on_a_missing_cluster_is_one_clear_error() -> None:
    result = _gitward("localkube", "kubeconfig", "--name", f"absent-{uuid.uuid4().hex[:6]}")
    assert result.returncode == 1
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


async def test_two_clusters_run_at_once_and_down_leaves_nothing(
    kube: KubeClient, namespace: str, toolchain: Toolchain
) -> None:
    other = LocalCluster(f"pytest-{os.getpid()}-two")
    try:
        await asyncio.to_thread(other.up, toolchain, nodes=1)
        async with await KubeClient.from_kubeconfig(str(other.kubeconfig)) as kube_b:
            assert kube_b.server != kube.server
            await kube_b.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            )
            await kube.apply(configmap("where", namespace, {"cluster": "a"}))
            await kube_b.apply(configmap("where", namespace, {"cluster": "b"}))
            a = await kube.get("v1", "ConfigMap", "where", namespace)
            b = await kube_b.get("v1", "ConfigMap", "where", namespace)
            assert (a["data"], b["data"]) == ({"cluster": "a"}, {"cluster": "b"})

        # A crashed component shows as crashed, and `status` exits non-zero.
        kwok = next(s for s in other.status() if s.name == "kwok")
        assert kwok.pid is not None
        os.kill(kwok.pid, signal.SIGKILL)
        crashed = eventually_sync(
            lambda: [s.name for s in other.status() if not s.running] or None,
            "kwok to be reported as not running",
            timeout=10,
        )
        assert crashed == ["kwok"]
        status = _gitward("localkube", "status", "--name", other.name)
        assert status.returncode == 1
        assert "crashed" in status.stdout

        pids = [(s.pid, s.name) for s in other.status() if s.pid]
        state = other.layout.root
        ports = _ports_of(other)
    finally:
        await asyncio.to_thread(other.down)
    assert _survivors(pids) == []
    assert not any(proc_util.port_in_use(p) for p in ports)
    assert not state.exists()


def _ports_of(cluster: LocalCluster) -> list[int]:
    return list(json.loads(cluster.layout.state_file.read_text())["ports"])


def _survivors(pids: list[tuple[int | None, str]]) -> list[str]:
    return [
        f"{name} ({pid})"
        for pid, name in pids
        if Path(f"/proc/{pid}").exists() and not _is_zombie(int(pid or 0))
    ]


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"
