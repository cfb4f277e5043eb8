"""Options every command shares, and what they open: a kubeconfig client or an API client.

A command reaches gitward one of two ways. ``--core`` (and the default when no
context is logged in) talks to the cluster with a kubeconfig, as before there was a
server. Server mode — ``--server``, or a context saved by ``gitward login`` — sends
every request to the API server, which authenticates the caller and applies RBAC.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import typer

from gitward.apiclient import ApiClient, load_config
from gitward.cluster import KubeClient
from gitward.model.errors import ConfigError

T = TypeVar("T")

TOKEN_ENV = "GITWARD_AUTH_TOKEN"  # noqa: S105 - the variable's name


@dataclass(frozen=True)
class Remote:
    """The API server a command talks to, and as whom."""

    server: str
    token: str
    insecure: bool = False

    def client(self) -> ApiClient:
        return ApiClient(self.server, self.token, insecure=self.insecure)


@dataclass
class CliContext:
    kubeconfig: str | None
    kube_context: str | None
    namespace: str
    server: str | None = None
    auth_token: str | None = None
    insecure: bool = False
    core: bool = False

    async def client(self) -> KubeClient:
        return await KubeClient.from_kubeconfig(self.kubeconfig, self.kube_context)

    def remote(self) -> Remote | None:
        """The server to talk to, or None for kubeconfig mode (``--core``, or not logged in)."""
        if self.core:
            if self.server:
                raise ConfigError("--core and --server exclude each other")
            return None
        config = load_config()
        if self.server:
            entry = config.server(self.server)
            token = self.auth_token or config.token_for_server(self.server)
            insecure = self.insecure or (entry.insecure if entry else False)
            server = _scheme(self.server, entry.plain_text if entry else False)
            return Remote(server, token, insecure)
        current = config.context()
        if current is None or not config.tokens.get(current.user):
            return None
        entry = config.server(current.server)
        return Remote(
            _scheme(current.server, entry.plain_text if entry else False),
            self.auth_token or config.tokens[current.user],
            self.insecure or (entry.insecure if entry else False),
        )


def _scheme(server: str, plain_text: bool) -> str:
    if "://" in server:
        return server
    return ("http://" if plain_text else "https://") + server


def get(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    if isinstance(obj, CliContext):
        return obj
    return CliContext(
        os.environ.get("KUBECONFIG"),
        None,
        os.environ.get("GITWARD_NAMESPACE", "argocd"),
        auth_token=os.environ.get(TOKEN_ENV),
    )


def run(ctx: typer.Context, body: Callable[[KubeClient], Awaitable[T]]) -> T:
    """Run ``body`` with a kubeconfig client: the ``--core`` path of a command.

    A command that also works through the server chooses before it gets here; one
    that reaches this in server mode has no server path, and says so instead of
    quietly using whatever kubeconfig is around (its writes would bypass the
    server's authentication, RBAC and audit).
    """
    if get(ctx).remote() is not None:
        raise ConfigError(
            f"'{ctx.command_path}' does not work through a gitward server: it needs --core "
            "(and a kubeconfig)"
        )
    return run_kube(ctx, body)


def run_kube(ctx: typer.Context, body: Callable[[KubeClient], Awaitable[T]]) -> T:
    """Open a client for the command's cluster, run ``body`` with it, close it.

    For the commands that are the cluster side of gitward (``controller``, ``server``,
    ``install``...): they always use the kubeconfig, logged in or not.
    """
    cli = get(ctx)

    async def main() -> T:
        async with await cli.client() as client:
            return await body(client)

    return asyncio.run(main())


def remote(ctx: typer.Context) -> Remote:
    """The server of a command that only exists in server mode (login state, accounts)."""
    found = get(ctx).remote()
    if found is None:
        raise ConfigError(
            "this command talks to a gitward server: log in with 'gitward login SERVER' "
            "or give --server (and --auth-token)"
        )
    return found


def run_api(ctx: typer.Context, body: Callable[[ApiClient], Awaitable[T]]) -> T:
    """Run ``body`` with an API client of the command's server."""
    target = remote(ctx)

    async def main() -> T:
        async with target.client() as client:
            return await body(client)

    return asyncio.run(main())
