"""Integration fixtures shared by the Application tests."""

from __future__ import annotations

import pytest

from gitward.cluster import KubeClient
from gitward.install import install
from tests.support.serverprocess import gw, never_printed, server

__all__ = ["gw", "installed", "never_printed", "server"]


@pytest.fixture(scope="session")
async def installed(kube: KubeClient) -> KubeClient:
    """The session cluster with gitward's CRDs, default project and RBAC installed."""
    await install(kube, "argocd")
    return kube
