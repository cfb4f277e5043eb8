"""The API server as its pod runs it: the Deployment's own arguments (HTTPS on 8080 by
default) and environment, the ``gitward-server`` service account's token at the in-cluster
path, ``KUBERNETES_SERVICE_*`` — and nothing but the RBAC ``deploy/`` gives it. It makes its
certificate, answers ``/readyz`` and ``/api/version`` over HTTPS, logs the admin in and
serves an Application; the API server itself refuses the account what it was not granted."""

from __future__ import annotations

import base64
import contextlib
import os
import ssl
import subprocess
from pathlib import Path
from typing import Any

import aiohttp

from gitward.cluster import KubeClient, NotFound
from gitward.install import ComponentOptions
from gitward.install.objects import server_rbac
from gitward.install.server import API_PORT, server_objects
from gitward.localkube import LocalCluster, Toolchain
from gitward.localkube.process import free_ports
from tests.support.apps import unique
from tests.support.pods import pod_argv, service_account
from tests.support.poll import eventually

API = "argoproj.io/v1alpha1"
ACCOUNT = "system:serviceaccount:argocd:gitward-server"


def container(options: ComponentOptions) -> dict[str, Any]:
    [deployment] = [o for o in server_objects(options) if o["kind"] == "Deployment"]
    found: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return found


def can_i(toolchain: Toolchain, cluster: LocalCluster, *question: str) -> bool:
    """The API server's own answer (SubjectAccessReview) for the server's account."""
    done = subprocess.run(
        [str(toolchain.binary("kubectl")), "--kubeconfig", str(cluster.kubeconfig), "auth",
         "can-i", *question, "--as", ACCOUNT],
        capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "HOME": "/tmp"},
    )  # fmt: skip
    assert done.stdout.strip() in ("yes", "no"), done.stdout + done.stderr
    return done.stdout.strip() == "yes"


def test_the_manifest_runs_the_server_over_https_on_8080_with_matching_probes() -> None:
    default = container(ComponentOptions())
    assert default["args"] == ["--namespace", "argocd", "server", "--listen", f":{API_PORT}"]
    assert default["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    plain = container(ComponentOptions(server_insecure=True, server_extra_args=("--x", "y")))
    assert plain["args"][-3:] == ["--insecure", "--x", "y"]
    assert plain["livenessProbe"]["httpGet"]["scheme"] == "HTTP"


async def test_the_server_runs_in_cluster_as_its_pod(
    installed: KubeClient, toolchain: Toolchain, cluster: LocalCluster, tmp_path: Path
) -> None:
    kube = installed
    for obj in server_rbac("argocd"):
        await kube.apply(obj)
    # Least privilege, as the API server decides it.
    assert can_i(toolchain, cluster, "list", "pods", "--all-namespaces")
    assert can_i(toolchain, cluster, "update", "applications.argoproj.io", "-n", "team-a")
    assert can_i(toolchain, cluster, "create", "secrets", "-n", "argocd")
    assert can_i(toolchain, cluster, "create", "events", "-n", "team-a")
    assert not can_i(toolchain, cluster, "create", "secrets", "-n", "kube-system")
    assert not can_i(toolchain, cluster, "create", "deployments.apps", "-n", "argocd")
    assert not can_i(toolchain, cluster, "delete", "configmaps", "-n", "team-a")
    assert not can_i(toolchain, cluster, "create", "appprojects.argoproj.io", "-n", "team-a")
    assert not can_i(toolchain, cluster, "patch", "clusterroles.rbac.authorization.k8s.io")

    name = unique("pod-api")
    await kube.create(
        {
            "apiVersion": API,
            "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {
                "project": "default",
                "source": {"repoURL": "https://example.com/r.git", "path": "a"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "d"},
            },
        }
    )
    account = service_account(toolchain, cluster, "gitward-server", tmp_path / "serviceaccount")
    port = free_ports(1)[0]
    argv = pod_argv(
        container(ComponentOptions()), cluster=cluster, toolchain=toolchain, account=account,
        scratch=tmp_path, listen=f"127.0.0.1:{port}",
    )  # fmt: skip
    log_path = tmp_path / "server.log"
    log = log_path.open("w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)  # noqa: ASYNC220
    base = f"https://localhost:{port}"
    try:

        async def tls_secret() -> dict[str, Any] | None:
            assert proc.poll() is None, log_path.read_text()
            try:
                return await kube.get("v1", "Secret", "argocd-server-tls", "argocd")
            except NotFound:
                return None

        secret = await eventually(tls_secret, "the server's certificate in its Secret", 60)
        tls = ssl.create_default_context(
            cadata=base64.b64decode(secret["data"]["tls.crt"]).decode()
        )
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as http:

            async def ready() -> bool:
                assert proc.poll() is None, log_path.read_text()
                try:
                    async with http.get(f"{base}/readyz") as resp:
                        return resp.status == 200
                except aiohttp.ClientError:
                    return False

            await eventually(ready, "/readyz over HTTPS", 60)
            async with http.get(f"{base}/api/version") as resp:
                assert resp.status == 200
                assert "Version" in await resp.json()
            initial = await kube.get("v1", "Secret", "argocd-initial-admin-secret", "argocd")
            login = {
                "username": "admin",
                "password": base64.b64decode(initial["data"]["password"]).decode(),
            }
            async with http.post(f"{base}/api/v1/session", json=login) as resp:
                assert resp.status == 200, await resp.text()
                token = (await resp.json())["token"]
            auth = {"Authorization": f"Bearer {token}"}
            async with http.get(f"{base}/api/v1/applications/{name}", headers=auth) as resp:
                assert resp.status == 200, await resp.text()
                assert (await resp.json())["metadata"]["name"] == name
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
        log.close()
        with contextlib.suppress(NotFound):
            await kube.delete(API, "Application", name, "argocd")
    # Nothing the server did was refused by its RBAC.
    assert "forbidden" not in log_path.read_text().lower(), log_path.read_text()
