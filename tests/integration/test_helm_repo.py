"""Charts from a real HTTPS Helm repository (helm package + helm repo index, basic auth, TLS)."""

from __future__ import annotations

import base64
import contextlib
import tarfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import yaml

from gitward.cluster import KubeClient, NotFound
from gitward.localkube import LocalCluster, Toolchain
from gitward.source import RepoCredentials
from gitward.source.helmrepo import HelmRepos
from gitward.source.http import TLSCerts
from tests.support.apps import app_json, create_app, unique
from tests.support.brief import gitward
from tests.support.chartrepo import ChartRepo, write_chart
from tests.support.git import GitRepo

USER, PASSWORD = "charts", "s3cret-chart-pass"
CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: NAME
data:
  chart: "{{ .Chart.Name }}-{{ .Chart.Version }}"
  greeting: {{ .Values.greeting | quote }}
"""


@pytest.fixture
def chart_repo(tmp_path: Path, toolchain: Toolchain) -> Iterator[ChartRepo]:
    repo = ChartRepo(tmp_path / "charts", toolchain.binary("helm"), USER, PASSWORD)
    yield repo
    repo.stop()


def _secret(name: str, data: dict[str, str]) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": "repository"},
        },
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


@pytest.fixture
async def trusted(installed: KubeClient, chart_repo: ChartRepo) -> AsyncIterator[KubeClient]:
    """The repository's Secret (type helm, basic auth) and its CA in argocd-tls-certs-cm."""
    name = unique("helm-repo")
    secret = _secret(
        name, {"type": "helm", "url": chart_repo.url, "username": USER, "password": PASSWORD}
    )
    await installed.apply(secret)
    certs = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-tls-certs-cm", "namespace": "argocd"},
        "data": {"127.0.0.1": chart_repo.ca_pem},
    }
    await installed.apply(certs, force=True)
    yield installed
    with contextlib.suppress(NotFound):
        await installed.delete("v1", "Secret", name, "argocd")
    with contextlib.suppress(NotFound):
        await installed.delete("v1", "ConfigMap", "argocd-tls-certs-cm", "argocd")


def _web(
    root: Path, version: str, greeting: str, dependencies: list[dict[str, str]] | None = None
) -> Path:
    values: dict[str, object] = {"greeting": greeting}
    if dependencies:
        values["lib"] = {"greeting": f"{greeting} (through web)"}
    return write_chart(
        root / version,
        "web",
        version,
        {"cm.yaml": CONFIGMAP.replace("NAME", "web")},
        values=values,
        dependencies=dependencies,
    )


def _publish_web(repo: ChartRepo, root: Path, version: str, greeting: str) -> None:
    repo.publish(_web(root, version, greeting))


def _publish_lib(repo: ChartRepo, root: Path, version: str) -> None:
    chart = write_chart(
        root / f"lib-{version}", "lib", version, {"cm.yaml": CONFIGMAP.replace("NAME", "lib")}
    )
    repo.publish(chart)


async def test_chart_at_a_semver_range_syncs_and_upgrades(
    trusted: KubeClient, cluster: LocalCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    kube = trusted
    src = tmp_path / "src"
    _publish_web(chart_repo, src, "1.0.0", "hello")
    _publish_web(chart_repo, src, "2.0.0-rc.1", "not me")  # a pre-release ^1 never picks
    name, ns = unique("chart"), unique("chart")
    created = gitward(
        cluster.kubeconfig, "app", "create", name, "--repo", chart_repo.url,
        "--helm-chart", "web", "--revision", "^1.0.0", "--dest-namespace", ns,
        "--sync-option", "CreateNamespace=true",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    app = app_json(cluster.kubeconfig, name)
    assert app["status"]["sync"]["status"] == "OutOfSync", app["status"].get("conditions")
    assert app["status"]["sync"]["revision"] == "1.0.0"
    assert app["status"]["sourceType"] == "Helm"
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    web = await kube.get("v1", "ConfigMap", "web", ns)
    assert web["data"] == {"chart": "web-1.0.0", "greeting": "hello"}

    # Refreshing again downloads nothing new: charts are cached by digest; the index is
    # fetched by each CLI process.
    assert app_json(cluster.kubeconfig, name, "--refresh")["status"]["sync"]["status"] == "Synced"
    assert chart_repo.downloads("web-1.0.0.tgz") == 1

    # A new version inside the range is published: the app goes OutOfSync and upgrades.
    _publish_web(chart_repo, src, "1.1.0", "hello again")
    app = app_json(cluster.kubeconfig, name, "--refresh")
    assert app["status"]["sync"]["status"] == "OutOfSync"
    assert app["status"]["sync"]["revision"] == "1.1.0"
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    web = await kube.get("v1", "ConfigMap", "web", ns)
    assert web["data"] == {"chart": "web-1.1.0", "greeting": "hello again"}
    history = app_json(cluster.kubeconfig, name)["status"]["history"]
    assert [h["revision"] for h in history] == ["1.0.0", "1.1.0"]
    rolled = gitward(cluster.kubeconfig, "app", "rollback", name, "0")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    web = await kube.get("v1", "ConfigMap", "web", ns)
    assert web["data"]["chart"] == "web-1.0.0"


async def test_repository_chart_with_a_dependency_at_a_semver_range_upgrades(
    trusted: KubeClient, cluster: LocalCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    """A published chart whose Chart.yaml names a chart of the same repository.

    ``helm package`` refuses to package it without the dependency, so the publisher
    vendors it (``--dependency-update``, from this repository): what gitward downloads
    is web with lib inside, at the version the publisher's range picked.
    """
    kube = trusted
    src = tmp_path / "src"
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        _publish_lib(chart_repo, src, version)
    lib = [{"name": "lib", "version": "^1.0.0", "repository": chart_repo.url}]
    chart_repo.publish(_web(src, "1.0.0", "first", lib), dependency_update=True)
    with tarfile.open(chart_repo.charts / "web-1.0.0.tgz") as tar:
        vendored = tar.extractfile("web/charts/lib/Chart.yaml")
        assert vendored is not None
        assert yaml.safe_load(vendored)["version"] == "1.1.0"
    name, ns = unique("chartdep"), unique("chartdep")
    created = gitward(
        cluster.kubeconfig, "app", "create", name, "--repo", chart_repo.url,
        "--helm-chart", "web", "--revision", "~1", "--dest-namespace", ns,
        "--sync-option", "CreateNamespace=true",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    status = app_json(cluster.kubeconfig, name)["status"]
    assert status["sync"]["revision"] == "1.0.0", status.get("conditions")
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    web = await kube.get("v1", "ConfigMap", "web", ns)
    assert web["data"] == {"chart": "web-1.0.0", "greeting": "first"}
    dep = await kube.get("v1", "ConfigMap", "lib", ns)
    assert dep["data"] == {"chart": "lib-1.1.0", "greeting": "first (through web)"}

    # A new lib, and a new web packaged against it inside the app's range: both arrive.
    _publish_lib(chart_repo, src, "1.2.0")
    chart_repo.publish(_web(src, "1.1.0", "second", lib), dependency_update=True)
    status = app_json(cluster.kubeconfig, name, "--refresh")["status"]
    assert status["sync"]["status"] == "OutOfSync"
    assert status["sync"]["revision"] == "1.1.0"
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    web = await kube.get("v1", "ConfigMap", "web", ns)
    assert web["data"] == {"chart": "web-1.1.0", "greeting": "second"}
    dep = await kube.get("v1", "ConfigMap", "lib", ns)
    assert dep["data"] == {"chart": "lib-1.2.0", "greeting": "second (through web)"}
    status = app_json(cluster.kubeconfig, name)["status"]
    assert status["sync"]["status"] == "Synced"
    assert [h["revision"] for h in status["history"]] == ["1.0.0", "1.1.0"]


async def test_git_chart_with_a_dependency_from_the_repository(
    trusted: KubeClient,
    cluster: LocalCluster,
    chart_repo: ChartRepo,
    tmp_path: Path,
    git_repo: Callable[[str], GitRepo],
) -> None:
    """Argo CD's helm-dependency style: Chart.yaml in Git names a chart in a repository."""
    kube = trusted
    _publish_lib(chart_repo, tmp_path / "src", "1.0.0")
    _publish_lib(chart_repo, tmp_path / "src", "1.2.0")
    _publish_lib(chart_repo, tmp_path / "src", "2.0.0")
    repo = git_repo("umbrella")
    chart = {
        "apiVersion": "v2",
        "name": "umbrella",
        "version": "0.1.0",
        "dependencies": [{"name": "lib", "version": "~1.0 || ^1.1", "repository": chart_repo.url}],
    }
    repo.commit(
        {
            "umbrella/Chart.yaml": yaml.safe_dump(chart),
            "umbrella/values.yaml": "lib:\n  greeting: from git\n",
            "umbrella/templates/cm.yaml": CONFIGMAP.replace("NAME", "umbrella"),
        }
    )
    name, ns = unique("umbrella"), unique("umbrella")
    create_app(
        cluster.kubeconfig, name, repo, "umbrella", ns, "--sync-option", "CreateNamespace=true"
    )
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    lib = await kube.get("v1", "ConfigMap", "lib", ns)
    assert lib["data"] == {"chart": "lib-1.2.0", "greeting": "from git"}
    umbrella = await kube.get("v1", "ConfigMap", "umbrella", ns)
    assert umbrella["data"]["chart"] == "umbrella-0.1.0"
    assert chart_repo.downloads("lib-1.2.0.tgz") == 1
    assert chart_repo.downloads("lib-2.0.0.tgz") == 0


async def test_refused_credentials_and_an_untrusted_server_are_clear_errors(
    installed: KubeClient, cluster: LocalCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    kube = installed
    _publish_lib(chart_repo, tmp_path / "src", "1.0.0")
    secret_name = unique("helm-bad")
    await kube.apply(
        _secret(secret_name, {"type": "helm", "url": chart_repo.url, "username": USER,
                              "password": "wrong-password-123", "insecure": "true"})
    )  # fmt: skip
    try:
        name = unique("badchart")
        created = gitward(
            cluster.kubeconfig, "app", "create", name, "--repo", chart_repo.url,
            "--helm-chart", "lib", "--revision", "1.0.0", "--dest-namespace", "default",
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        app = app_json(cluster.kubeconfig, name)
        assert app["status"]["sync"]["status"] == "Unknown"
        (condition,) = app["status"]["conditions"]
        assert "HTTP 401: credentials refused" in condition["message"]
        assert "wrong-password-123" not in str(app)
        # Without insecure and without the CA, TLS verification fails, naming the server.
        await kube.apply(
            _secret(secret_name, {"type": "helm", "url": chart_repo.url, "username": USER,
                                  "password": PASSWORD})
        )  # fmt: skip
        app = app_json(cluster.kubeconfig, name, "--refresh")
        (condition,) = app["status"]["conditions"]
        assert (
            "CERTIFICATE_VERIFY_FAILED" in condition["message"]
            or "certificate" in condition["message"]
        )
        assert chart_repo.url.split("//")[1].split("/")[0] in condition["message"]
    finally:
        await kube.delete("v1", "Secret", secret_name, "argocd")


async def test_two_sources_chart_from_the_repository_and_values_from_git(
    trusted: KubeClient,
    cluster: LocalCluster,
    chart_repo: ChartRepo,
    tmp_path: Path,
    git_repo: Callable[[str], GitRepo],
) -> None:
    """Argo CD's multi-source pattern: a chart plus a ``ref`` source holding its values."""
    kube = trusted
    _publish_web(chart_repo, tmp_path / "src", "1.0.0", "from the chart")
    values = git_repo("values")
    first = values.commit(
        {
            "envs/prod/values.yaml": "greeting: from git\n",
            "extra/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
        }
    )
    name, ns = unique("multi"), unique("multi")
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "sources": [
                {
                    "repoURL": chart_repo.url,
                    "chart": "web",
                    "targetRevision": "1.*",
                    "helm": {"valueFiles": ["$values/envs/prod/values.yaml"]},
                },
                {"repoURL": values.url, "targetRevision": "main", "ref": "values"},
                {"repoURL": values.url, "targetRevision": "main", "path": "extra"},
            ],
            "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
            "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
        },
    }
    manifest = tmp_path / "app.yaml"
    manifest.write_text(yaml.safe_dump(app))
    created = gitward(cluster.kubeconfig, "app", "create", "-f", str(manifest))
    assert created.returncode == 0, created.stderr
    status = app_json(cluster.kubeconfig, name)["status"]
    assert status["sync"]["revisions"] == ["1.0.0", first, first], status.get("conditions")
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    web = await kube.get("v1", "ConfigMap", "web", ns)
    assert web["data"] == {"chart": "web-1.0.0", "greeting": "from git"}
    await kube.get("v1", "ConfigMap", "extra", ns)

    only_chart = gitward(cluster.kubeconfig, "app", "manifests", name, "--source-position", "1")
    assert only_chart.returncode == 0, only_chart.stderr
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(only_chart.stdout)] == ["web"]

    # Changing the values in Git makes the app OutOfSync, at the new commit of the ref.
    second = values.commit({"envs/prod/values.yaml": "greeting: changed in git\n"})
    status = app_json(cluster.kubeconfig, name, "--refresh")["status"]
    assert status["sync"]["status"] == "OutOfSync"
    assert status["sync"]["revisions"] == ["1.0.0", second, second]
    diff = gitward(cluster.kubeconfig, "app", "diff", name, "--source-position", "1")
    assert diff.returncode == 1
    assert "changed in git" in diff.stdout
    _publish_web(chart_repo, tmp_path / "src", "1.1.0", "from the chart")
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    web = await kube.get("v1", "ConfigMap", "web", ns)
    assert web["data"] == {"chart": "web-1.1.0", "greeting": "changed in git"}

    status = app_json(cluster.kubeconfig, name)["status"]
    assert [h["revisions"] for h in status["history"]] == [
        ["1.0.0", first, first],
        ["1.1.0", second, second],
    ]
    assert status["operationState"]["syncResult"]["revisions"] == ["1.1.0", second, second]
    history_table = gitward(cluster.kubeconfig, "app", "history", name)
    assert "1.* (1.0.0)" in history_table.stdout
    assert f"main ({first[:7]})" in history_table.stdout

    # Rollback restores both: the old chart version and the old values commit.
    rolled = gitward(cluster.kubeconfig, "app", "rollback", name, "0")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    web = await kube.get("v1", "ConfigMap", "web", ns)
    assert web["data"] == {"chart": "web-1.0.0", "greeting": "from git"}
    status = app_json(cluster.kubeconfig, name)["status"]
    assert status["history"][-1]["revisions"] == ["1.0.0", first, first]


async def test_index_is_revalidated_with_its_etag_or_last_modified(
    chart_repo: ChartRepo, tmp_path: Path
) -> None:
    """Within the TTL no request; after it a conditional GET, answered 304 while unchanged."""
    _publish_web(chart_repo, tmp_path / "src", "1.0.0", "hello")
    now = [0.0]
    repos = HelmRepos(
        tmp_path / "cache",
        index_ttl=60.0,
        certs=TLSCerts({"127.0.0.1": chart_repo.ca_pem}),
        clock=lambda: now[0],
    )
    creds = RepoCredentials(url=chart_repo.url, username=USER, password=PASSWORD, type="helm")

    def index_requests() -> list[tuple[int, dict[str, str]]]:
        return [(code, sent) for path, code, sent in chart_repo.log if path.endswith("/index.yaml")]

    assert (await repos.resolve(chart_repo.url, "web", "^1", creds)).version == "1.0.0"
    assert (await repos.resolve(chart_repo.url, "web", "^1", creds)).version == "1.0.0"
    assert index_requests() == [(200, {})]  # the second resolve was inside the TTL

    now[0] += 61
    assert (await repos.resolve(chart_repo.url, "web", "^1", creds)).version == "1.0.0"
    first, (status, sent) = index_requests()
    assert first == (200, {})
    assert status == 304
    assert set(sent) == {"If-None-Match", "If-Modified-Since"}
    assert sent["If-None-Match"].startswith('"')
    assert repos.index_fetches == 2

    # A new version: the validators no longer match, the index is fetched and parsed again.
    _publish_web(chart_repo, tmp_path / "src", "1.1.0", "hello again")
    now[0] += 61
    assert (await repos.resolve(chart_repo.url, "web", "^1", creds)).version == "1.1.0"
    assert index_requests()[-1][0] == 200

    # A server that sends no ETag: Last-Modified alone makes the revalidation a 304.
    chart_repo.etags = False
    plain = HelmRepos(
        tmp_path / "cache",
        index_ttl=0.0,
        certs=TLSCerts({"127.0.0.1": chart_repo.ca_pem}),
    )
    assert (await plain.resolve(chart_repo.url, "web", "^1", creds)).version == "1.1.0"
    assert (await plain.resolve(chart_repo.url, "web", "^1", creds)).version == "1.1.0"
    (status, sent) = index_requests()[-1]
    assert status == 304
    assert list(sent) == ["If-Modified-Since"]


async def test_an_archive_that_does_not_match_the_index_digest_is_refused(
    trusted: KubeClient, cluster: LocalCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    greeting = unique("genuine")
    _publish_web(chart_repo, tmp_path / "src", "1.0.0", greeting)
    chart_repo.replace_archive(_web(tmp_path / "evil", "1.0.0", "tampered"))
    name, ns = unique("tampered"), unique("tampered")
    created = gitward(
        cluster.kubeconfig, "app", "create", name, "--repo", chart_repo.url,
        "--helm-chart", "web", "--revision", "1.0.0", "--dest-namespace", ns,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    status = app_json(cluster.kubeconfig, name)["status"]
    assert status["sync"]["status"] == "Unknown"
    (condition,) = status["conditions"]
    assert condition["type"] == "ComparisonError"
    assert f"chart web 1.0.0 from {chart_repo.url}/web-1.0.0.tgz: sha256 " in condition["message"]
    assert "does not match the index's digest" in condition["message"]
    # Nothing of the refused archive was kept: the next refresh downloads and refuses it again.
    before = chart_repo.downloads("web-1.0.0.tgz")
    assert before >= 1
    status = app_json(cluster.kubeconfig, name, "--refresh")["status"]
    assert "does not match the index's digest" in status["conditions"][0]["message"]
    assert chart_repo.downloads("web-1.0.0.tgz") > before
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode != 0
    with pytest.raises(NotFound):
        await trusted.get("v1", "Namespace", ns)
