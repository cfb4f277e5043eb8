"""PyYAML's C loader with Kubernetes' view of YAML.

Two changes so the dicts equal what Kubernetes' own YAML-to-JSON conversion
produces: timestamps stay strings (``date: 2024-01-01`` is text to the API
server, and a ``datetime`` would not survive JSON), and non-string keys
(``80: x``) become strings.
"""

from __future__ import annotations

from typing import Any

import yaml


class KubeLoader(yaml.CSafeLoader):
    """The C safe loader, with timestamps as strings and every key a string."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        if all(type(key) is str for key in mapping):
            return mapping
        return {key_text(key): value for key, value in mapping.items()}


KubeLoader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    lambda loader, node: loader.construct_scalar(node),  # type: ignore[arg-type]
)


def key_text(key: Any) -> Any:
    """A mapping key as Kubernetes would spell it in JSON."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, int | float):
        return str(key)
    return key
