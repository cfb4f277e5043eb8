"""YAML as Argo CD's ApplicationSet controller reads it (sigs.k8s.io/yaml over go-yaml v2).

Parameter files, ``elementsYaml`` and ``templatePatch`` are parsed by Go in
Argo CD; where PyYAML's YAML 1.1 differs in a way a user would see, this loader
follows Go: ``1e6`` and ``1.`` are numbers (PyYAML wants a dot and a signed
exponent), ``y``/``n`` in any case are booleans, timestamps stay strings and
keys become strings (as :class:`~gitward._util.yamlload.KubeLoader` does).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from gitward._util.yamlload import KubeLoader


class GoYAMLLoader(KubeLoader):
    """KubeLoader with go-yaml v2's numbers and booleans."""


GoYAMLLoader.yaml_implicit_resolvers = {
    k: list(v) for k, v in KubeLoader.yaml_implicit_resolvers.items()
}
GoYAMLLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)$|^[-+]?[0-9]+\.[0-9]*$"),
    list("-+0123456789."),
)
GoYAMLLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN")
)
GoYAMLLoader.add_constructor(
    "tag:yaml.org,2002:bool",
    lambda loader, node: (
        str(loader.construct_scalar(node)).lower()  # type: ignore[arg-type]
        in ("y", "yes", "true", "on")
    ),
)


def load_go_yaml(text: str) -> Any:
    """The first document of ``text`` (None when empty), as go-yaml would decode it."""
    return next(iter(yaml.load_all(text, Loader=GoYAMLLoader)), None)
