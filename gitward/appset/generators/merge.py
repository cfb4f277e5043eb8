"""The ``merge`` generator: the first child's sets, overridden by later children's.

Sets are matched on ``mergeKeys``: a later set whose keys equal a base set's
overrides it (deep merge with goTemplate, key by key with fasttemplate); later
sets that match no base set are dropped; base sets that nothing matches stay.
A child holding two sets with the same keys is an error, as in Argo CD. The
result keeps the first child's order (Argo CD's is a Go map's).
"""

from __future__ import annotations

from typing import Any

from gitward.appset.generators.base import Context, GeneratorError, mapping
from gitward.appset.generators.child import ChildRunner
from gitward.appset.params import Params, deep_merge, merge_key


def _keyed(sets: list[Params], keys: list[str], where: str) -> dict[str, Params]:
    out: dict[str, Params] = {}
    for params in sets:
        key = merge_key(params, keys)
        if key in out:
            raise GeneratorError(
                where,
                "the parameters from a generator were not unique by the given mergeKeys, "
                f"Merge requires all param sets to be unique. Duplicate key was {key}",
            )
        out[key] = params
    return out


async def generate(ctx: Context, spec: Any, where: str, child: ChildRunner) -> list[Params]:
    spec = mapping(spec, where)
    children = spec.get("generators") or []
    if not isinstance(children, list):
        raise GeneratorError(f"{where}.generators", "expected a list")
    if len(children) < 2:
        raise GeneratorError(where, "found less than two generators, Merge requires two or more")
    keys = spec.get("mergeKeys") or []
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys) or not keys:
        raise GeneratorError(f"{where}.mergeKeys", "at least one merge key (a string) is required")
    sets = []
    for index, raw in enumerate(children):
        at = f"{where}.generators[{index}]"
        sets.append(await child(mapping(raw, at), at))
    base = _keyed(sets[0], keys, f"{where}.generators[0]")
    for index, later in enumerate(sets[1:], start=1):
        overrides = _keyed(later, keys, f"{where}.generators[{index}]")
        for key, params in base.items():
            override = overrides.get(key)
            if override is None:
                continue
            if ctx.go_template:
                base[key] = deep_merge(params, override)
            else:
                base[key] = {**params, **override}
    return list(base.values())
