"""ManifestService: resolve, check out, render, and a cache that does no work on a hit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitward.localkube import Toolchain
from gitward.model.application import Application, parse_application
from gitward.render import RenderTools
from gitward.reposerver import CacheKey, EmptyRender, ManifestCache, ManifestService
from gitward.source import GitSource, UnknownRevision
from tests.support.git import GitRepo

Obj = dict[str, Any]


def configmap(name: str, value: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  v: {value!r}\n"


#: One repository with every layout: plain manifests, Kustomize overlays, a Helm chart.
ENV_REPO_FILES: dict[str, str] = {
    "dev/cm.yaml": configmap("plain", "dev"),
    "dev/svc.yaml": (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n"
    ),
    "empty/README.md": "nothing to deploy here\n",
    "kustomize/base/kustomization.yaml": "resources:\n- cm.yaml\n",
    "kustomize/base/cm.yaml": configmap("settings", "base"),
    "kustomize/overlays/dev/kustomization.yaml": (
        "resources:\n- ../../base\nnamePrefix: dev-\nlabels:\n- pairs:\n    env: dev\n"
    ),
    "kustomize/overlays/prod/kustomization.yaml": (
        "resources:\n- ../../base\nnamePrefix: prod-\nlabels:\n- pairs:\n    env: prod\n"
    ),
    "helm/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    "helm/app/values.yaml": "replicas: 1\ncolour: grey\n",
    "helm/app/values-dev.yaml": "colour: green\n",
    "helm/app/values-prod.yaml": "replicas: 3\ncolour: red\n",
    "helm/app/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-colour\n"
        "  namespace: {{ .Release.Namespace }}\n"
        "data:\n  colour: {{ .Values.colour | quote }}\n"
        "  replicas: {{ .Values.replicas | quote }}\n"
    ),
}


def application(
    repo_url: str,
    path: str,
    *,
    name: str = "app",
    namespace: str = "default",
    revision: str = "HEAD",
    extra: dict[str, Any] | None = None,
) -> Application:
    source: dict[str, Any] = {"repoURL": repo_url, "path": path, "targetRevision": revision}
    source.update(extra or {})
    return parse_application(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {
                "source": source,
                "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            },
        },
        f"test application {name}",
    )


def names(objects: list[Obj]) -> list[str]:
    return sorted(f"{o['kind']}/{o['metadata']['name']}" for o in objects)


@pytest.fixture
def repo(git_repo: Callable[[str], GitRepo]) -> GitRepo:
    r = git_repo("envs")
    r.commit(ENV_REPO_FILES, "every layout")
    return r


@pytest.fixture
def tools(toolchain: Toolchain) -> RenderTools:
    return RenderTools(kustomize=toolchain.binary("kustomize"), helm=toolchain.binary("helm"))


@pytest.fixture
def clock() -> list[float]:
    return [1000.0]


@pytest.fixture
def service(tmp_path: Path, tools: RenderTools, clock: list[float]) -> ManifestService:
    source = GitSource(tmp_path / "cache", clock=lambda: clock[0])
    return ManifestService(source=source, tools=tools)


@pytest.fixture
def subprocesses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every program started from here on (each is still really run)."""
    started: list[str] = []
    real = asyncio.create_subprocess_exec

    async def record(program: Any, *args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        started.append(Path(str(program)).name)
        return await real(program, *args, **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", record)
    return started


async def test_plain_directory_then_a_cache_hit_doing_no_work(
    repo: GitRepo, service: ManifestService, subprocesses: list[str]
) -> None:
    app = application(repo.url, "dev")
    first = await service.generate(app)
    assert first.revision == repo.head()
    assert (first.source_type, first.cached) == ("directory", False)
    assert names(first.objects) == ["ConfigMap/plain", "Service/web"]
    assert subprocesses  # ls-remote, fetch, export on the miss

    subprocesses.clear()
    second = await service.generate(app)
    assert second.cached
    assert second.objects == first.objects
    assert subprocesses == []  # within the ref TTL: no git, no tools at all
    stats = service.source.stats_for(repo.url)
    assert (stats.ls_remote, stats.fetches, stats.exports) == (1, 1, 1)
    assert (service.stats.hits, service.stats.renders) == (1, 1)


async def test_callers_may_mutate_what_they_get(repo: GitRepo, service: ManifestService) -> None:
    app = application(repo.url, "dev")
    first = await service.generate(app)
    first.objects[0]["metadata"]["labels"] = {"mutated": "yes"}
    first.objects.clear()
    again = await service.generate(app)
    assert again.cached
    assert names(again.objects) == ["ConfigMap/plain", "Service/web"]
    assert all("labels" not in o["metadata"] for o in again.objects)


async def test_kustomize_overlay_per_environment(repo: GitRepo, service: ManifestService) -> None:
    dev = await service.generate(application(repo.url, "kustomize/overlays/dev", name="dev"))
    prod = await service.generate(application(repo.url, "kustomize/overlays/prod", name="prod"))
    assert dev.source_type == prod.source_type == "kustomize"
    assert names(dev.objects) == ["ConfigMap/dev-settings"]
    assert names(prod.objects) == ["ConfigMap/prod-settings"]
    assert prod.objects[0]["metadata"]["labels"] == {"env": "prod"}
    assert service.source.stats_for(repo.url).fetches == 1  # one commit, fetched once


async def test_helm_values_file_per_environment(repo: GitRepo, service: ManifestService) -> None:
    def helm_app(env: str) -> Application:
        helm = {"helm": {"valueFiles": [f"values-{env}.yaml"]}}
        return application(repo.url, "helm/app", name=f"app-{env}", namespace=env, extra=helm)

    dev, prod = await asyncio.gather(
        service.generate(helm_app("dev")), service.generate(helm_app("prod"))
    )
    assert dev.source_type == "helm"
    assert dev.objects[0]["metadata"] == {"name": "app-dev-colour", "namespace": "dev"}
    assert dev.objects[0]["data"] == {"colour": "green", "replicas": "1"}
    assert prod.objects[0]["data"] == {"colour": "red", "replicas": "3"}
    assert service.stats.renders == 2


async def test_app_name_and_namespace_are_part_of_the_key(
    repo: GitRepo, service: ManifestService
) -> None:
    one = await service.generate(application(repo.url, "helm/app", name="one", namespace="a"))
    two = await service.generate(application(repo.url, "helm/app", name="two", namespace="a"))
    three = await service.generate(application(repo.url, "helm/app", name="one", namespace="b"))
    assert [one.cached, two.cached, three.cached] == [False, False, False]
    assert one.objects[0]["metadata"]["name"] == "one-colour"
    assert two.objects[0]["metadata"]["name"] == "two-colour"
    assert three.objects[0]["metadata"]["namespace"] == "b"
    assert (
        await service.generate(application(repo.url, "helm/app", name="one", namespace="a"))
    ).cached


async def test_many_apps_of_one_plain_directory_share_one_render(
    repo: GitRepo, service: ManifestService
) -> None:
    apps = [application(repo.url, "dev", name=f"app{i}", namespace=f"ns{i}") for i in range(20)]
    results = await asyncio.gather(*(service.generate(a) for a in apps))
    assert service.stats.renders == 1  # plain manifests see no build environment
    assert all(names(r.objects) == names(results[0].objects) for r in results)


async def test_branch_per_environment_and_revision_override(
    repo: GitRepo, service: ManifestService
) -> None:
    main = repo.head()
    for env in ("dev", "staging"):
        repo.branch(env, main)
        repo.checkout(env)
        repo.commit({"dev/cm.yaml": configmap("plain", env)}, f"{env} config")
    repo.checkout("main")
    for env in ("dev", "staging"):
        got = await service.generate(application(repo.url, "dev", revision=env))
        assert got.revision == repo.head(env)
        assert next(o for o in got.objects if o["kind"] == "ConfigMap")["data"] == {"v": env}
    override = await service.generate(application(repo.url, "dev", revision="dev"), "staging")
    assert override.revision == repo.head("staging")
    with pytest.raises(UnknownRevision, match="unknown revision 'nope'"):
        await service.generate(application(repo.url, "dev", revision="nope"))


async def test_moved_branch_renders_the_new_commit(
    repo: GitRepo, service: ManifestService, clock: list[float]
) -> None:
    app = application(repo.url, "dev", revision="main")
    before = await service.generate(app)
    repo.commit({"dev/extra.yaml": configmap("extra", "1")}, "add one")
    assert (await service.generate(app)).revision == before.revision  # within the TTL
    clock[0] += 10
    after = await service.generate(app)
    assert after.revision == repo.head()
    assert not after.cached
    assert "ConfigMap/extra" in names(after.objects)
    service.clear_cache()
    assert not (await service.generate(app)).cached


async def test_empty_render_is_refused_unless_allowed(
    repo: GitRepo, service: ManifestService
) -> None:
    app = application(repo.url, "empty", name="nothing")
    with pytest.raises(EmptyRender, match=r"application nothing: .*'empty'.*rendered no objects"):
        await service.generate(app)
    allowed = await service.generate(app, allow_empty=True)
    assert allowed.objects == []
    assert allowed.revision == repo.head()


async def test_concurrent_requests_share_one_render(
    repo: GitRepo, service: ManifestService
) -> None:
    apps = [application(repo.url, "kustomize/overlays/dev", name="same") for _ in range(8)]
    results = await asyncio.gather(*(service.generate(a) for a in apps))
    assert service.stats.renders == 1
    assert all(names(r.objects) == ["ConfigMap/dev-settings"] for r in results)
    results[0].objects.clear()
    assert results[1].objects  # each caller has its own list


def _key(n: int) -> CacheKey:
    return CacheKey("r", str(n), "p", "{}", "{}", "a", "ns", "HEAD", "r", "", ())


def test_manifest_cache_is_bounded_by_count_and_bytes() -> None:
    cache = ManifestCache(max_entries=3)
    for n in range(5):
        cache.put(_key(n), [{"n": n}], "directory")
    assert len(cache) == 3
    assert cache.get(_key(0)) is None
    assert cache.get(_key(2)) is not None  # now most recently used
    cache.put(_key(5), [{"n": 5}], "directory")
    assert cache.get(_key(3)) is None
    assert cache.get(_key(2)) is not None
    small = ManifestCache(max_entries=100, max_bytes=2000)
    for n in range(10):
        small.put(_key(n), [{"pad": "x" * 500}], "directory")
    assert small.size_bytes <= 2000
    assert 1 <= len(small) < 10


async def test_source_types_are_remembered_for_the_newest_commit_only(
    repo: GitRepo, service: ManifestService, clock: list[float]
) -> None:
    """A push a minute for months must not grow the source-type memo by one per commit."""
    app = application(repo.url, "dev", revision="main")
    for n in range(12):
        repo.commit({"dev/extra.yaml": configmap("extra", str(n))}, f"push {n}")
        clock[0] += 10  # past the ref TTL: the branch is listed again
        assert (await service.generate(app)).revision == repo.head()
    await service.generate(application(repo.url, "kustomize/overlays/dev", revision="main"))
    assert len(service._types) == 2  # one per (repository, path, options, app)
