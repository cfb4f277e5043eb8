"""``gitward server`` as a real process: HTTPS, the generated admin password, a login,
the applications API with the token, 200 idle stream clients, and a clean SIGTERM."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gitward.cluster import KubeClient, NotFound
from gitward.localkube.process import free_ports
from tests.support.apps import unique
from tests.support.poll import delete_and_wait, eventually

API = "argoproj.io/v1alpha1"
pytestmark = pytest.mark.cluster
IDLE_STREAMS = 200


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@contextlib.contextmanager
def server_process(
    kubeconfig: Path, namespace: str, port: int, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    argv = [sys.executable, "-m", "gitward.cli", "--kubeconfig", str(kubeconfig)]
    argv += ["--namespace", namespace, "server", "--listen", f"127.0.0.1:{port}"]
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy())
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


async def test_the_server_process_serves_the_api_over_https(
    installed: KubeClient, kubeconfig: Path, tmp_path: Path
) -> None:
    port = free_ports(1)[0]
    base = f"https://localhost:{port}"
    name = unique("proc")
    # An installation of its own: the first start (generated password, certificate) is
    # this server's, whatever other tests left in the shared control namespace.
    home = unique("gwsrv")
    await installed.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": home}})
    await installed.create(
        {
            "apiVersion": API,
            "kind": "Application",
            "metadata": {"name": name, "namespace": home},
            "spec": {
                "project": "default",
                "source": {"repoURL": "https://example.com/r.git", "path": "a"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "d"},
            },
        }
    )
    log = tmp_path / "server.log"
    try:
        with server_process(kubeconfig, home, port, log) as proc:

            async def tls_secret() -> dict[str, Any] | None:
                try:
                    return await installed.get("v1", "Secret", "argocd-server-tls", home)
                except NotFound:
                    return None

            secret = await eventually(tls_secret, "the generated certificate", timeout=60)
            cert = base64.b64decode(secret["data"]["tls.crt"]).decode()
            tls = ssl.create_default_context(cadata=cert)

            async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=tls, limit=0)
            ) as http:

                async def ready() -> bool:
                    try:
                        async with http.get(f"{base}/readyz") as resp:
                            return resp.status == 200
                    except aiohttp.ClientError:
                        assert proc.poll() is None, log.read_text()
                        return False

                await eventually(ready, "/readyz", timeout=60)
                async with http.get(f"{base}/api/version") as resp:
                    assert resp.status == 200
                async with http.get(f"{base}/api/v1/applications") as resp:
                    assert resp.status == 401

                initial = await installed.get("v1", "Secret", "argocd-initial-admin-secret", home)
                password = base64.b64decode(initial["data"]["password"]).decode()
                login = {"username": "admin", "password": password}
                async with http.post(f"{base}/api/v1/session", json=login) as resp:
                    assert resp.status == 200, await resp.text()
                    token = (await resp.json())["token"]
                auth = {"Authorization": f"Bearer {token}"}
                async with http.get(f"{base}/api/v1/applications/{name}", headers=auth) as resp:
                    assert resp.status == 200
                    assert (await resp.json())["metadata"]["name"] == name

                # 200 idle stream clients: what do they cost the server?
                before = rss_kib(proc.pid)
                streams = []
                for _ in range(IDLE_STREAMS):
                    resp = await http.get(
                        f"{base}/api/v1/stream/applications",
                        params={"name": name},
                        headers=auth,
                    )
                    assert resp.status == 200
                    streams.append(resp)
                for resp in streams:  # each has its first event: every stream is open
                    line = await asyncio.wait_for(resp.content.readline(), 30)
                    assert b'"ADDED"' in line
                after = rss_kib(proc.pid)
                cost_mib = (after - before) / 1024
                print(f"\n{IDLE_STREAMS} idle stream clients: +{cost_mib:.1f} MiB RSS")
                assert cost_mib < 50

                proc.send_signal(signal.SIGTERM)
                code = await asyncio.to_thread(proc.wait, 30)
                for resp in streams:
                    resp.close()
            assert code == 0, log.read_text()
            assert "gitward server stopped" in log.read_text()
    finally:
        await delete_and_wait(installed, API, "Application", name, home)
        await installed.delete("v1", "Namespace", home)
