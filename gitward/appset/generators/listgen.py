"""The ``list`` generator: literal parameter sets, from ``elements`` and ``elementsYaml``.

With goTemplate an element is its own parameter set, nested values and all.
With fasttemplate every value must be a string, and a ``values`` mapping is
flattened one level into ``values.<key>`` (Argo CD refuses anything else).
``elementsYaml`` (usually rendered from a matrix parent's parameters) is a YAML
list of mappings appended as they are, in both modes.
"""

from __future__ import annotations

from typing import Any

import yaml

from gitward.appset.generators.base import Context, GeneratorError, mapping
from gitward.appset.params import Params
from gitward.appset.yamlparse import load_go_yaml


def _fast_element(element: dict[str, Any], where: str) -> Params:
    params: Params = {}
    for key, value in element.items():
        if key == "values":
            if not isinstance(value, dict):
                raise GeneratorError(f"{where}.values", "error parsing values map")
            for k, v in value.items():
                if not isinstance(v, str):
                    raise GeneratorError(f"{where}.values.{k}", "error parsing value as string")
                params[f"values.{k}"] = v
        elif not isinstance(value, str):
            raise GeneratorError(f"{where}.{key}", "error parsing value as string")
        else:
            params[key] = value
    return params


def parse_elements_yaml(text: str, where: str) -> list[Params]:
    """``elementsYaml``: a YAML list of mappings (an empty text is no element)."""
    try:
        loaded = load_go_yaml(text)
    except yaml.YAMLError as exc:
        raise GeneratorError(where, f"error unmarshling decoded ElementsYaml: {exc}") from None
    if loaded is None:
        return []
    if not isinstance(loaded, list) or not all(isinstance(e, dict) for e in loaded):
        raise GeneratorError(
            where, "error unmarshling decoded ElementsYaml: expected a list of mappings"
        )
    return [dict(e) for e in loaded]


async def generate(ctx: Context, spec: Any, where: str) -> list[Params]:
    spec = mapping(spec, where)
    elements = spec.get("elements") or []
    if not isinstance(elements, list):
        raise GeneratorError(f"{where}.elements", "expected a list")
    out: list[Params] = []
    for i, element in enumerate(elements):
        element = mapping(element, f"{where}.elements[{i}]")
        if ctx.go_template:
            out.append(dict(element))
        else:
            out.append(_fast_element(element, f"{where}.elements[{i}]"))
    text = spec.get("elementsYaml")
    if text:
        if not isinstance(text, str):
            raise GeneratorError(f"{where}.elementsYaml", "expected a string")
        out.extend(parse_elements_yaml(text, f"{where}.elementsYaml"))
    return out
