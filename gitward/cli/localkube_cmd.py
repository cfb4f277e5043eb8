"""``gitward localkube``: run real local Kubernetes clusters for tests and demos."""

from __future__ import annotations

import typer
from rich.table import Table

from gitward import localkube
from gitward.cli.console import err, out

app = typer.Typer(
    help="Run local Kubernetes control planes (etcd, kube-apiserver, controller-manager, "
    "scheduler, kwok fake nodes) built from the Go module proxy.",
    no_args_is_help=True,
)

NameOption = typer.Option("default", "--name", "-n", help="Name of the local cluster.")


def _progress(message: str) -> None:
    err.print(f"[dim]{message}[/dim]")


@app.command()
def build() -> None:
    """Build (or find cached) the control plane, kwok, kubectl and the render and registry tools."""
    toolchain = localkube.ensure(log=_progress)
    out.print(str(toolchain.bin_dir))


@app.command()
def up(
    name: str = NameOption,
    nodes: int = typer.Option(3, "--nodes", help="Number of kwok fake nodes."),
    timeout: float = typer.Option(180.0, "--timeout", help="Seconds to wait for readiness."),
) -> None:
    """Start a local cluster and wait until it is ready; print its kubeconfig path.

    A no-op on a running cluster (it prints the same kubeconfig).
    """
    toolchain = localkube.ensure(log=_progress)
    cluster = localkube.LocalCluster(name, log=_progress)
    kubeconfig = cluster.up(toolchain, nodes=nodes, timeout=timeout)
    out.print(str(kubeconfig))


@app.command()
def down(
    name: str = NameOption,
    all_: bool = typer.Option(False, "--all", help="Stop every local cluster."),
    keep_data: bool = typer.Option(
        False, "--keep-data", help="Keep etcd data and certificates for the next up."
    ),
) -> None:
    """Stop a local cluster's processes and free its ports."""
    clusters = localkube.all_clusters() if all_ else [localkube.LocalCluster(name)]
    for cluster in clusters:
        cluster.down(delete=not keep_data)
        err.print(f"cluster {cluster.name!r} stopped")


@app.command()
def status(name: str = NameOption) -> None:
    """Show each component of a local cluster: running or crashed, pid and log path."""
    cluster = localkube.LocalCluster(name)
    statuses = cluster.status()
    if not statuses:
        err.print(f"cluster {name!r} does not exist")
        raise typer.Exit(1)
    table = Table("COMPONENT", "STATE", "PID", box=None)
    table.add_column("LOG", overflow="fold")
    for s in statuses:
        state = "[green]running[/green]" if s.running else "[red]crashed[/red]"
        if s.pid is None:
            state = "[yellow]stopped[/yellow]"
        table.add_row(s.name, state, str(s.pid or "-"), str(s.log))
    out.print(table)
    out.print(f"server: {cluster.server()}  kubeconfig: {cluster.kubeconfig}")
    if not cluster.running():
        raise typer.Exit(1)


@app.command()
def kubeconfig(name: str = NameOption) -> None:
    """Print the path of a local cluster's admin kubeconfig."""
    cluster = localkube.LocalCluster(name)
    if not cluster.exists():
        err.print(f"cluster {name!r} does not exist; run: gitward localkube up --name {name}")
        raise typer.Exit(1)
    out.print(str(cluster.kubeconfig))
