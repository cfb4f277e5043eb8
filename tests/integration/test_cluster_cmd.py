"""``gitward cluster``: add a second real cluster to the first, and use the stored token."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.cluster import KubeClient, NotFound, client_for_cluster_secret
from gitward.cluster.secrets import cluster_secret_name, secret_fields
from gitward.localkube import LocalCluster
from tests.support.kubeconfigs import context_of, merged_kubeconfig

LABEL = "argocd.argoproj.io/secret-type"


class Cli:
    """``gitward --kubeconfig K --namespace NS ...``; every output kept to check for the token."""

    def __init__(self, kubeconfig: Path, namespace: str) -> None:
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.outputs: list[str] = []

    async def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "gitward.cli", "--kubeconfig", str(self.kubeconfig)]
        result = await asyncio.to_thread(
            subprocess.run,
            [*argv, "--namespace", self.namespace, *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=180,
            env={**os.environ, "COLUMNS": "250"},
        )
        self.outputs += [result.stdout, result.stderr]
        return result

    async def ok(self, *args: str) -> str:
        result = await self(*args)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout


async def add_list_get_rm(
    kubeconfig: Path, management_context: str, target_context: str, namespace: str
) -> dict[str, Any]:
    """The whole user story against real clusters; returns what the checks saw."""
    async with await KubeClient.from_kubeconfig(str(kubeconfig), management_context) as mgmt:
        await mgmt.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        )
        try:
            return await _story(kubeconfig, management_context, target_context, namespace, mgmt)
        finally:
            await mgmt.delete("v1", "Namespace", namespace, propagation="Background")


async def _story(
    kubeconfig: Path, management_context: str, target_context: str, ns: str, mgmt: KubeClient
) -> dict[str, Any]:
    cli = Cli(kubeconfig, ns)
    mgmt_args = ("--kube-context", management_context)
    async with await KubeClient.from_kubeconfig(str(kubeconfig), target_context) as target:
        marker = f"only-here-{uuid.uuid4().hex[:8]}"
        await target.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": marker}})
        try:
            added = await cli.ok(*mgmt_args, "cluster", "add", target_context, "--name", "second")
            assert "added" in added
            # In the target: the manager account, its role and binding, and a filled token.
            assert await target.get("v1", "ServiceAccount", "argocd-manager", "kube-system")
            role = await target.get(
                "rbac.authorization.k8s.io/v1", "ClusterRole", "argocd-manager-role"
            )
            assert {"nonResourceURLs": ["*"], "verbs": ["*"]} in role["rules"]
            binding = await target.get(
                "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "argocd-manager-role-binding"
            )
            assert binding["subjects"][0]["name"] == "argocd-manager"
            token_secret = await target.get(
                "v1", "Secret", "argocd-manager-long-lived-token", "kube-system"
            )
            token = secret_fields(token_secret)["token"]

            # In the management cluster: an Argo CD cluster Secret.
            [secret] = await mgmt.list("v1", "Secret", ns, f"{LABEL}=cluster")
            fields = secret_fields(secret)
            config = json.loads(fields["config"])
            assert fields["name"] == "second"
            assert fields["server"] == target.server
            assert secret["metadata"]["name"] == cluster_secret_name(target.server)
            assert config["bearerToken"] == token
            assert config["tlsClientConfig"]["caData"]

            # The stored token works, with RBAC, against the target.
            async with await client_for_cluster_secret(secret) as as_manager:
                names = {n["metadata"]["name"] for n in await as_manager.list("v1", "Namespace")}
            assert {marker, "kube-system"} <= names

            again = await cli.ok(*mgmt_args, "cluster", "add", target_context, "--name", "second")
            assert "unchanged" in again
            renamed = await cli(*mgmt_args, "cluster", "add", target_context, "--name", "b")
            assert renamed.returncode != 0
            assert "--upsert" in renamed.stderr

            listed = json.loads(await cli.ok(*mgmt_args, "cluster", "list", "-o", "json"))
            table = await cli.ok(*mgmt_args, "cluster", "list")
            got = yaml.safe_load(await cli.ok(*mgmt_args, "cluster", "get", "second"))
            servers = (await cli.ok(*mgmt_args, "cluster", "list", "-o", "server")).split()

            removed = await cli.ok(*mgmt_args, "cluster", "rm", target.server)
            assert "removed" in removed
            assert await mgmt.list("v1", "Secret", ns, f"{LABEL}=cluster") == []
            gone = await cli(*mgmt_args, "cluster", "rm", "second")
            assert gone.returncode != 0
            assert "not found" in gone.stderr
        finally:
            await target.delete("v1", "Namespace", marker, propagation="Background")
    for text in cli.outputs:  # every command's stdout and stderr
        assert token not in text
    return {
        "listed": listed,
        "table": table,
        "got": got,
        "servers": servers,
        "server": target.server,
        "management_server": mgmt.server,
    }


async def test_add_a_second_cluster_use_its_token_list_and_remove(
    cluster: LocalCluster, second_cluster: LocalCluster, tmp_path: Path
) -> None:
    kubeconfig = merged_kubeconfig(
        tmp_path / "both.yaml", cluster.kubeconfig, second_cluster.kubeconfig
    )
    first, second = context_of(cluster.kubeconfig), context_of(second_cluster.kubeconfig)
    assert (first, second) == (f"gitward-{cluster.name}", f"gitward-{second_cluster.name}")
    seen = await add_list_get_rm(kubeconfig, first, second, f"t-{uuid.uuid4().hex[:10]}")

    assert seen["server"] != seen["management_server"]
    by_server = {c["server"]: c for c in seen["listed"]}
    in_cluster = by_server["https://kubernetes.default.svc"]
    added = by_server[seen["server"]]
    assert (in_cluster["name"], in_cluster["connectionState"]["status"]) == (
        "in-cluster",
        "Successful",
    )
    assert (added["name"], added["connectionState"]["status"]) == ("second", "Successful")
    assert added["serverVersion"].startswith("1.")
    assert added["config"]["hasBearerToken"] is True
    assert seen["servers"] == ["https://kubernetes.default.svc", seen["server"]]
    header, *rows = seen["table"].splitlines()
    assert header.split() == ["SERVER", "NAME", "VERSION", "STATUS", "MESSAGE", "PROJECT"]
    assert any(
        row.split()[:2] == [seen["server"], "second"] and "Successful" in row for row in rows
    )
    assert seen["got"]["connectionState"]["status"] == "Successful"
    assert seen["got"]["server"] == seen["server"]
    # The manager account exists only where it was added.
    async with await KubeClient.from_kubeconfig(str(cluster.kubeconfig)) as first_client:
        with pytest.raises(NotFound):
            await first_client.get("v1", "ServiceAccount", "argocd-manager", "kube-system")
