"""The whole API server, assembled as ``gitward server`` assembles itself, as a process.

:func:`running` builds the server with :func:`gitward.server.app.server_app` (the
factory ``gitward server`` uses: accounts, tokens, RBAC) and every route module
(applications, projects, repositories, clusters, applicationsets, settings, version,
the OpenAPI document, sessions and accounts). :func:`running` serves it on a free loopback port.
``python -m tests.support.gwserver --kubeconfig PATH --namespace NS --port N`` runs
it as a separate process for tests that drive the ``gitward`` command against it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from gitward.cluster import KubeClient, NotFound
from gitward.server.app import SERVER_ROUTES, server_app
from gitward.server.appstore import AppStore
from gitward.server.auth.bootstrap import ensure_initial_settings
from gitward.server.auth.passwords import hash_password
from gitward.server.context import ServerContext
from gitward.services import Services

ADMIN_PASSWORD = "admin-password-1"
READER = "reader"
READER_PASSWORD = "reader-password-1"
#: What ``gitward server`` mounts.
ROUTES = SERVER_ROUTES


async def _merge(
    kube: KubeClient, kind: str, name: str, namespace: str, data: dict[str, str]
) -> None:
    try:
        await kube.get("v1", kind, name, namespace)
    except NotFound:
        meta = {"name": name, "namespace": namespace}
        await kube.create({"apiVersion": "v1", "kind": kind, "metadata": meta})
    if kind == "Secret":
        data = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    await kube.patch("v1", kind, name, namespace, {"data": data})


async def set_up_accounts(kube: KubeClient, namespace: str) -> None:
    """``admin``, and ``reader`` (``role:readonly``, may create API keys), known passwords."""
    await _merge(kube, "ConfigMap", "argocd-cm", namespace, {"accounts.reader": "login, apiKey"})
    policy = "g, reader, role:readonly\np, reader, accounts, update, reader, allow\n"
    await _merge(kube, "ConfigMap", "argocd-rbac-cm", namespace, {"policy.csv": policy})
    await ensure_initial_settings(kube, namespace)
    passwords = {
        "admin.password": hash_password(ADMIN_PASSWORD),
        "accounts.reader.password": hash_password(READER_PASSWORD),
    }
    await _merge(kube, "Secret", "argocd-secret", namespace, passwords)


@dataclass
class Server:
    url: str
    app: web.Application


@contextlib.asynccontextmanager
async def running(kube: KubeClient, namespace: str, port: int = 0) -> AsyncIterator[Server]:
    """The server on 127.0.0.1 (plain HTTP, as ``--insecure``), ready to serve."""
    await set_up_accounts(kube, namespace)
    store = AppStore(kube, namespace, ())
    refresher = (await Services.load(kube, namespace)).refresher(projects=store.projects)
    app = await server_app(
        ServerContext(kube, namespace),
        store=store,
        refresher=refresher,
        insecure=True,
        routes=ROUTES,
    )
    store.start()
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    try:
        await store.ready()
        yield Server(f"http://127.0.0.1:{bound}", app)
    finally:
        await runner.cleanup()
        await store.stop()
        await refresher.destinations.close()


async def _main(kubeconfig: str, namespace: str, port: int) -> None:
    kube = await KubeClient.from_kubeconfig(kubeconfig)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with running(kube, namespace, port) as server:
            print(server.url, flush=True)
            await stop.wait()
    finally:
        await kube.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", default="argocd")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(_main(args.kubeconfig, args.namespace, args.port))
