"""Typed specs, statuses and the error tree: pure data, no I/O.

This layer may import only :mod:`gitward._util`. Nothing here talks to git, a
cluster, the network or the disk.
"""

from gitward.model.application import (
    Application,
    Automated,
    Backoff,
    Destination,
    ManagedNamespaceMetadata,
    Retry,
    SyncPolicy,
    load_applications,
    parse_application,
)
from gitward.model.errors import ConfigError, GitwardError, RenderError, SourceError, ToolError
from gitward.model.source_spec import (
    ApplicationSource,
    DirectorySpec,
    HelmFileParameter,
    HelmParameter,
    HelmSpec,
    KustomizePatch,
    KustomizeReplica,
    KustomizeSpec,
    parse_source,
)

__all__ = [
    "Application",
    "ApplicationSource",
    "Automated",
    "Backoff",
    "ConfigError",
    "Destination",
    "DirectorySpec",
    "GitwardError",
    "HelmFileParameter",
    "HelmParameter",
    "HelmSpec",
    "KustomizePatch",
    "KustomizeReplica",
    "KustomizeSpec",
    "ManagedNamespaceMetadata",
    "RenderError",
    "Retry",
    "SourceError",
    "SyncPolicy",
    "ToolError",
    "load_applications",
    "parse_application",
    "parse_source",
]
