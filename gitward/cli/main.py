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
from gitward.cli import localkube_cmd
from gitward.cli.console import err, out

app = typer.Typer(
    help="gitward: GitOps continuous delivery for Kubernetes, speaking Argo CD's API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(localkube_cmd.app, name="localkube")


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
