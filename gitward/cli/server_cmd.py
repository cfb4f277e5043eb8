"""``gitward server``: the REST API (Argo CD's paths and shapes) in the foreground."""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl

import typer
from aiohttp import web

from gitward.cli import context, logsetup
from gitward.cluster import KubeClient
from gitward.model.errors import ConfigError
from gitward.server.anonymous import AllowAll, anonymous_admin
from gitward.server.app import Middleware, build_app
from gitward.server.appstore import AppStore
from gitward.server.auth import Enforcer
from gitward.server.context import ServerContext
from gitward.sync import Refresher, load_settings
from gitward.sync.settings import load_application_namespaces, parse_namespace_globs
from gitward.sync.setup import manifest_source

log = logging.getLogger("gitward.cli.server")

#: Seconds in-flight requests get to finish after SIGTERM before connections close.
SHUTDOWN_GRACE = 10.0


def parse_listen(listen: str) -> tuple[str, int]:
    """HOST:PORT (HOST may be empty: every address; ``[::1]:8080`` for IPv6)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--listen {listen!r}: expected HOST:PORT, e.g. :8080")
    return host.strip("[]"), int(port)


def _security(disable_auth: bool) -> tuple[Enforcer, list[Middleware]]:
    if disable_auth:
        return AllowAll(), [anonymous_admin]
    raise ConfigError(
        "accounts and RBAC are not available in this build of gitward server; "
        "run it with --disable-auth only where every caller is trusted"
    )


def _tls(insecure: bool) -> ssl.SSLContext | None:
    if insecure:
        return None
    raise ConfigError("HTTPS is not available in this build of gitward server; use --insecure")


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
    log_level: str = typer.Option("info", "--log-level", "--loglevel", help="debug, info, ..."),
) -> None:
    """Serve Argo CD's REST API (/api/v1/applications, watch streams) for the Applications of
    --namespace. Stops cleanly on SIGTERM or Ctrl-C."""
    logsetup.configure(log_level, "text")
    host, port = parse_listen(listen)
    enforcer, auth = _security(disable_auth)
    tls = _tls(insecure)
    cli = context.get(ctx)

    async def body(client: KubeClient) -> None:
        others = (
            parse_namespace_globs(application_namespaces, "--application-namespaces")
            if application_namespaces
            else await load_application_namespaces(client, cli.namespace)
        )
        settings = await load_settings(client, cli.namespace)
        store = AppStore(client, cli.namespace, others)
        refresher = Refresher(
            client,
            settings,
            await manifest_source(client, cli.namespace, settings),
            projects=store.projects,
            control_namespace=cli.namespace,
        )
        app = build_app(
            ServerContext(client, cli.namespace, others),
            store=store,
            refresher=refresher,
            enforcer=enforcer,
            auth=auth,
        )
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
            await stop.wait()
        finally:
            await runner.cleanup()
            await store.stop()
            await refresher.destinations.close()
        log.info("gitward server stopped")

    context.run(ctx, body)
