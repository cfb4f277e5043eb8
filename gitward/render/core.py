"""The entry points: which renderer a source needs, and rendering it to objects.

:func:`render` reads a checked-out tree and returns plain dicts. It touches no
git and no cluster, never writes into the tree (tools that write work in a
temporary copy), keeps no global state, and may run any number of times
concurrently. An empty result is returned as such: whether "no manifests" is
acceptable is the caller's decision (Argo CD's ``allowEmpty``).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gitward.model.plugins import PluginConfig
from gitward.model.source_spec import ApplicationSource, DirectorySpec, PluginSpec
from gitward.render.directory import load_file, manifest_files, render_directory
from gitward.render.env import RenderEnv
from gitward.render.errors import UnsupportedSource
from gitward.render.helm import render_helm
from gitward.render.jsonnet import render_jsonnet_file
from gitward.render.kustomize import KUSTOMIZATION_NAMES, render_kustomize
from gitward.render.manifests import parse_stream
from gitward.render.overrides import apply_overrides
from gitward.render.paths import display, resolve_app_dir, resolve_root
from gitward.render.plugin import render_plugin
from gitward.render.tools import RenderTools

#: Sent to tools as every proxy so that nothing they try to fetch leaves the machine.
_NOWHERE = "http://127.0.0.1:9"


def detect(app_dir: Path, source: ApplicationSource) -> str:
    """``"helm"``, ``"kustomize"``, ``"plugin"`` or ``"directory"``, decided as Argo CD decides.

    A source that sets options for one renderer gets that renderer whatever the
    files say. Otherwise a kustomization file wins over Chart.yaml, and a
    directory with neither is plain manifests.
    """
    explicit = source.explicit_type()
    if explicit is not None:
        return explicit
    if source.chart:
        return "helm"
    if any((app_dir / name).is_file() for name in KUSTOMIZATION_NAMES):
        return "kustomize"
    if (app_dir / "Chart.yaml").is_file():
        return "helm"
    return "directory"


def _tool_env(env: RenderEnv, home: Path) -> dict[str, str]:
    proc_env = env.process_env(str(home))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        proc_env[name] = _NOWHERE
    proc_env["NO_PROXY"] = proc_env["no_proxy"] = ""
    proc_env["GIT_ALLOW_PROTOCOL"] = "file"
    proc_env["GIT_TERMINAL_PROMPT"] = "0"
    proc_env["GIT_CONFIG_NOSYSTEM"] = "1"
    return proc_env


async def _render_with_jsonnet(
    root: Path,
    app: Path,
    spec: DirectorySpec,
    files: list[tuple[str, Path]],
    env: RenderEnv,
    tools: RenderTools,
) -> list[dict[str, Any]]:
    """A directory source holding Jsonnet: each file in order, jsonnet ones evaluated."""
    objects: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="gitward-render-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "home").mkdir()
        proc_env = _tool_env(env, tmp / "home")
        for rel, real in files:
            if rel.endswith(".jsonnet"):
                objects += await render_jsonnet_file(
                    root, app, app / rel, spec.jsonnet, env, tools, tmp, proc_env
                )
            else:
                objects += await asyncio.to_thread(load_file, real, display(root, app / rel))
    return objects


async def render(
    repo_root: Path,
    source: ApplicationSource,
    env: RenderEnv,
    tools: RenderTools,
    *,
    dependencies: Mapping[str, Path] | None = None,
    kind: str | None = None,
    refs: Mapping[str, Path] | None = None,
    plugins: Sequence[PluginConfig] = (),
) -> list[dict[str, Any]]:
    """The Kubernetes objects ``source`` describes in the tree at ``repo_root``.

    ``dependencies`` are Helm chart dependencies the caller downloaded (see
    :func:`~gitward.render.helm.chart_dependencies`); ``kind`` forces the renderer
    (a chart from a Helm repository is Helm whatever its files say); ``refs`` are the
    trees of a multi-source app's ``ref`` sources, for ``$name/...`` value files;
    ``plugins`` are the installation's config management plugins. A source
    with ``chart`` set must have been turned into a local chart by the caller.
    Raises a :class:`~gitward.model.errors.RenderError` subclass naming the
    file, line, field or command at fault.
    """
    if source.chart:
        raise UnsupportedSource(
            f"spec.source.chart {source.chart!r}: the chart must be downloaded (by the repo "
            "server) before it is rendered"
        )
    root = resolve_root(repo_root)
    app = resolve_app_dir(root, source.path)
    source = await asyncio.to_thread(apply_overrides, root, app, source, env.app_name)
    kind = kind or detect(app, source)
    if kind == "directory":
        spec = source.directory or DirectorySpec()
        files = await asyncio.to_thread(manifest_files, root, app, spec)
        if not any(rel.endswith(".jsonnet") for rel, _ in files):
            return await asyncio.to_thread(render_directory, root, app, spec)
        return await _render_with_jsonnet(root, app, spec, files, env, tools)
    with tempfile.TemporaryDirectory(prefix="gitward-render-") as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "home"
        home.mkdir()
        proc_env = _tool_env(env, home)
        if kind == "plugin":
            text, name = await render_plugin(
                root, app, source.plugin or PluginSpec(), plugins, env, tools, tmp, proc_env
            )
            origin = f"plugin {name} for {display(root, app)}"
        elif kind == "kustomize":
            origin = f"kustomize build {display(root, app)}"
            text = await render_kustomize(root, app, source.kustomize, env, tools, tmp, proc_env)
        else:
            origin = f"helm template {display(root, app)}"
            text = await render_helm(
                root, app, source.helm, env, tools, tmp, proc_env, dependencies, refs
            )
    return await asyncio.to_thread(parse_stream, text, origin)
