"""``gitward controller``: run the reconciling controller in the foreground."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

import typer

from gitward import services as compose
from gitward.appstate.settings import (
    load_application_namespaces,
    load_sync_timeout,
    parse_namespace_globs,
)
from gitward.cli import context, logsetup, memtrace
from gitward.cluster import KubeClient, UnknownKind
from gitward.controller.sharding import NoSharding, ShardCoordinator, Sharding, ShardMode
from gitward.install import ensure_default_project
from gitward.model.durations import parse_duration
from gitward.model.errors import ConfigError
from gitward.server import ControllerServer

log = logging.getLogger("gitward.cli.controller")


def controller(
    ctx: typer.Context,
    workers: int = typer.Option(8, "--workers", help="Apps reconciled at once."),
    listen: str = typer.Option(
        ":8082", "--listen", help="HOST:PORT for /api/webhook, /metrics, /healthz, /readyz."
    ),
    shards: int = typer.Option(
        0,
        "--shards",
        help="Split the apps between replicas in this many shards, each owned through a "
        "Lease (0: no sharding, this replica reconciles every app). Same on every replica.",
    ),
    shard_mode: str = typer.Option(
        "app", "--shard-mode", help="Shard by app or by destination cluster: app or cluster."
    ),
    replica_id: str = typer.Option(
        "",
        "--replica-id",
        envvar="GITWARD_REPLICA_ID",
        help="This replica's name in Leases and operation locks (default: the host name). "
        "It must survive a restart, so an interrupted operation is resumed at once.",
    ),
    lease_duration: float = typer.Option(
        15.0, "--lease-duration", help="Seconds before a dead replica's shards are taken over."
    ),
    log_level: str = typer.Option(
        "info", "--log-level", "--loglevel", help="debug, info, warning or error."
    ),
    appsets: bool = typer.Option(
        True,
        "--appsets/--no-appsets",
        help="Also run the ApplicationSet controller (one replica at a time: the owner of "
        "shard 0 when sharded).",
    ),
    application_namespaces: str = typer.Option(
        "",
        "--application-namespaces",
        envvar="GITWARD_APPLICATION_NAMESPACES",
        help="Comma-separated globs of other namespaces whose Applications to reconcile "
        "(default: application.namespaces in argocd-cmd-params-cm; each app's project must "
        "list its namespace in sourceNamespaces).",
    ),
    notifications: bool = typer.Option(
        True,
        "--notifications/--no-notifications",
        help="Send Argo CD Notifications (argocd-notifications-cm) for the apps this replica "
        "owns; idle while that ConfigMap does not exist.",
    ),
    dora: bool = typer.Option(
        True,
        "--dora/--no-dora",
        help="Record deployments, lead times, failures and restores for `gitward stats` and "
        "the gitward_dora_* metrics.",
    ),
    image_updates: bool = typer.Option(
        True,
        "--image-updates/--no-image-updates",
        help="Poll registries for the images Argo CD Image Updater annotations name and write "
        "new ones back to Git (or the app's spec).",
    ),
    image_interval: str = typer.Option(
        "2m",
        "--image-update-interval",
        help="How often each app's images are checked, unless its "
        "gitward.io/image-update-interval annotation says otherwise.",
    ),
    sync_timeout: int | None = typer.Option(
        None,
        "--sync-timeout",
        envvar="ARGOCD_APPLICATION_CONTROLLER_SYNC_TIMEOUT",
        min=0,
        help="Seconds after an operation's start when it is terminated (running hooks "
        "deleted, Failed), as Argo CD's controller. 0: never (default: "
        "controller.sync.timeout.seconds in argocd-cmd-params-cm, else 0).",
        show_default=False,
    ),
    log_format: str = typer.Option(
        "text",
        "--log-format",
        "--logformat",
        envvar="GITWARD_LOG_FORMAT",
        help="text, or json: one object per line with app, revision and operation ids.",
    ),
) -> None:
    """Watch Applications and keep them reconciled: refresh on change and on a timer,
    sync automated apps (prune, self-heal). Stops cleanly on SIGTERM or Ctrl-C.

    GITWARD_TRACEMALLOC=N (frames) traces allocations: each SIGUSR2 then logs
    the allocation sites that grew most since the first (docs/controller.md)."""
    if shard_mode not in ("app", "cluster"):
        raise ConfigError(f"--shard-mode {shard_mode!r}: expected app or cluster")
    mode: ShardMode = "cluster" if shard_mode == "cluster" else "app"
    fmt = log_format.strip().lower()
    if fmt not in ("text", "json"):
        raise ConfigError(f"--log-format {log_format!r}: expected text or json")
    logsetup.configure(log_level, "json" if fmt == "json" else "text")
    image_every = parse_duration(image_interval, "--image-update-interval")
    cli = context.get(ctx)

    memtrace.parse_frames(os.environ.get(memtrace.ENV))  # a bad value fails before any work

    async def body(client: KubeClient) -> None:
        memtrace.install(os.environ)
        try:
            if await ensure_default_project(client, cli.namespace):
                log.info("created the default AppProject in namespace %r", cli.namespace)
        except UnknownKind:
            raise ConfigError(
                "the argoproj.io CRDs are not installed in this cluster: run `gitward install` "
                "or apply deploy/install.yaml first"
            ) from None
        parts = await compose.Services.load(client, cli.namespace, long_lived=True)
        other_namespaces = (
            parse_namespace_globs(application_namespaces, "--application-namespaces")
            if application_namespaces
            else await load_application_namespaces(client, cli.namespace)
        )
        timeout = (
            float(sync_timeout)
            if sync_timeout is not None
            else await load_sync_timeout(client, cli.namespace)
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        sharding: Sharding = NoSharding()
        if shards > 0:
            sharding = ShardCoordinator(
                client,
                cli.namespace,
                shards,
                # A given --replica-id names the Leases too, so a restarted replica takes its
                # shards back at once; without one, each process is a new member.
                replica_id or f"{socket.gethostname()}-{os.getpid()}",
                lease_duration=lease_duration,
                mode=mode,
            )
        ctl = compose.build_controller(
            parts,
            workers=workers,
            replica=replica_id,
            sharding=sharding,
            application_namespaces=other_namespaces,
            sync_timeout=timeout,
        )
        appset_ctl = compose.appset_controller(parts, ctl, sharding, shards) if appsets else None
        notifier = compose.notifier(parts, ctl, sharding) if notifications else None
        recorder = compose.recorder(parts, ctl, sharding) if dora else None
        images = compose.image_updater(parts, ctl, sharding, image_every) if image_updates else None
        server = ControllerServer(
            ctl,
            client,
            cli.namespace,
            appsets=appset_ctl,
            notifier=notifier,
            recorder=recorder,
            images=images,
        )
        host, _, port = listen.rpartition(":")
        try:
            await server.start(host, int(port))
        except (ValueError, OSError) as exc:
            raise ConfigError(f"--listen {listen!r}: {exc}") from None
        # Logged, not printed: with --log-format json, stderr must stay one object per line.
        log.info(
            "gitward controller watching Applications in namespace %r%s; serving on %s; "
            "sync timeout %s",
            cli.namespace,
            f" and {', '.join(other_namespaces)}" if other_namespaces else "",
            listen,
            f"{timeout:.0f} s" if timeout else "off",
        )
        try:
            await asyncio.gather(
                ctl.run(stop),
                *(
                    loop.run(stop)
                    for loop in (appset_ctl, notifier, recorder, images)
                    if loop is not None
                ),
            )
        finally:
            await server.stop()
        log.info("gitward controller stopped")

    context.run_kube(ctx, body)
