"""OCI charts and OCI manifest artifacts from a real registry with token auth (distribution)."""

from __future__ import annotations

import base64
import contextlib
import io
import tarfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.cluster import KubeClient, NotFound
from gitward.localkube import LocalCluster, Toolchain
from tests.support.apps import app_json, create_app, unique
from tests.support.brief import gitward
from tests.support.chartrepo import write_chart
from tests.support.git import GitRepo
from tests.support.registry import Registry

USER, PASSWORD = "oci-user", "oci-pass-7f3k"
CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: web
data:
  chart: "{{ .Chart.Name }}-{{ .Chart.Version }}"
"""


@pytest.fixture
def registry(tmp_path: Path, toolchain: Toolchain) -> Iterator[Registry]:
    reg = Registry(toolchain, tmp_path / "registry", users={USER: PASSWORD}, tls=True)
    yield reg
    reg.stop()


def _secret(name: str, url: str, password: str) -> dict[str, Any]:
    data = {"type": "helm", "url": url, "username": USER, "password": password}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": "repo-creds"},
        },
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


async def _trust_ca(kube: KubeClient, registry: Registry) -> None:
    certs = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-tls-certs-cm", "namespace": "argocd"},
        "data": {"127.0.0.1": registry.ca_pem, "localhost": registry.ca_pem},
    }
    await kube.apply(certs, force=True)


@pytest.fixture
async def trusted(installed: KubeClient, registry: Registry) -> AsyncIterator[str]:
    """Registry credentials (a repo-creds template) and its CA; the Secret's name."""
    name = unique("oci-creds")
    await installed.apply(_secret(name, f"oci://{registry.host}", PASSWORD))
    await _trust_ca(installed, registry)
    yield name
    with contextlib.suppress(NotFound):
        await installed.delete("v1", "Secret", name, "argocd")
    with contextlib.suppress(NotFound):
        await installed.delete("v1", "ConfigMap", "argocd-tls-certs-cm", "argocd")


@pytest.fixture
async def enable_oci(installed: KubeClient, registry: Registry) -> AsyncIterator[str]:
    """Argo CD's other spelling: a helm repository Secret with ``enableOCI``, URL without oci://.

    No repo-creds template: every credential the registry sees comes from this Secret.
    Yields the repoURL (``host:port/charts``).
    """
    url = f"{registry.host}/charts"
    secret = _secret(unique("oci-enable"), url, PASSWORD)
    secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] = "repository"
    secret["data"]["enableOCI"] = base64.b64encode(b"true").decode()
    await installed.apply(secret)
    await _trust_ca(installed, registry)
    yield url
    with contextlib.suppress(NotFound):
        await installed.delete("v1", "Secret", secret["metadata"]["name"], "argocd")
    with contextlib.suppress(NotFound):
        await installed.delete("v1", "ConfigMap", "argocd-tls-certs-cm", "argocd")


def _publish(registry: Registry, root: Path, version: str, name: str = "web") -> None:
    template = CONFIGMAP.replace("name: web", f"name: {name}")
    chart = write_chart(root / f"{name}-{version}", name, version, {"cm.yaml": template})
    registry.push_chart(chart, "charts", user=USER)


def _create(kubeconfig: Path, tmp_path: Path, name: str, source: dict[str, Any], ns: str) -> None:
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": source,
            "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
            "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
        },
    }
    manifest = tmp_path / f"{name}.yaml"
    manifest.write_text(yaml.safe_dump(app))
    created = gitward(kubeconfig, "app", "create", "-f", str(manifest))
    assert created.returncode == 0, created.stderr


async def test_oci_chart_at_a_semver_range_syncs_and_upgrades(
    installed: KubeClient, cluster: LocalCluster, registry: Registry, trusted: str, tmp_path: Path
) -> None:
    kube = installed
    _publish(registry, tmp_path / "src", "1.0.0")
    name, ns = unique("ocichart"), unique("ocichart")
    source = {"repoURL": f"oci://{registry.host}/charts", "chart": "web", "targetRevision": "^1"}
    _create(cluster.kubeconfig, tmp_path, name, source, ns)
    status = app_json(cluster.kubeconfig, name)["status"]
    assert status["sync"]["revision"] == "1.0.0", status.get("conditions")
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert (await kube.get("v1", "ConfigMap", "web", ns))["data"]["chart"] == "web-1.0.0"
    # The client went through the registry's token service, with the Secret's credentials.
    assert (USER, "repository:charts/web:pull") in registry.token_requests

    _publish(registry, tmp_path / "src", "1.1.0")
    status = app_json(cluster.kubeconfig, name, "--refresh")["status"]
    assert status["sync"]["status"] == "OutOfSync"
    assert status["sync"]["revision"] == "1.1.0"
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert (await kube.get("v1", "ConfigMap", "web", ns))["data"]["chart"] == "web-1.1.0"


def _layer(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


async def test_oci_artifact_app_syncs_and_follows_its_tag(
    installed: KubeClient, cluster: LocalCluster, registry: Registry, trusted: str, tmp_path: Path
) -> None:
    kube = installed
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-oci\ndata:\n  v: '{v}'\n"
    first = registry.push_layer(
        _layer(tmp_path / "one.tar.gz", {"app/cm.yaml": cm.format(v=1), "README": "x"}),
        "manifests/guestbook",
        "prod",
        user=USER,
    )
    name, ns = unique("ociart"), unique("ociart")
    source = {
        "repoURL": f"oci://{registry.host}/manifests/guestbook",
        "targetRevision": "prod",
        "path": "app",
    }
    _create(cluster.kubeconfig, tmp_path, name, source, ns)
    status = app_json(cluster.kubeconfig, name)["status"]
    assert status["sync"]["revision"] == first, status.get("conditions")
    assert status["sourceType"] == "Directory"
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert (await kube.get("v1", "ConfigMap", "from-oci", ns))["data"] == {"v": "1"}

    second = registry.push_layer(
        _layer(tmp_path / "two.tar.gz", {"app/cm.yaml": cm.format(v=2)}),
        "manifests/guestbook",
        "prod",
        user=USER,
    )
    status = app_json(cluster.kubeconfig, name, "--refresh")["status"]
    assert status["sync"] == {**status["sync"], "status": "OutOfSync", "revision": second}
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert (await kube.get("v1", "ConfigMap", "from-oci", ns))["data"] == {"v": "2"}
    history = app_json(cluster.kubeconfig, name)["status"]["history"]
    assert [h["revision"] for h in history] == [first, second]
    # Rollback to a digest pins the old artifact, whatever the tag points at now.
    rolled = gitward(cluster.kubeconfig, "app", "rollback", name, "0")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert (await kube.get("v1", "ConfigMap", "from-oci", ns))["data"] == {"v": "1"}


async def test_refused_registry_credentials_are_a_clear_error(
    installed: KubeClient, cluster: LocalCluster, registry: Registry, trusted: str, tmp_path: Path
) -> None:
    kube = installed
    await kube.apply(_secret(trusted, f"oci://{registry.host}", "not-the-password-42"))
    name = unique("ocibad")
    source = {"repoURL": f"oci://{registry.host}/charts", "chart": "web", "targetRevision": "1.0.0"}
    _create(cluster.kubeconfig, tmp_path, name, source, "default")
    status = app_json(cluster.kubeconfig, name)["status"]
    assert status["sync"]["status"] == "Unknown"
    (condition,) = status["conditions"]
    assert "the token service refused the credentials (HTTP 401)" in condition["message"]
    assert "not-the-password-42" not in str(status)


async def test_enable_oci_repository_secret_and_an_oci_dependency(
    installed: KubeClient,
    cluster: LocalCluster,
    registry: Registry,
    enable_oci: str,
    tmp_path: Path,
    git_repo: Callable[[str], GitRepo],
) -> None:
    kube = installed
    _publish(registry, tmp_path / "src", "1.0.0")
    name, ns = unique("enableoci"), unique("enableoci")
    source = {"repoURL": enable_oci, "chart": "web", "targetRevision": "^1"}
    _create(cluster.kubeconfig, tmp_path, name, source, ns)
    status = app_json(cluster.kubeconfig, name)["status"]
    assert status["sync"]["revision"] == "1.0.0", status.get("conditions")
    assert status["sourceType"] == "Helm"
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert (await kube.get("v1", "ConfigMap", "web", ns))["data"]["chart"] == "web-1.0.0"
    assert (USER, "repository:charts/web:pull") in registry.token_requests

    # A chart in Git whose Chart.yaml names oci://host/charts: the same Secret's credentials.
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        _publish(registry, tmp_path / "src", version, name="lib")
    repo = git_repo("umbrella")
    chart = {
        "apiVersion": "v2",
        "name": "umbrella",
        "version": "0.1.0",
        "dependencies": [
            {"name": "lib", "version": "^1.0.0", "repository": f"oci://{registry.host}/charts"}
        ],
    }
    repo.commit({"umbrella/Chart.yaml": yaml.safe_dump(chart), "umbrella/values.yaml": "{}\n"})
    umbrella, uns = unique("ociumbrella"), unique("ociumbrella")
    create_app(
        cluster.kubeconfig, umbrella, repo, "umbrella", uns, "--sync-option", "CreateNamespace=true"
    )
    synced = gitward(cluster.kubeconfig, "app", "sync", umbrella)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert (await kube.get("v1", "ConfigMap", "lib", uns))["data"]["chart"] == "lib-1.1.0"
    assert (USER, "repository:charts/lib:pull") in registry.token_requests
    assert ("anonymous", "repository:charts/lib:pull") not in registry.token_requests
