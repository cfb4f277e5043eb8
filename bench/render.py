"""Benchmark: the repo server's render path, cold versus answered from its caches.

Run as ``.venv/bin/python -m bench.render``. Builds a throw-away git repository
with a 1,000-manifest directory, a Kustomize overlay, a Helm chart and a Jsonnet
directory, and an HTTPS Helm chart repository on loopback (basic auth, its own
CA; the test suite's), then times :meth:`ManifestService.generate` three ways
for each, and for a chart from that repository and a multi-source app (the
chart plus its values from a Git ``ref`` plus a directory):

- cold: an empty repository, chart and manifest cache (ls-remote, fetch, export,
  index and chart download, render);
- warm git: mirror, tree and chart on disk, manifest cache empty (ls-remote or
  index revalidation, render);
- hit: the manifest cache answers (no git within the ref TTL, no tools).

The machine is shared and noisy, so each figure is a median of several runs
and the headline is a ratio measured in the same run. It also counts the git
traffic of re-resolving an unchanged repository after the ref TTL: one
ls-remote, no fetch, no export. Prints a Markdown table and writes
``bench/results/render.json``.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.common import git, write
from gitward import localkube
from gitward.model.application import Application, parse_application
from gitward.render import RenderTools
from gitward.reposerver import ManifestService
from gitward.source import CredentialStore, GitSource, RepoCredentials
from gitward.source.helmrepo import HelmRepos
from gitward.source.http import TLSCerts
from tests.support.chartrepo import ChartRepo, write_chart

MANIFESTS = 1000
COLD_RUNS = 3
HIT_RUNS = 20


def manifest(i: int) -> str:
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:04d}\n"
        f"  labels:\n    app: bench\n    index: '{i}'\n"
        f"data:\n  key: value-{i}\n  other: |\n    line one\n    line two\n"
    )


def make_repo(root: Path) -> Path:
    files: dict[str, str] = {f"many/cm-{i:04d}.yaml": manifest(i) for i in range(MANIFESTS)}
    files.update(
        {
            "kustomize/base/kustomization.yaml": "resources:\n"
            + "".join(f"- cm-{i}.yaml\n" for i in range(20)),
            **{f"kustomize/base/cm-{i}.yaml": manifest(i) for i in range(20)},
            "kustomize/overlays/prod/kustomization.yaml": (
                "resources:\n- ../../base\nnamePrefix: prod-\nlabels:\n- pairs:\n    env: prod\n"
            ),
            "helm/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
            "helm/app/values.yaml": "count: 20\ncolour: grey\n",
            "helm/app/values-prod.yaml": "colour: red\n",
            "jsonnet/main.jsonnet": (
                "local count = std.parseInt(std.extVar('count'));\n"
                "function(colour) [\n"
                "  {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'js-%d' % i},\n"
                "   data: {colour: colour, env: std.extVar('env')}}\n"
                "  for i in std.range(0, count - 1)\n"
                "]\n"
            ),
            "values/prod/values.yaml": "greeting: from git\n",
            "helm/app/templates/cms.yaml": (
                "{{- range $i := until (int .Values.count) }}\n---\napiVersion: v1\n"
                "kind: ConfigMap\nmetadata:\n  name: {{ $.Release.Name }}-{{ $i }}\n"
                "data:\n  colour: {{ $.Values.colour | quote }}\n{{- end }}\n"
            ),
        }
    )
    repo = root / "repo"
    repo.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=repo)
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "-m", "bench", cwd=repo)
    return repo


def application(url: str, name: str, path: str, extra: dict[str, Any] | None = None) -> Application:
    source = {"repoURL": url, "path": path, "targetRevision": "main", **(extra or {})}
    return parse_application(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name},
            "spec": {
                "source": source,
                "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
            },
        },
        f"bench {name}",
    )


def tools() -> RenderTools:
    toolchain = localkube.find()
    if toolchain is None:
        return RenderTools.from_path()
    return RenderTools(
        kustomize=toolchain.binary("kustomize"),
        helm=toolchain.binary("helm"),
        jsonnet=toolchain.binary("jsonnet"),
    )


def multi_source(url: str, repo: ChartRepo) -> Application:
    return parse_application(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "multi"},
            "spec": {
                "sources": [
                    {
                        "repoURL": repo.url,
                        "chart": "web",
                        "targetRevision": "^1.0.0",
                        "helm": {"valueFiles": ["$values/values/prod/values.yaml"]},
                    },
                    {"repoURL": url, "targetRevision": "main", "ref": "values"},
                    {"repoURL": url, "targetRevision": "main", "path": "kustomize/base"},
                ],
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "m"},
            },
        },
        "bench multi",
    )


def chart_app(repo: ChartRepo) -> Application:
    return parse_application(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "repochart"},
            "spec": {
                "source": {"repoURL": repo.url, "chart": "web", "targetRevision": "^1.0.0"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "c"},
            },
        },
        "bench repochart",
    )


def chart_repo(work: Path, render_tools: RenderTools) -> ChartRepo:
    """An HTTPS chart repository with ``web`` 1.0.0 (20 ConfigMaps) packaged by helm."""
    if render_tools.helm is None:
        raise SystemExit("helm is needed: run make toolchain")
    repo = ChartRepo(work / "charts", render_tools.helm, "bench", "bench-password")
    template = (
        "{{- range $i := until 20 }}\n---\napiVersion: v1\nkind: ConfigMap\n"
        "metadata:\n  name: {{ $.Release.Name }}-{{ $i }}\n"
        "data:\n  greeting: {{ $.Values.greeting | quote }}\n{{- end }}\n"
    )
    chart = write_chart(
        work / "src", "web", "1.0.0", {"cms.yaml": template}, values={"greeting": "hi"}
    )
    repo.publish(chart)
    return repo


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


def git_service(render_tools: RenderTools) -> Callable[[Path], ManifestService]:
    def make(cache: Path) -> ManifestService:
        return ManifestService(source=GitSource(cache, ref_ttl=60), tools=render_tools)

    return make


def repo_service(render_tools: RenderTools, repo: ChartRepo) -> Callable[[Path], ManifestService]:
    creds = CredentialStore()
    creds.add(RepoCredentials(url=repo.url, username=repo.username, password=repo.password))
    certs = TLSCerts({"127.0.0.1": repo.ca_pem})

    def make(cache: Path) -> ManifestService:
        return ManifestService(
            source=GitSource(cache / "git", ref_ttl=60),
            tools=render_tools,
            credentials=creds,
            helm_repos=HelmRepos(cache, index_ttl=60, certs=certs),
        )

    return make


async def scenario(
    name: str,
    app: Application,
    work: Path,
    render_tools: RenderTools,
    make_service: Callable[[Path], ManifestService] | None = None,
) -> dict[str, Any]:
    cold: list[float] = []
    warm_git: list[float] = []
    hits: list[float] = []
    objects = 0
    for run in range(COLD_RUNS):
        cache = work / f"cache-{name}-{run}"
        service = (make_service or git_service(render_tools))(cache)
        await render_tools.versions()  # asked once per process; not part of a render
        cold.append(await timed(lambda s=service: s.generate(app)))
        service.clear_cache()  # manifest cache and ref listing gone, mirror and tree kept
        warm_git.append(await timed(lambda s=service: s.generate(app)))
        for _ in range(HIT_RUNS // COLD_RUNS + 1):
            hits.append(await timed(lambda s=service: s.generate(app)))
        objects = len((await service.generate(app)).objects)
        shutil.rmtree(cache, ignore_errors=True)
    cold_s, warm_s, hit_s = (statistics.median(x) for x in (cold, warm_git, hits))
    return {
        "scenario": name,
        "objects": objects,
        "cold_s": round(cold_s, 4),
        "warm_git_s": round(warm_s, 4),
        "hit_s": round(hit_s, 6),
        "cold_over_hit": round(cold_s / hit_s, 1),
    }


async def git_traffic(app: Application, work: Path, render_tools: RenderTools) -> dict[str, Any]:
    """Re-resolve an unchanged repository after the ref TTL: what git work does it cost?"""
    now = [0.0]
    source = GitSource(work / "cache-traffic", ref_ttl=3.0, clock=lambda: now[0])
    service = ManifestService(source=source, tools=render_tools)
    await service.generate(app)
    url = app.source.repo_url if app.source else ""
    before = dict(vars(source.stats_for(url)))
    renders = service.stats.renders
    now[0] += 3.1  # past the TTL: the branch must be listed again
    again = await service.generate(app)
    after = vars(source.stats_for(url))
    return {
        "ls_remote": after["ls_remote"] - before["ls_remote"],
        "fetches": after["fetches"] - before["fetches"],
        "exports": after["exports"] - before["exports"],
        "renders": service.stats.renders - renders,
        "cached": again.cached,
    }


async def main() -> int:
    started = time.perf_counter()
    render_tools = tools()
    with tempfile.TemporaryDirectory(prefix="gitward-bench-render-") as tmp:
        work = Path(tmp)
        url = make_repo(work).as_uri()
        apps = {
            f"directory-{MANIFESTS}": application(url, "many", "many"),
            "kustomize-overlay": application(url, "kust", "kustomize/overlays/prod"),
            "helm-chart": application(
                url, "chart", "helm/app", {"helm": {"valueFiles": ["values-prod.yaml"]}}
            ),
            "jsonnet": application(
                url,
                "jsonnet",
                "jsonnet",
                {
                    "directory": {
                        "jsonnet": {
                            "extVars": [
                                {"name": "count", "value": "20"},
                                {"name": "env", "value": "$ARGOCD_APP_NAME"},
                            ],
                            "tlas": [{"name": "colour", "value": "red"}],
                        }
                    }
                },
            ),
        }
        rows = [await scenario(name, app, work, render_tools) for name, app in apps.items()]
        repo = chart_repo(work, render_tools)
        try:
            served = repo_service(render_tools, repo)
            rows.append(await scenario("chart-repo", chart_app(repo), work, render_tools, served))
            rows.append(
                await scenario("multi-source", multi_source(url, repo), work, render_tools, served)
            )
        finally:
            repo.stop()
        traffic = await git_traffic(apps[f"directory-{MANIFESTS}"], work, render_tools)
    versions = await render_tools.versions()
    print("| scenario | objects | cold (s) | warm git (s) | cache hit (s) | cold / hit |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['scenario']} | {r['objects']} | {r['cold_s']:.3f} | {r['warm_git_s']:.3f} "
            f"| {r['hit_s']:.4f} | {r['cold_over_hit']:.0f}x |"
        )
    print()
    print("| re-resolve unchanged repo after TTL | ls-remote | fetches | exports | renders |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| {'cache hit' if traffic['cached'] else 'MISS'} | {traffic['ls_remote']} "
        f"| {traffic['fetches']} | {traffic['exports']} | {traffic['renders']} |"
    )
    elapsed = time.perf_counter() - started
    print(f"\n{elapsed:.1f}s total; medians of {COLD_RUNS} cold and {HIT_RUNS}+ hit runs")
    write(
        "render",
        {
            "tools": versions,
            "scenarios": rows,
            "reresolve_unchanged": traffic,
            "seconds": round(elapsed, 1),
        },
        {"baseline": "each scenario's cold render (empty caches) in the same run"},
    )
    ok = traffic["ls_remote"] == 1 and traffic["fetches"] == 0 and traffic["cached"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
