"""The ``matrix`` generator: every combination of its children's parameter sets.

Child 1 runs first; each later child runs once per parameter set gathered so
far, with its spec templated by that set (so a git child can read the path a
list child named). Argo CD allows exactly two children and one level of nested
matrix or merge; gitward allows any number of children (two or more) and any
depth. Combining: with goTemplate the sets are deep-merged, earlier children
winning; with fasttemplate a key both hold must have the same value.

A child whose spec does not change with the parameters (no ``{{`` in it) runs
once, not once per set: rendering it would give the same spec every time.
"""

from __future__ import annotations

import json
from typing import Any

from gitward.appset.generators.base import Context, GeneratorError, mapping
from gitward.appset.generators.child import ChildRunner, strip_templates
from gitward.appset.params import Params, ParamsError, combine_strict, deep_merge


def combine(first: Params, second: Params, go_template: bool, where: str) -> Params:
    if go_template:
        return deep_merge(deep_merge({}, second), first)
    try:
        return combine_strict(first, second)
    except ParamsError as exc:
        raise GeneratorError(where, str(exc)) from None


async def generate(ctx: Context, spec: Any, where: str, child: ChildRunner) -> list[Params]:
    spec = mapping(spec, where)
    children = spec.get("generators") or []
    if not isinstance(children, list):
        raise GeneratorError(f"{where}.generators", "expected a list")
    if len(children) < 2:
        raise GeneratorError(where, "found less than two generators, Matrix needs two or more")
    combined = await child(mapping(children[0], f"{where}.generators[0]"), f"{where}.generators[0]")
    for index, raw in enumerate(children[1:], start=1):
        at = f"{where}.generators[{index}]"
        entry = strip_templates(mapping(raw, at))
        if not combined:
            return []  # nothing to combine with: the matrix is empty
        if "{{" not in json.dumps(entry):
            rendered_entries: list[dict[str, Any]] = [entry] * len(combined)
        else:
            results = await ctx.renderer.each(entry, combined)
            rendered_entries = []
            for n, result in enumerate(results):
                if result.error:
                    raise GeneratorError(
                        at, f"interpolating with the parameters of set {n + 1}: {result.error}"
                    )
                rendered_entries.append(mapping(result.value, at))
        memo: dict[str, list[Params]] = {}
        out: list[Params] = []
        for params, rendered in zip(combined, rendered_entries, strict=True):
            key = json.dumps(rendered, sort_keys=True)
            found = memo.get(key)
            if found is None:
                found = memo[key] = await child(rendered, at, selector_from=raw)
            out.extend(combine(params, other, ctx.go_template, at) for other in found)
        combined = out
    return combined
