"""``gitward controller``: run the reconciling controller in the foreground."""

from __future__ import annotations

import asyncio
import logging
import signal

import typer

from gitward.cli import context
from gitward.cli.console import err
from gitward.cli.services import Refresher
from gitward.cluster import KubeClient
from gitward.controller import Controller
from gitward.model.errors import ConfigError
from gitward.server import ControllerServer


def controller(
    ctx: typer.Context,
    workers: int = typer.Option(4, "--workers", help="Apps reconciled at once."),
    listen: str = typer.Option(
        ":8082", "--listen", help="HOST:PORT for /api/webhook, /metrics, /healthz, /readyz."
    ),
    log_level: str = typer.Option("info", "--loglevel", help="debug, info, warning or error."),
) -> None:
    """Watch Applications and keep them reconciled: refresh on change and on a timer,
    sync automated apps (prune, self-heal). Stops cleanly on SIGTERM or Ctrl-C."""
    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    cli = context.get(ctx)

    async def body(client: KubeClient) -> None:
        refresher = await Refresher.create(client, cli.namespace)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        ctl = Controller(client, refresher, cli.namespace, workers=workers)
        server = ControllerServer(ctl, client, cli.namespace)
        host, _, port = listen.rpartition(":")
        try:
            await server.start(host, int(port))
        except (ValueError, OSError) as exc:
            raise ConfigError(f"--listen {listen!r}: {exc}") from None
        err.print(
            f"gitward controller watching Applications in namespace {cli.namespace!r}; "
            f"serving on {listen}"
        )
        try:
            await ctl.run(stop)
        finally:
            await server.stop()
        err.print("gitward controller stopped")

    context.run(ctx, body)
