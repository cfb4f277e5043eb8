"""The outside world generators read, as the controller and the CLI provide it.

Git goes through the process's one :class:`~gitward.source.GitSource`: the same
URL policy (no ``ext::``, no local paths unless allow-listed, never gitward's own
cache), the same repository credentials and the same mirrors and trees as the
Applications' sources, so a repository both read is fetched once. Cluster
Secrets come from wherever the caller keeps them: the controller's informer
(no request per generation), or one LIST for the CLI.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from gitward.appset.generators import GitTree
from gitward.model.errors import ConfigError
from gitward.source import CredentialStore, GitSource

Obj = dict[str, Any]


class AppSetSources:
    """:class:`~gitward.appset.generators.Sources` backed by a GitSource and a Secret lister."""

    def __init__(
        self,
        git: GitSource | None,
        cluster_secrets: Callable[[], Awaitable[list[Obj]]] | None,
        credentials: Callable[[], CredentialStore | None] = lambda: None,
    ) -> None:
        self.git = git
        self._secrets = cluster_secrets
        self._credentials = credentials

    async def cluster_secrets(self) -> list[Obj]:
        if self._secrets is None:
            raise ConfigError("the clusters generator needs a cluster to list cluster Secrets from")
        return await self._secrets()

    @contextlib.asynccontextmanager
    async def checkout(self, url: str, revision: str) -> AsyncIterator[GitTree]:
        if self.git is None:
            raise ConfigError(f"the git generator cannot read {url}: no git source configured")
        store = self._credentials()
        creds = store.lookup(url) if store is not None else None
        async with self.git.checkout(url, revision, creds) as tree:
            yield GitTree(tree.sha, tree.path)
