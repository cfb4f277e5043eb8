"""Entry point of the ``gitward`` command.

Every :class:`~gitward.model.errors.GitwardError` becomes one clear line on
stderr and exit status 2; tracebacks
are kept for bugs.
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from gitward import GitwardError, __version__
from gitward.cli import (
    app_cmd,
    appset_cmd,
    cluster_cmd,
    context,
    controller_cmd,
    image_cmd,
    init_cmd,
    install_cmd,
    localkube_cmd,
    proj_cmd,
    render_cmd,
    repo_cmd,
    server_cmd,
    stats_cmd,
)
from gitward.cli.console import err, out

app = typer.Typer(
    help="gitward: GitOps continuous delivery for Kubernetes, speaking Argo CD's API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(localkube_cmd.app, name="localkube")
app.add_typer(app_cmd.app, name="app")
app.add_typer(appset_cmd.app, name="appset")
app.add_typer(repo_cmd.app, name="repo")
app.add_typer(cluster_cmd.app, name="cluster")
app.add_typer(proj_cmd.app, name="proj")
app.add_typer(image_cmd.app, name="image")
app.command("install")(install_cmd.install)
app.command("uninstall")(install_cmd.uninstall)
app.command("render")(render_cmd.render)
app.command("init")(init_cmd.init)
app.command("stats")(stats_cmd.stats)
app.command("controller")(controller_cmd.controller)
app.command("server")(server_cmd.server)


@app.callback()
def root(
    ctx: typer.Context,
    kubeconfig: str | None = typer.Option(
        None, "--kubeconfig", envvar="KUBECONFIG", help="Path to the kubeconfig file."
    ),
    kube_context: str | None = typer.Option(
        None, "--kube-context", help="Kubeconfig context to use (default: its current one)."
    ),
    namespace: str = typer.Option(
        "argocd",
        "--namespace",
        envvar="GITWARD_NAMESPACE",
        help="Namespace where Applications and gitward's own objects live.",
    ),
) -> None:
    """gitward: GitOps continuous delivery for Kubernetes, speaking Argo CD's API."""
    ctx.obj = context.CliContext(kubeconfig, kube_context, namespace)


@app.command()
def version() -> None:
    """Print gitward's version."""
    out.print(f"gitward {__version__}")


def main() -> None:
    """Run the CLI, turning gitward's own errors into a message and a non-zero exit."""
    try:
        app()
    except GitwardError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        sys.exit(2)
