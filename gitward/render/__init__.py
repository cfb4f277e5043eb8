"""Manifests from a checked-out tree: plain YAML/JSON, Kustomize or Helm, as Argo CD renders them.

Layer 2: uses only :mod:`gitward.model` and :mod:`gitward._util`; runs kustomize
and helm as subprocesses and never touches git or a cluster.
"""

from gitward.render.core import detect, render
from gitward.render.env import RenderEnv
from gitward.render.errors import (
    ManifestParseError,
    PathError,
    RemoteBaseRefused,
    ToolFailed,
    ToolMissing,
    ToolTimeout,
    UnsupportedSource,
)
from gitward.render.tools import RenderTools

__all__ = [
    "ManifestParseError",
    "PathError",
    "RemoteBaseRefused",
    "RenderEnv",
    "RenderTools",
    "ToolFailed",
    "ToolMissing",
    "ToolTimeout",
    "UnsupportedSource",
    "detect",
    "render",
]
