"""PyYAML's C loader with Kubernetes' view of YAML: every document becomes plain JSON.

Kubernetes converts YAML to JSON before it reads an object, so a manifest is
only meaningful as JSON. The loader makes the dicts equal what that conversion
produces, and refuses what it cannot represent, with the line at fault:

- timestamps stay strings (``date: 2024-01-01`` is text to the API server,
  and a ``datetime`` would not survive JSON); non-string keys (``80: x``)
  become strings;
- ``!!set`` is a mapping of nulls, as go-yaml reads it;
- ``!!binary``, ``!!omap``, ``!!pairs``, ``.inf`` and ``.nan`` have no JSON
  form and are refused; so are ``!!int x``, ``!!float x``, ``!!bool x`` and
  integers too long to convert or to write back (Python refuses more than
  4,300 digits);
- aliases may not expand a document past :data:`MAX_VALUES` values (the
  "billion laughs": a few lines that stand for 10^9 values once copied or
  serialised).

Every refusal is a :class:`yaml.YAMLError` (a ``ConstructorError`` with a
mark where the node is known), which callers already turn into their own
errors with file and line.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import yaml
from yaml.constructor import ConstructorError

#: Most values (scalars and containers, aliases counted each time) in one document.
MAX_VALUES = 1_000_000


#: Python refuses to write integers of more than 4,300 digits (about 14,280 bits) as text.
_MAX_INT_BITS = 14_000


class YAMLLimitError(yaml.YAMLError):
    """A document beyond a size limit (no single node is at fault)."""


class KubeLoader(yaml.CSafeLoader):
    """The C safe loader, with timestamps as strings, every key a string, only JSON values."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        if all(type(key) is str for key in mapping):
            return mapping
        return {key_text(key): value for key, value in mapping.items()}


def _refuse(loader: KubeLoader, node: yaml.Node, problem: str) -> ConstructorError:
    return ConstructorError(None, None, problem, node.start_mark)


def _checked(name: str) -> Any:
    """Wrap SafeConstructor's constructor for ``name``: a ValueError becomes a YAML error."""
    base = getattr(yaml.constructor.SafeConstructor, f"construct_yaml_{name}")

    def construct(loader: KubeLoader, node: yaml.Node) -> Any:
        try:
            value = base(loader, node)
        except (ValueError, KeyError, IndexError):  # !!float x, !!bool x, !!float ''
            raise _refuse(loader, node, f"{node.value!r} is not a valid {name}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise _refuse(loader, node, f"{node.value!r}: infinity and NaN have no JSON form")
        if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
            raise _refuse(loader, node, "integer too large to write as JSON")
        return value

    return construct


def _unsupported(tag: str) -> Any:
    def construct(loader: KubeLoader, node: yaml.Node) -> Any:
        raise _refuse(loader, node, f"the tag !!{tag} has no JSON form (write a plain value)")

    return construct


def _set(loader: KubeLoader, node: yaml.Node) -> dict[Any, None]:
    if not isinstance(node, yaml.MappingNode):
        raise _refuse(loader, node, "!!set must be a mapping")
    return {key_text(key): None for key in loader.construct_mapping(node)}


_YAML = "tag:yaml.org,2002:"
KubeLoader.add_constructor(
    f"{_YAML}timestamp",
    lambda loader, node: loader.construct_scalar(node),  # type: ignore[arg-type]
)
for _name in ("int", "float", "bool"):
    KubeLoader.add_constructor(f"{_YAML}{_name}", _checked(_name))
for _tag in ("binary", "omap", "pairs"):
    KubeLoader.add_constructor(f"{_YAML}{_tag}", _unsupported(_tag))
KubeLoader.add_constructor(f"{_YAML}set", _set)


def key_text(key: Any) -> Any:
    """A mapping key as Kubernetes would spell it in JSON."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, int | float):
        return str(key)
    return key


def check_size(data: Any, limit: int = MAX_VALUES) -> None:
    """Raise :class:`YAMLLimitError` when ``data`` expands to more than ``limit`` values."""
    budget = limit
    stack = [data]
    while stack:
        node = stack.pop()
        budget -= 1
        if budget < 0:
            raise YAMLLimitError(
                f"document expands to more than {limit:,} values (aliases repeated too often?)"
            )
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def load_all(text: str) -> Iterator[Any]:
    """Every document of ``text`` as JSON-compatible data; raises :class:`yaml.YAMLError`."""
    aliases = "*" in text  # without an alias no document can expand beyond its text
    for data in yaml.load_all(text, Loader=KubeLoader):
        if aliases:
            check_size(data)
        yield data


def load_one(text: str) -> Any:
    """The first document of ``text`` (None when empty); raises only :class:`yaml.YAMLError`.

    For configuration files a render reads itself (kustomizations, Chart.yaml): the
    same loader and limits as manifests, so a bad tag or deep nesting is a YAML error.
    """
    try:
        for data in load_all(text):
            return data
    except RecursionError:
        raise YAMLLimitError("nested too deeply") from None
    return None
