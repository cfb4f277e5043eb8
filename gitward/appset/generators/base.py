"""What every generator shares: its context, its error, and the outside world it may read.

A generator turns its part of ``spec.generators`` into parameter sets (plain
dicts). The only I/O a generator does goes through :class:`Sources`: cluster
Secrets and git trees. The controller backs it with its watch caches and the
process's one :class:`~gitward.source.GitSource`; tests and ``gitward appset
generate`` back it with whatever they have. Everything else is pure.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gitward.appset.generators.listings import TreeListings
from gitward.appset.params import Params
from gitward.appset.render import TreeRenderer
from gitward.model.applicationset import ApplicationSet
from gitward.model.errors import ConfigError

Obj = dict[str, Any]


class GeneratorError(ConfigError):
    """A generator could not produce its parameters; ``where`` names it in the spec."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.reason = message


@dataclass(frozen=True)
class GitTree:
    """A commit of a repository, checked out read-only at ``path``."""

    sha: str
    path: Path


class Sources(Protocol):
    """The outside world generators read."""

    async def cluster_secrets(self) -> list[Obj]:
        """Every Secret labelled ``argocd.argoproj.io/secret-type: cluster`` of the namespace."""
        ...

    def checkout(self, url: str, revision: str) -> contextlib.AbstractAsyncContextManager[GitTree]:
        """The tree of ``revision`` of ``url`` (resolved, fetched, exported), held in the block."""
        ...


class NoSources:
    """Sources for a generation that may read nothing (a clear error if a generator tries)."""

    async def cluster_secrets(self) -> list[Obj]:
        raise ConfigError("the clusters generator needs a cluster to list cluster Secrets from")

    @contextlib.asynccontextmanager
    async def checkout(self, url: str, revision: str) -> AsyncIterator[GitTree]:
        raise ConfigError(f"the git generator cannot read {url}: no git source configured")
        yield GitTree("", Path())  # pragma: no cover - unreachable, makes this a generator


@dataclass
class Context:
    """One generation of one ApplicationSet."""

    appset: ApplicationSet
    sources: Sources
    renderer: TreeRenderer
    #: Repositories the generation read (normalised URL -> revision): webhooks refresh on them.
    repos: dict[str, str] = field(default_factory=dict)
    #: Seconds until the generation should run again by itself (git: 3 min by default).
    requeue_after: float | None = None
    #: Listings of exported commits, kept by whoever runs generations (see listings.py).
    listings: TreeListings = field(default_factory=TreeListings)

    @property
    def go_template(self) -> bool:
        return self.appset.go_template

    def requeue(self, seconds: float) -> None:
        if self.requeue_after is None or seconds < self.requeue_after:
            self.requeue_after = seconds


def mapping(value: Any, where: str) -> Obj:
    if not isinstance(value, dict):
        raise GeneratorError(where, f"expected a mapping, got {type(value).__name__}")
    return value


async def templated_values(
    ctx: Context, values: Any, param_sets: list[Params], where: str
) -> list[Params]:
    """Add a generator's ``values`` (templated with each set's own params) to each set.

    goTemplate puts them under ``values``; fasttemplate as ``values.<key>``.
    """
    if not values:
        return param_sets
    values = mapping(values, f"{where}.values")
    for key, value in values.items():
        if not isinstance(value, str):
            raise GeneratorError(f"{where}.values.{key}", "expected a string")
    rendered = await ctx.renderer.each(values, param_sets)
    out = []
    for params, result in zip(param_sets, rendered, strict=True):
        if result.error:
            raise GeneratorError(
                f"{where}.values", f"failed to replace templated string: {result.error}"
            )
        with_values = dict(params)
        if ctx.go_template:
            with_values["values"] = dict(result.value or {})
        else:
            for key, value in (result.value or {}).items():
                with_values[f"values.{key}"] = value
        out.append(with_values)
    return out
