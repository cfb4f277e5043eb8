"""Run ``spec.generators``: dispatch each entry to its generator, filter, pair with templates.

As in Argo CD's ``Transform``: an entry's ``selector`` keeps the sets whose
flattened parameters (values printed as Go's ``%v``) match it, and the
template of a set is the generator's own ``template`` completed from
``spec.template``. Unlike Argo CD, an entry naming no generator, or one that
gitward does not support yet, is an error rather than zero applications:
zero applications would read as "delete them all".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitward.appset.generators import clusters, git, listgen, matrix, merge
from gitward.appset.generators.base import Context, GeneratorError, mapping
from gitward.appset.generators.child import ChildRunner
from gitward.appset.match import check_selector, selector_matches
from gitward.appset.params import Params, fill_merge, flat_strings
from gitward.model.applicationset import GENERATOR_KINDS, UNSUPPORTED_GENERATORS


@dataclass
class Generated:
    """The parameter sets of one generator entry and the template they fill."""

    where: str
    params: list[Params]
    template: dict[str, Any]


def _kinds(entry: dict[str, Any], where: str) -> list[str]:
    kinds = [k for k in GENERATOR_KINDS if entry.get(k) is not None]
    unknown = [k for k in entry if k not in GENERATOR_KINDS and k != "selector"]
    if not kinds:
        hint = f" (unknown: {', '.join(sorted(unknown))})" if unknown else ""
        raise GeneratorError(
            where, f"no generator: expected one of list, clusters, git, matrix, merge{hint}"
        )
    for kind in kinds:
        if kind in UNSUPPORTED_GENERATORS:
            raise GeneratorError(f"{where}.{kind}", f"the {kind} generator is not supported yet")
    return kinds


def _selected(params: list[Params], selector: dict[str, Any], where: str) -> list[Params]:
    if not selector:
        return params
    return [p for p in params if selector_matches(selector, flat_strings(p), where)]


class _Runner:
    """Runs entries; matrix and merge call back into it for their children."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _children(self, depth: int) -> ChildRunner:
        """The runner for the children of a matrix or merge at ``depth`` (0: top level).

        Argo CD ignores the selectors of the children of a matrix or merge that is
        itself a child, unless ``spec.applyNestedSelectors`` is set.
        """
        ignore = depth > 0 and not self.ctx.appset.apply_nested_selectors

        async def child(
            entry: dict[str, Any], where: str, *, selector_from: dict[str, Any] | None = None
        ) -> list[Params]:
            found = await self.entry(entry, where, depth + 1, selector_from, ignore)
            if len(found) > 1:
                raise GeneratorError(where, "found more than one generator in this child")
            return found[0][1]

        return child

    async def kind(self, kind: str, spec: Any, where: str, depth: int) -> list[Params]:
        if kind == "list":
            return await listgen.generate(self.ctx, spec, where)
        if kind == "clusters":
            return await clusters.generate(self.ctx, spec, where)
        if kind == "git":
            return await git.generate(self.ctx, spec, where)
        if kind == "matrix":
            return await matrix.generate(self.ctx, spec, where, self._children(depth))
        return await merge.generate(self.ctx, spec, where, self._children(depth))

    async def entry(
        self,
        entry: dict[str, Any],
        where: str,
        depth: int = 0,
        selector_from: dict[str, Any] | None = None,
        ignore_selector: bool = False,
    ) -> list[tuple[str, list[Params], Any]]:
        kinds = _kinds(entry, where)
        source = selector_from if selector_from is not None else entry
        selector = {}
        if not ignore_selector:
            selector = check_selector(source.get("selector"), f"{where}.selector")
        out = []
        for kind in kinds:
            spec = entry[kind]
            params = await self.kind(kind, spec, f"{where}.{kind}", depth)
            out.append((kind, _selected(params, selector, where), spec))
        return out


async def run_generators(ctx: Context) -> list[Generated]:
    """Every entry of ``spec.generators``, in order; any error raises :class:`GeneratorError`."""
    appset = ctx.appset
    if not appset.generators:
        raise GeneratorError("spec.generators", "at least one generator is required")
    runner = _Runner(ctx)
    out: list[Generated] = []
    for index, raw in enumerate(appset.generators):
        where = f"spec.generators[{index}]"
        entry = mapping(raw, where)
        for kind, params, spec in await runner.entry(entry, where):
            own = spec.get("template") if isinstance(spec, dict) else None
            template = (
                fill_merge(own, appset.template) if isinstance(own, dict) else appset.template
            )
            out.append(Generated(f"{where}.{kind}", params, template))
    return out
