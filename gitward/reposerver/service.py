"""An Application's source to manifests: resolve, check out, render — or answer from cache.

:class:`ManifestService` is the repo server of this process (one per process):
it owns a :class:`~gitward.source.GitSource` (refs, mirrors, trees) and a
:class:`~gitward.reposerver.cache.ManifestCache`. A cache hit costs at most the
TTL-cached ``ls-remote`` of the resolve and an unpickle: no fetch, no export,
no kustomize or helm. Concurrent requests for the same render share one; renders
of different Applications, even of one repository, run concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitward._util.hashing import digest_of
from gitward._util.lru import LatestVersions
from gitward._util.tasks import shared_task
from gitward.model.application import Application
from gitward.model.errors import ConfigError
from gitward.model.plugins import PluginConfig
from gitward.model.source_spec import ApplicationSource, normalise_path
from gitward.render import RenderEnv, RenderTools, detect, render
from gitward.render.helm import chart_dependencies
from gitward.render.overrides import app_file
from gitward.reposerver.cache import CacheKey, ManifestCache
from gitward.reposerver.errors import EmptyRender
from gitward.source import CredentialStore, GitSource, RepoCredentials, normalize_url
from gitward.source.helmrepo import ChartVersion, HelmRepos
from gitward.source.oci import OCIClient, is_oci

log = logging.getLogger("gitward.reposerver")

Obj = dict[str, Any]


@dataclass
class Manifests:
    """The objects an Application's source renders to at one commit.

    ``revision`` is the full SHA (of the first source, for a multi-source app;
    ``revisions`` has one per rendered source). ``cached`` is True only when
    every source was answered from the cache.
    """

    revision: str
    objects: list[Obj]
    source_type: str
    cached: bool
    revisions: tuple[str, ...] = ()


@dataclass
class ManifestStats:
    hits: int = 0
    misses: int = 0
    renders: int = 0


@dataclass(frozen=True)
class _Rendered:
    objects: list[Obj]
    source_type: str
    cached: bool


def _uses_refs(source: ApplicationSource) -> bool:
    """Whether the source's output depends on ref sources (``$name/...`` value files)."""
    helm = source.helm
    if helm is None:
        return False
    paths = [*helm.value_files, *(p.path for p in helm.file_parameters)]
    return any(p.startswith("$") for p in paths)


def _renderable(source: ApplicationSource) -> bool:
    """A multi-source entry with only ``ref`` set supplies values files, not manifests."""
    return not (source.ref and not source.path and not source.chart)


@dataclass
class ManifestService:
    """Generates (and caches) the manifests of Applications; safe for many concurrent tasks."""

    source: GitSource = field(default_factory=GitSource)
    tools: RenderTools = field(default_factory=RenderTools.from_path)
    credentials: CredentialStore | None = None
    helm_repos: HelmRepos = field(default_factory=HelmRepos)
    oci: OCIClient = field(default_factory=OCIClient)
    #: The installation's config management plugins (argocd-cm).
    plugins: tuple[PluginConfig, ...] = ()
    cache_size: int = 256
    kube_version: str | None = None
    api_versions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.cache = ManifestCache(self.cache_size)
        self.stats = ManifestStats()
        self._inflight: dict[CacheKey, asyncio.Task[_Rendered]] = {}
        #: Source types by (repo, path, options, app), for the newest commit asked about.
        self._types: LatestVersions[tuple[str, str, str, str], str] = LatestVersions(10_000)
        self._tools_key: str | None = None

    def clear_cache(self) -> None:
        """Forget every render and every ref listing (a hard refresh)."""
        self.cache.clear()
        self.source.forget_refs()
        self.helm_repos.forget_indexes()

    async def _tools_version_key(self) -> str:
        if self._tools_key is None:
            versions = await self.tools.versions()
            self._tools_key = json.dumps(versions, sort_keys=True)
        return self._tools_key

    def _creds(self, url: str, store: CredentialStore | None) -> RepoCredentials | None:
        store = store if store is not None else self.credentials
        return store.lookup(url) if store is not None else None

    async def generate(
        self,
        app: Application,
        revision: str | None = None,
        creds: CredentialStore | None = None,
        *,
        allow_empty: bool = False,
        revisions: Sequence[str] | None = None,
        positions: Sequence[int] | None = None,
    ) -> Manifests:
        """Render ``app``'s sources (default: at their ``targetRevision``).

        ``revision`` overrides a single-source app's revision; ``revisions`` gives
        one per entry of ``spec.sources`` (an empty one keeps that source's
        target). ``ref`` sources are checked out first and held while the others
        render, so ``$name/values.yaml`` value files read their tree.
        ``positions`` (1-based, ``--source-position``) renders only those sources.
        ``Manifests.revisions`` has one resolved revision per source, refs included.
        """
        all_sources = list(app.effective_sources)
        base = creds if creds is not None else self.credentials
        # Only the app's project's repositories (and unscoped ones) lend it credentials.
        creds = base.for_project(app.project) if base is not None else None
        if not any(_renderable(s) for s in all_sources):
            raise ConfigError(f"application {app.name}: no source to render")
        targets = self._targets(app, all_sources, revision, revisions)
        wanted = set(positions) if positions else set(range(1, len(all_sources) + 1))
        for position in positions or ():
            if not 1 <= position <= len(all_sources) or not _renderable(all_sources[position - 1]):
                raise ConfigError(
                    f"application {app.name}: --source-position {position}: no renderable "
                    f"source there (it has {len(all_sources)} sources)"
                )
        async with contextlib.AsyncExitStack() as stack:
            refs: dict[str, tuple[str, Path]] = {}
            resolved: dict[int, str] = {}
            for i, source in enumerate(all_sources):
                if not source.ref:
                    continue
                if source.chart:
                    raise ConfigError(
                        f"application {app.name}: spec.sources[{i}]: a ref source must be a "
                        "Git repository, not a chart"
                    )
                tree = await stack.enter_async_context(
                    self.source.checkout(
                        source.repo_url, targets[i], self._creds(source.repo_url, creds)
                    )
                )
                refs[source.ref] = (tree.sha, tree.path)
                resolved[i] = tree.sha
            order = [i for i, s in enumerate(all_sources) if _renderable(s) and i + 1 in wanted]
            parts = await asyncio.gather(
                *(
                    self._generate_one(app, all_sources[i], targets[i], creds, allow_empty, refs)
                    for i in order
                )
            )
        objects: list[Obj] = []
        for i, (sha, rendered) in zip(order, parts, strict=True):
            objects.extend(rendered.objects)
            resolved[i] = sha
        return Manifests(
            revision=parts[0][0],
            objects=objects,
            source_type=parts[0][1].source_type,
            cached=all(rendered.cached for _, rendered in parts),
            revisions=tuple(resolved.get(i, "") for i in range(len(all_sources))),
        )

    @staticmethod
    def _targets(
        app: Application,
        sources: list[ApplicationSource],
        revision: str | None,
        revisions: Sequence[str] | None,
    ) -> list[str]:
        if revisions:
            if len(revisions) != len(sources):
                raise ConfigError(
                    f"application {app.name}: {len(revisions)} revisions given for "
                    f"{len(sources)} sources"
                )
            return [r or s.target_revision for r, s in zip(revisions, sources, strict=True)]
        if revision:
            if len(sources) > 1:
                raise ConfigError(
                    f"application {app.name}: a revision override needs a single-source "
                    "application (give one revision per source)"
                )
            return [revision]
        return [s.target_revision for s in sources]

    async def _generate_one(
        self,
        app: Application,
        source: ApplicationSource,
        revision: str | None,
        store: CredentialStore | None,
        allow_empty: bool,
        refs: dict[str, tuple[str, Path]] | None = None,
    ) -> tuple[str, _Rendered]:
        url = source.repo_url
        creds = self._creds(url, store)
        target = revision or source.target_revision
        ref_paths = {name: path for name, (_, path) in (refs or {}).items()}
        options = source.options_key()
        if refs and _uses_refs(source):
            options += json.dumps({name: sha for name, (sha, _) in sorted(refs.items())})
        if source.plugin is not None:  # a changed plugin definition renders differently
            options += digest_of([repr(self.plugins)], 16)
        chart: ChartVersion | None = None
        oci = is_oci(url, creds)
        if source.chart and oci:
            version, digest = await self.oci.resolve_chart(url, source.chart, target, creds)
            chart = ChartVersion(source.chart, version, (), digest)
            sha = version
        elif source.chart:
            chart = await self.helm_repos.resolve(url, source.chart, target, creds)
            sha = chart.version
        elif oci:
            sha = await self.oci.resolve_artifact(url, target, creds)
        else:
            sha = await self.source.resolve(url, target, creds)
        env = RenderEnv(
            app_name=app.name,
            app_namespace=app.destination.namespace,
            revision=sha,
            repo_url=url,
            source_path=source.path,
            target_revision=target,
            kube_version=self.kube_version,
            api_versions=self.api_versions,
        )
        key = CacheKey(
            repo=normalize_url(url),
            sha=f"{source.chart}@{chart.version}#{chart.digest}" if chart else sha,
            path=source.chart if chart else normalise_path(source.path),
            options=options,
            tools=await self._tools_version_key(),
            app_name=app.name,
            namespace=app.destination.namespace,
            target_revision=target,
            repo_url=url,
            kube_version=self.kube_version or "",
            api_versions=self.api_versions,
        )
        shareable = not (
            source.directory
            and (source.directory.jsonnet.ext_vars or source.directory.jsonnet.tlas)
        )
        if (
            chart is None
            and not oci
            and shareable
            and await self._source_type(key, source, creds) == "directory"
        ):
            # Plain manifests see no build environment: every app of this path shares one render.
            key = dataclasses.replace(
                key, app_name="", namespace="", target_revision="", repo_url=""
            )
        rendered = await self._cached_or_render(key, source, env, creds, store, chart, ref_paths)
        if not rendered.objects and not allow_empty:
            raise EmptyRender(app.name, env.repo_url, source.path, sha)
        return sha, rendered

    async def _source_type(
        self, key: CacheKey, source: ApplicationSource, creds: RepoCredentials | None
    ) -> str:
        """The kind of source at this commit and path (directory, kustomize, helm), memoised.

        A plain directory renders once for every app reading it, unless this app has
        its own ``.argocd-source-<app>.yaml``.
        """
        where = (key.repo, key.path, key.options, key.app_name)
        found = self._types.get(where, key.sha)
        if found is None:
            async with self.source.checkout(key.repo_url, key.sha, creds) as tree:
                app_dir = tree.path / key.path
                found = detect(app_dir, source)
                if found == "directory" and (app_dir / app_file(key.app_name)).exists():
                    found = "directory, with the app's own overrides"  # not shared with others
            self._types.put(where, key.sha, found)
        return found

    async def _cached_or_render(
        self,
        key: CacheKey,
        source: ApplicationSource,
        env: RenderEnv,
        creds: RepoCredentials | None,
        store: CredentialStore | None = None,
        chart: ChartVersion | None = None,
        refs: dict[str, Path] | None = None,
    ) -> _Rendered:
        hit = self.cache.get(key)
        if hit is not None:
            self.stats.hits += 1
            return _Rendered(hit.objects, hit.source_type, True)
        self.stats.misses += 1
        task = self._inflight.get(key)
        if task is None:
            task = shared_task(self._render(key, source, env, creds, store, chart, refs))
            self._inflight[key] = task
            task.add_done_callback(lambda _t: self._inflight.pop(key, None))
            return await asyncio.shield(task)  # the starter owns the rendered list
        await asyncio.shield(task)
        copy = self.cache.get(key)  # joiners get private copies of the starter's result
        if copy is None:  # evicted at once (cache full of larger renders): render again
            return await self._render(key, source, env, creds, store, chart, refs)
        return _Rendered(copy.objects, copy.source_type, False)

    async def _render(
        self,
        key: CacheKey,
        source: ApplicationSource,
        env: RenderEnv,
        creds: RepoCredentials | None,
        store: CredentialStore | None = None,
        chart: ChartVersion | None = None,
        refs: dict[str, Path] | None = None,
    ) -> _Rendered:
        if chart is not None:
            objects = await self._render_chart(source, env, creds, store, chart, refs)
            source_type = "helm"
        elif is_oci(source.repo_url, creds):
            artifact = await self.oci.fetch_artifact(source.repo_url, key.sha, creds)
            self.stats.renders += 1
            app_path = artifact / key.path
            source_type = detect(app_path, source)
            deps = await self._dependencies(app_path, store) if source_type == "helm" else {}
            objects = await render(
                artifact,
                source,
                env,
                self.tools,
                dependencies=deps,
                refs=refs,
                plugins=self.plugins,
            )
        else:
            async with self.source.checkout(env.repo_url, key.sha, creds) as tree:
                self.stats.renders += 1
                app_dir = tree.path / key.path
                source_type = detect(app_dir, source)
                deps = await self._dependencies(app_dir, store) if source_type == "helm" else {}
                objects = await render(
                    tree.path,
                    source,
                    env,
                    self.tools,
                    dependencies=deps,
                    refs=refs,
                    plugins=self.plugins,
                )
        self.cache.put(key, objects, source_type)
        log.debug(
            "rendered %s %s at %s: %d objects", env.app_name, key.path, key.sha[:12], len(objects)
        )
        return _Rendered(objects, source_type, False)

    async def _render_chart(
        self,
        source: ApplicationSource,
        env: RenderEnv,
        creds: RepoCredentials | None,
        store: CredentialStore | None,
        chart: ChartVersion,
        refs: dict[str, Path] | None = None,
    ) -> list[Obj]:
        """Download (once) and render a chart from a Helm repository."""
        passing = bool(source.helm and source.helm.pass_credentials)
        if is_oci(source.repo_url, creds):
            chart_dir = await self.oci.fetch_chart(source.repo_url, chart.name, chart.digest, creds)
        else:
            chart_dir = await self.helm_repos.fetch(
                source.repo_url, chart, creds, pass_credentials=passing
            )
        self.stats.renders += 1
        deps = await self._dependencies(chart_dir, store)
        local = dataclasses.replace(source, chart="", path=chart_dir.name)
        return await render(
            chart_dir.parent, local, env, self.tools, dependencies=deps, kind="helm", refs=refs
        )

    async def _dependencies(
        self, chart_dir: Path, store: CredentialStore | None
    ) -> dict[str, Path]:
        """Chart.yaml dependencies from repositories, downloaded here (never by helm)."""
        wanted = await asyncio.to_thread(chart_dependencies, chart_dir)
        found: dict[str, Path] = {}
        for dep in wanted:
            repo = self._dependency_repo(dep["repository"], store)
            creds = self._dependency_creds(repo, store)
            if is_oci(repo, creds):
                _, digest = await self.oci.resolve_chart(repo, dep["name"], dep["version"], creds)
                found[dep["name"]] = await self.oci.fetch_chart(repo, dep["name"], digest, creds)
                continue
            version = await self.helm_repos.resolve(repo, dep["name"], dep["version"], creds)
            found[dep["name"]] = await self.helm_repos.fetch(repo, version, creds)
        return found

    def _dependency_creds(self, repo: str, store: CredentialStore | None) -> RepoCredentials | None:
        """Credentials for a dependency's repository.

        An ``oci://host/path`` dependency also takes those of an ``enableOCI`` repository
        at ``host/path``: Argo CD writes OCI Helm repositories without the scheme and
        matches dependencies to them with ``oci://`` trimmed.
        """
        creds = self._creds(repo, store)
        if creds is None and repo.startswith("oci://"):
            bare = self._creds(repo.removeprefix("oci://"), store)
            if bare is not None and bare.enable_oci:
                return bare
        return creds

    def _dependency_repo(self, repository: str, store: CredentialStore | None) -> str:
        """A dependency's repository URL; ``@name`` and ``alias:name`` name a configured one."""
        for prefix in ("@", "alias:"):
            if repository.startswith(prefix):
                name = repository[len(prefix) :]
                store = store if store is not None else self.credentials
                for creds in store.repositories.values() if store else ():
                    if creds.name == name:
                        return creds.url
                raise ConfigError(
                    f"chart dependency repository {repository!r}: no repository named {name!r} "
                    "is configured"
                )
        return repository
