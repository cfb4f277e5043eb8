"""The public surface is exactly what ``__all__`` says, and every name resolves."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "gitward": {"ConfigError", "GitwardError", "ToolError", "__version__"},
    "gitward.model": {
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
    },
    "gitward.cluster": {
        "FIELD_MANAGER",
        "IN_CLUSTER_SERVER",
        "ApiError",
        "ClusterError",
        "ClusterSpec",
        "ClusterUnreachable",
        "Conflict",
        "InvalidClusterSecret",
        "InvalidName",
        "KubeClient",
        "NotFound",
        "ResourceInfo",
        "TLSClientConfig",
        "UnknownKind",
        "build_cluster_secret",
        "client_for_cluster",
        "client_for_cluster_secret",
        "describe",
        "parse_cluster_secret",
    },
    "gitward.appset": {
        "AppIndex",
        "AppSetController",
        "AppSetReconciler",
        "AppSetSources",
        "Desired",
        "GenerationError",
        "Generation",
        "GoTemplateError",
        "GoTemplates",
        "InformerIndex",
        "Outcome",
        "generate",
    },
    "gitward.localkube": {
        "LocalCluster",
        "LocalKubeError",
        "Toolchain",
        "ToolchainError",
        "all_clusters",
        "ensure",
        "find",
    },
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_exports_are_exactly_the_intended_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert set(module.__all__) == PUBLIC[module_name]
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_every_reported_error_derives_from_the_root() -> None:
    from gitward import GitwardError
    from gitward.appset import GenerationError, GoTemplateError
    from gitward.cluster import ClusterError, UnknownKind
    from gitward.localkube import LocalKubeError, ToolchainError

    for error in (
        ClusterError,
        UnknownKind,
        LocalKubeError,
        ToolchainError,
        GenerationError,
        GoTemplateError,
    ):
        assert issubclass(error, GitwardError)
