"""The whole API server with the web UI, on a real port, against a real cluster.

Built by ``gitward server``'s own factory, :func:`gitward.server.app.server_app` (the
real authentication middleware, accounts, RBAC and its policy loop), with the REST route
modules and the UI's routes added to the ones it mounts today. The browser tests,
``make screenshots`` and the UI benchmark drive it. Run it by hand to look at the UI
against a local cluster::

    python -m tests.support.uiserver --kubeconfig PATH --port 8089

which prints the URL and the accounts it set up.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from gitward.cluster import KubeClient, NotFound
from gitward.localkube.process import free_ports
from gitward.server.app import server_app
from gitward.server.appstore import AppStore
from gitward.server.auth.bootstrap import ensure_initial_settings
from gitward.server.auth.passwords import hash_password
from gitward.server.context import ServerContext
from gitward.services import Services

NAMESPACE = "argocd"
#: Accounts the tests sign in with: an admin, and one RBAC lets read and nothing else.
ADMIN_PASSWORD = "admin-password-1"
READER = "reader"
READER_PASSWORD = "reader-password-1"


@dataclass
class UiServer:
    url: str
    store: AppStore


async def _merge(kube: KubeClient, kind: str, name: str, data: dict[str, str]) -> None:
    """Add ``data`` to a ConfigMap or Secret of the control namespace, creating it if absent."""
    try:
        await kube.get("v1", kind, name, NAMESPACE)
    except NotFound:
        await kube.create(
            {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": NAMESPACE}}
        )
    if kind == "Secret":
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        await kube.patch("v1", kind, name, NAMESPACE, {"data": encoded})
    else:
        await kube.patch("v1", kind, name, NAMESPACE, {"data": data})


#: What :func:`set_up_accounts` changes, restored when the server stops so tests that run
#: after these in the same cluster find the settings as they were.
SETTINGS = (
    ("ConfigMap", "argocd-cm"),
    ("ConfigMap", "argocd-rbac-cm"),
    ("Secret", "argocd-secret"),
)


async def _snapshot(kube: KubeClient) -> dict[tuple[str, str], dict[str, str] | None]:
    saved: dict[tuple[str, str], dict[str, str] | None] = {}
    for kind, name in SETTINGS:
        try:
            saved[kind, name] = dict(
                (await kube.get("v1", kind, name, NAMESPACE)).get("data") or {}
            )
        except NotFound:
            saved[kind, name] = None
    return saved


async def _restore(kube: KubeClient, saved: dict[tuple[str, str], dict[str, str] | None]) -> None:
    for (kind, name), data in saved.items():
        if data is None:
            with contextlib.suppress(NotFound):
                await kube.delete("v1", kind, name, NAMESPACE)
            continue
        current = await kube.get("v1", kind, name, NAMESPACE)
        current["data"] = data
        await kube.replace(current)


async def set_up_accounts(kube: KubeClient) -> None:
    """``admin`` and a ``reader`` account bound to ``role:readonly``, with known passwords."""
    await _merge(kube, "ConfigMap", "argocd-cm", {"accounts.reader": "login"})
    await _merge(kube, "ConfigMap", "argocd-rbac-cm", {"policy.csv": "g, reader, role:readonly\n"})
    await ensure_initial_settings(kube, NAMESPACE)
    await _merge(
        kube,
        "Secret",
        "argocd-secret",
        {
            "admin.password": hash_password(ADMIN_PASSWORD),
            "accounts.reader.password": hash_password(READER_PASSWORD),
        },
    )


@contextlib.asynccontextmanager
async def ui_server(kube: KubeClient, port: int = 0) -> AsyncIterator[UiServer]:
    """The server on 127.0.0.1 (plain HTTP, as ``--insecure``), ready to serve."""
    saved = await _snapshot(kube)
    await set_up_accounts(kube)
    store = AppStore(kube, NAMESPACE, ())
    refresher = (await Services.load(kube, NAMESPACE)).refresher(projects=store.projects)
    app = await server_app(
        ServerContext(kube, NAMESPACE), store=store, refresher=refresher, insecure=True
    )
    store.start()
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    port = port or free_ports(1)[0]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await store.ready()
        yield UiServer(f"http://127.0.0.1:{port}", store)
    finally:
        await runner.cleanup()
        await store.stop()
        await refresher.destinations.close()
        await _restore(kube, saved)


async def _main(kubeconfig: str, port: int) -> None:
    import os
    import tempfile

    from gitward.install import install
    from gitward.source.policy import LOCAL_REPOSITORIES_ENV

    # As the test session does: file:// repositories under the temporary directory.
    os.environ.setdefault(LOCAL_REPOSITORIES_ENV, tempfile.gettempdir())

    kube = await KubeClient.from_kubeconfig(kubeconfig)
    try:
        await install(kube, NAMESPACE)
        async with ui_server(kube, port) as server:
            print(f"{server.url}  admin/{ADMIN_PASSWORD}  {READER}/{READER_PASSWORD}", flush=True)
            await asyncio.Event().wait()
    finally:
        await kube.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--port", type=int, default=8089)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.kubeconfig, args.port))
