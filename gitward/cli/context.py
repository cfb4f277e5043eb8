"""Options every cluster-facing command shares, and the client they open."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import typer

from gitward.cluster import KubeClient

T = TypeVar("T")


@dataclass
class CliContext:
    kubeconfig: str | None
    kube_context: str | None
    namespace: str

    async def client(self) -> KubeClient:
        return await KubeClient.from_kubeconfig(self.kubeconfig, self.kube_context)


def get(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    if isinstance(obj, CliContext):
        return obj
    return CliContext(
        os.environ.get("KUBECONFIG"), None, os.environ.get("GITWARD_NAMESPACE", "argocd")
    )


def run(ctx: typer.Context, body: Callable[[KubeClient], Awaitable[T]]) -> T:
    """Open a client for the command's cluster, run ``body`` with it, close it."""
    cli = get(ctx)

    async def main() -> T:
        async with await cli.client() as client:
            return await body(client)

    return asyncio.run(main())
