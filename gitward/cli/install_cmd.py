"""``gitward install`` and ``gitward uninstall``."""

from __future__ import annotations

import typer

from gitward import install as installer
from gitward.cli import context
from gitward.cli.console import err, out

NamespaceOption = typer.Option(
    None, "--namespace", help="Namespace for gitward's objects (default: the global --namespace)."
)


def _report(changes: list[installer.Change]) -> None:
    for change in changes:
        out.print(f"{change.resource} {change.action}")


def install(ctx: typer.Context, namespace: str | None = NamespaceOption) -> None:
    """Install the Application, AppProject and ApplicationSet CRDs, the default project
    and the controller's RBAC. Idempotent."""
    ns = namespace or context.get(ctx).namespace
    changes = context.run(ctx, lambda client: installer.install(client, ns))
    _report(changes)
    created = sum(c.action != "unchanged" for c in changes)
    err.print(f"gitward installed in namespace {ns!r} ({created} of {len(changes)} changed)")


def uninstall(ctx: typer.Context, namespace: str | None = NamespaceOption) -> None:
    """Remove gitward's CRDs and RBAC. Deployed workloads keep running (orphaned)."""
    ns = namespace or context.get(ctx).namespace
    _report(context.run(ctx, lambda client: installer.uninstall(client, ns)))
