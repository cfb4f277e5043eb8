"""``gitward install`` and ``gitward uninstall``."""

from __future__ import annotations

import sys

import typer
import yaml

from gitward import install as installer
from gitward.cli import context
from gitward.cli.console import err, out
from gitward.model.errors import ConfigError

NamespaceOption = typer.Option(
    None, "--namespace", help="Namespace for gitward's objects (default: the global --namespace)."
)


def _report(changes: list[installer.Change]) -> None:
    for change in changes:
        out.print(f"{change.resource} {change.action}")


def install(
    ctx: typer.Context,
    namespace: str | None = NamespaceOption,
    components: str = typer.Option(
        "",
        "--components",
        help=f"Also run these in the cluster, comma-separated: {', '.join(installer.COMPONENTS)}.",
    ),
    image: str = typer.Option(installer.DEFAULT_IMAGE, "--image", help="gitward's image."),
    replicas: int = typer.Option(
        1, "--replicas", help="Controller replicas (the apps are sharded between them)."
    ),
    server_replicas: int = typer.Option(
        1, "--server-replicas", help="API server replicas (any of them answers any request)."
    ),
    insecure: bool = typer.Option(
        False,
        "--insecure",
        help="Run the API server on plain HTTP (TLS ended by a proxy or Ingress in front).",
    ),
    service_monitor: bool = typer.Option(
        False, "--service-monitor", help="Add a Prometheus Operator ServiceMonitor."
    ),
    manifests_only: bool = typer.Option(
        False, "--manifests-only", help="Print the YAML that would be applied; apply nothing."
    ),
) -> None:
    """Install the Application, AppProject and ApplicationSet CRDs, the default project,
    the controller's RBAC and, with --components, gitward itself (the controller StatefulSet,
    the API server Deployment and Service). Idempotent."""
    ns = namespace or context.get(ctx).namespace
    wanted = tuple(c.strip() for c in components.split(",") if c.strip())
    unknown = [c for c in wanted if c not in installer.COMPONENTS]
    if unknown:
        raise ConfigError(
            f"--components: unknown {', '.join(unknown)} (known: {', '.join(installer.COMPONENTS)})"
        )
    if replicas < 1:
        raise ConfigError("--replicas: at least 1")
    if server_replicas < 1:
        raise ConfigError("--server-replicas: at least 1")
    options = installer.ComponentOptions(
        ns,
        image,
        replicas,
        service_monitor,
        server_replicas=server_replicas,
        server_insecure=insecure,
    )
    if manifests_only:
        docs = installer.manifests(ns, wanted, options)
        sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False))
        return
    changes = context.run_kube(
        ctx, lambda client: installer.install(client, ns, components=wanted, options=options)
    )
    _report(changes)
    created = sum(c.action != "unchanged" for c in changes)
    err.print(f"gitward installed in namespace {ns!r} ({created} of {len(changes)} changed)")


def uninstall(ctx: typer.Context, namespace: str | None = NamespaceOption) -> None:
    """Remove gitward's CRDs and RBAC. Deployed workloads keep running (orphaned)."""
    ns = namespace or context.get(ctx).namespace
    _report(context.run_kube(ctx, lambda client: installer.uninstall(client, ns)))
