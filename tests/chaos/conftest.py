"""The chaos suite's own control plane.

The suite kills and restarts kube-apiserver and etcd and compacts etcd, so it runs on a
cluster of its own (``pytest-<pid>-chaos``, removed afterwards), never on the session
cluster other tests share. Its API server keeps no watch cache for ConfigMaps
(``--watch-cache-sizes=configmaps#0``): ConfigMap watches are served by etcd itself, so a
compaction reaches a watcher resuming from an older resourceVersion as ``410 Gone``, as it
does behind a busy API server whose cache window has moved on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from gitward.cluster import KubeClient
from gitward.install import install
from gitward.localkube import LocalCluster, Toolchain
from tests.support.owncluster import own_cluster

APISERVER_FLAGS = ("--watch-cache-sizes=configmaps#0",)


@pytest.fixture(scope="session")
def chaos_cluster(toolchain: Toolchain) -> Iterator[LocalCluster]:
    with own_cluster(toolchain, "chaos", APISERVER_FLAGS) as cluster:
        yield cluster


@pytest.fixture(scope="session")
async def chaos_kube(chaos_cluster: LocalCluster) -> AsyncIterator[KubeClient]:
    """Cluster admin on the chaos cluster, gitward's CRDs installed."""
    client = await KubeClient.from_kubeconfig(str(chaos_cluster.kubeconfig))
    await install(client, "argocd")
    yield client
    await client.close()
