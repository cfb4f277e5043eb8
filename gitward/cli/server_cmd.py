"""``gitward server``: the REST API (Argo CD's paths and shapes) in the foreground."""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import gc
import logging
import signal

import typer
from aiohttp import web

from gitward.appstate.settings import load_application_namespaces, parse_namespace_globs
from gitward.cli import context, logsetup
from gitward.cluster import KubeClient
from gitward.model.errors import ConfigError
from gitward.server.app import server_app
from gitward.server.appstore import AppStore
from gitward.server.context import ServerContext
from gitward.server.tls import server_ssl_context
from gitward.services import Services

log = logging.getLogger("gitward.cli.server")

#: Seconds in-flight requests get to finish after SIGTERM before connections close.
SHUTDOWN_GRACE = 10.0
#: Bytes asyncio reserves to read each TLS connection (its own default: 256 KiB). A watch
#: stream is a long-lived, mostly idle connection, so the reservation is what clients cost:
#: 200 idle HTTPS streams took 54.6 MiB of RSS at 256 KiB and 10.6 MiB at 32 KiB. A TLS
#: record is at most 16 KiB, so 32 KiB still reads one whole record per call.
TLS_READ_BUFFER = 32 * 1024


def parse_listen(listen: str) -> tuple[str, int]:
    """HOST:PORT (HOST may be empty: every address; ``[::1]:8080`` for IPv6)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--listen {listen!r}: expected HOST:PORT, e.g. :8080")
    return host.strip("[]"), int(port)


def server(
    ctx: typer.Context,
    listen: str = typer.Option(":8080", "--listen", help="HOST:PORT to serve the API on."),
    insecure: bool = typer.Option(
        False, "--insecure", help="Serve plain HTTP (behind a proxy that terminates TLS)."
    ),
    disable_auth: bool = typer.Option(
        False,
        "--disable-auth",
        help="Treat every caller as admin (Argo CD's flag): only where every caller is trusted.",
    ),
    application_namespaces: str = typer.Option(
        "",
        "--application-namespaces",
        envvar="GITWARD_APPLICATION_NAMESPACES",
        help="Comma-separated globs of other namespaces whose Applications to serve "
        "(default: application.namespaces in argocd-cmd-params-cm).",
    ),
    hostname: list[str] = typer.Option(
        [],
        "--tls-hostname",
        help="Host names the generated self-signed certificate is valid for (repeatable).",
    ),
    log_level: str = typer.Option("info", "--log-level", "--loglevel", help="debug, info, ..."),
) -> None:
    """Serve Argo CD's REST API (/api/v1/applications, watch streams, sessions, accounts)
    for the Applications of --namespace, over HTTPS with the certificate in the Secret
    argocd-server-tls (a self-signed one is generated there at first start). Accounts and
    RBAC come from argocd-cm, argocd-secret and argocd-rbac-cm; the admin password is
    generated into argocd-initial-admin-secret at first start. Stops cleanly on SIGTERM."""
    logsetup.configure(log_level, "text")
    host, port = parse_listen(listen)
    cli = context.get(ctx)
    asyncio.sslproto.SSLProtocol.max_size = TLS_READ_BUFFER
    hostnames = [h.strip() for h in hostname if h.strip()]

    async def body(client: KubeClient) -> None:
        others = (
            parse_namespace_globs(application_namespaces, "--application-namespaces")
            if application_namespaces
            else await load_application_namespaces(client, cli.namespace)
        )
        parts = await Services.load(client, cli.namespace)
        store = AppStore(client, cli.namespace, others)
        refresher = parts.refresher(projects=store.projects)
        app = await server_app(
            ServerContext(client, cli.namespace, others),
            store=store,
            refresher=refresher,
            insecure=insecure,
            disable_auth=disable_auth,
        )
        tls = None if insecure else await server_ssl_context(client, cli.namespace, hostnames)
        store.start()
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host or None, port, ssl_context=tls)
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(f"--listen {listen!r}: {exc.strerror or exc}") from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info(
            "gitward server serving Applications of namespace %r%s on %s (%s)",
            cli.namespace,
            f" and {', '.join(others)}" if others else "",
            listen,
            "http" if tls is None else "https",
        )
        try:
            await store.ready()
            # The listed objects live as long as the server: out of the collector's sight,
            # a full collection no longer walks every app (pauses a get would wait for).
            gc.freeze()
            await stop.wait()
        finally:
            await runner.cleanup()
            await store.stop()
            await refresher.destinations.close()
        log.info("gitward server stopped")

    context.run_kube(ctx, body)
