"""Shared fixtures: a real local control plane, fresh namespaces, real git repos.

The session cluster is named ``pytest-<pid>`` and torn down at the end, so runs
never share state. Set ``GITWARD_TEST_CLUSTER=NAME`` to run against (and keep)
a cluster you already brought up with ``gitward localkube up --name NAME``,
which makes edit-test cycles fast (``GITWARD_TEST_CLUSTER_B`` for the second one).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from gitward import localkube
from gitward.cluster import KubeClient
from gitward.localkube import LocalCluster, Toolchain
from gitward.source.policy import LOCAL_REPOSITORIES_ENV
from tests.support.git import GitDaemon, GitRepo, SmartHttpServer
from tests.support.registry import Registry

#: Test repositories live under the temporary directory and many are reached by file://, so
#: this session (and every process it starts) allows local repositories there, as an
#: installation would with argocd-cm ``gitward.localRepositories``. Tests of the refusal
#: build their own policy.
os.environ.setdefault(LOCAL_REPOSITORIES_ENV, tempfile.gettempdir())
#: The CLI reads its login contexts from here: never the developer's own (a logged-in
#: context there would send every command of the suite to that server).
os.environ["GITWARD_CONFIG"] = os.path.join(tempfile.mkdtemp(prefix="gitward-config-"), "config")


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    """The Go-built binaries (built by ``make toolchain``; built here if missing)."""
    return localkube.ensure()


def _bring_up(name: str, toolchain: Toolchain, nodes: int = 3) -> LocalCluster:
    cluster = LocalCluster(name)
    cluster.up(toolchain, nodes=nodes, timeout=180)
    return cluster


@pytest.fixture(scope="session")
def cluster(toolchain: Toolchain) -> Iterator[LocalCluster]:
    """The session's local cluster with three Ready kwok nodes."""
    reuse = os.environ.get("GITWARD_TEST_CLUSTER")
    cluster = _bring_up(reuse or f"pytest-{os.getpid()}", toolchain)
    yield cluster
    if not reuse:
        cluster.down()


@pytest.fixture(scope="session")
def second_cluster(toolchain: Toolchain) -> Iterator[LocalCluster]:
    """Another, independent cluster (multi-cluster tests); started only when asked for.

    ``GITWARD_TEST_CLUSTER_B=NAME`` reuses (and keeps) one brought up by hand, as
    ``GITWARD_TEST_CLUSTER`` does for the first.
    """
    reuse = os.environ.get("GITWARD_TEST_CLUSTER_B")
    cluster = _bring_up(reuse or f"pytest-{os.getpid()}-b", toolchain, nodes=1)
    yield cluster
    if not reuse:
        cluster.down()


@pytest.fixture(scope="session")
def kubeconfig(cluster: LocalCluster) -> Path:
    return cluster.kubeconfig


@pytest.fixture(scope="session")
async def kube(cluster: LocalCluster) -> AsyncIterator[KubeClient]:
    """An async client to the session cluster, as cluster admin."""
    client = await KubeClient.from_kubeconfig(str(cluster.kubeconfig))
    yield client
    await client.close()


@pytest.fixture
async def namespace(kube: KubeClient) -> AsyncIterator[str]:
    """A fresh namespace for one test, deleted (in the background) afterwards."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    await kube.delete("v1", "Namespace", name, propagation="Background")


@pytest.fixture
def git_repo(tmp_path: Path) -> Callable[[str], GitRepo]:
    """Factory for real git repositories under the test's temporary directory."""

    def make(name: str = "repo") -> GitRepo:
        return GitRepo(tmp_path / "git" / name)

    return make


@pytest.fixture
def git_daemon(tmp_path: Path) -> Iterator[GitDaemon]:
    """``git daemon`` on 127.0.0.1 serving the repositories the factory makes."""
    base = tmp_path / "git"
    base.mkdir(exist_ok=True)
    daemon = GitDaemon(base)
    yield daemon
    daemon.stop()


@pytest.fixture
def git_http(tmp_path: Path) -> Iterator[Callable[[str | None], SmartHttpServer]]:
    """Factory for smart-HTTP git servers on 127.0.0.1, optionally requiring a token."""
    base = tmp_path / "git"
    base.mkdir(exist_ok=True)
    servers: list[SmartHttpServer] = []

    def make(token: str | None = None) -> SmartHttpServer:
        server = SmartHttpServer(base, token)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI, a skipped test fails the run: no suite may be skipped silently."""
    if not os.environ.get("CI"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and exitstatus == 0:
        session.exitstatus = 1
        if reporter:
            reporter.write_line(f"CI: {skipped} test(s) skipped; skips are failures in CI")


@pytest.fixture
def registry(toolchain: Toolchain, tmp_path: Path) -> Iterator[Registry]:
    """A real OCI registry with token auth on 127.0.0.1 (user ``ci``, password ``ci-password``)."""
    reg = Registry(toolchain, tmp_path / "registry")
    yield reg
    reg.stop()
