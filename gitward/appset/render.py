"""Render JSON-shaped trees with parameter sets, in the ApplicationSet's template mode.

One interface for both modes, so generators (cluster and git ``values``, a
matrix child interpolated with its parent's parameters) and the template
itself share it: fasttemplate runs here in Python (its rules are a dozen lines,
:mod:`gitward.appset.fasttemplate`); goTemplate goes to Go in one batch
(:mod:`gitward.appset.gotemplate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitward.appset import fasttemplate
from gitward.appset.gotemplate import GoTemplates, Job, Rendered
from gitward.model.errors import ConfigError


@dataclass
class TreeRenderer:
    """Renders trees with params, as an ApplicationSet's ``goTemplate`` setting says."""

    go_template: bool
    options: tuple[str, ...]
    go: GoTemplates

    async def batch(
        self, jobs: Sequence[tuple[Any, Sequence[dict[str, Any]]]]
    ) -> list[list[Rendered]]:
        """Each (tree, param sets) rendered once per set; one Go run for the whole batch."""
        if self.go_template:
            return await self.go.render([Job(t, p, self.options) for t, p in jobs])
        out: list[list[Rendered]] = []
        for tree, param_sets in jobs:
            results = []
            for params in param_sets:
                try:
                    results.append(Rendered(fasttemplate.render_tree(tree, params)))
                except ConfigError as exc:
                    results.append(Rendered(error=str(exc)))
            out.append(results)
        return out

    async def each(self, tree: Any, param_sets: Sequence[dict[str, Any]]) -> list[Rendered]:
        """``tree`` rendered with each of ``param_sets``."""
        return (await self.batch([(tree, param_sets)]))[0]
