"""A real Kubernetes control plane on loopback, built from the Go module proxy.

For tests and the demo: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok (fake nodes, so Pods become Running) as local
processes. Nothing here is used by gitward in production; it depends on no
other gitward layer but :mod:`gitward.model` and :mod:`gitward._util`.
"""

from gitward.localkube.cluster import LocalCluster, LocalKubeError, all_clusters
from gitward.localkube.toolchain import Toolchain, ToolchainError, ensure, find

__all__ = [
    "LocalCluster",
    "LocalKubeError",
    "Toolchain",
    "ToolchainError",
    "all_clusters",
    "ensure",
    "find",
]
