"""A control plane of a test module's own, for tests that must not share the session's:
an install over nothing else, a chart's whole life, faults that kill the API server."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from gitward.localkube import LocalCluster, Toolchain


@contextlib.contextmanager
def own_cluster(
    toolchain: Toolchain, suffix: str, apiserver_flags: tuple[str, ...] = ()
) -> Iterator[LocalCluster]:
    """``pytest-<pid>-<suffix>``, one kwok node, removed afterwards whatever happened."""
    cluster = LocalCluster(f"pytest-{os.getpid()}-{suffix}")
    cluster.up(toolchain, nodes=1, timeout=180, apiserver_flags=apiserver_flags)
    try:
        yield cluster
    finally:
        cluster.down()
