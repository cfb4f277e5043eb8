"""Helm sources: ``helm template`` with Argo CD's arguments, and nothing from the network.

The argument list follows Argo CD's: release name (``releaseName`` or the app
name), ``--namespace`` (``helm.namespace`` or the destination namespace), value
files resolved against the chart directory (or the repository root for a
leading ``/``) and fenced into the repository, the inline ``values`` /
``valuesObject`` after them, ``--set`` / ``--set-string`` / ``--set-file`` with
``$VAR`` expansion and Argo CD's comma escaping, ``--include-crds`` unless
``skipCrds``, and the cluster's kube and API versions.

Dependencies vendored in ``charts/`` just work. When Chart.yaml lists a
dependency that is missing there, Argo CD runs ``helm dependency build``;
gitward does that only when every dependency is a local ``file://`` chart (so
no download can happen) and only in a copy of the chart, never in the tree.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import yaml

from gitward.model.source_spec import HelmSpec
from gitward.render.env import RenderEnv, envsubst
from gitward.render.errors import PathError, ToolFailed, UnsupportedSource
from gitward.render.paths import (
    check_symlinks,
    copy_tree,
    display,
    inside,
    resolve_in_repo,
)
from gitward.render.tools import RenderTools, run_tool

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_REF = re.compile(r"^\$(\{[^}]*\}|[A-Za-z0-9_]+)")
_MISSING_DEPS = re.compile(r"missing in charts/ directory: (.+)")


def clean_set_value(value: str) -> str:
    """Argo CD's escaping for ``--set``: commas become ``\\,`` unless already escaped.

    A value written as a Helm list (``{a,b}``) is passed unchanged.
    """
    if value.startswith("{") and value.endswith("}"):
        return value
    out: list[str] = []
    previous = ""
    for ch in value:
        out.append("\\," if ch == "," and previous != "\\" else ch)
        previous = ch
    return "".join(out)


def _spec_file(root: Path, chart: Path, raw: str, variables: dict[str, str], what: str) -> Path:
    """A value or set-file path from the spec, expanded and fenced into the repository."""
    ref = _REF.match(raw)
    if ref and ref.group(1).strip("{}") not in variables:
        raise UnsupportedSource(
            f"{what} {raw!r} refers to another source ({ref.group(0)}); multi-source "
            "references must be resolved to a path by the caller before rendering"
        )
    path = envsubst(raw, variables)
    if _URL.match(path):
        raise UnsupportedSource(
            f"{what} {path!r} is a URL; gitward reads value files from the repository only"
        )
    return resolve_in_repo(root, chart, path, what)


def template_args(
    root: Path, chart: Path, spec: HelmSpec, env: RenderEnv, values_file: Path | None
) -> list[str]:
    """The ``helm template`` argument list (chart path as given)."""
    variables = env.build_vars()
    release = spec.release_name or env.app_short_name()
    args = ["template", release, str(chart)]
    namespace = spec.namespace or env.app_namespace
    if namespace:
        args += ["--namespace", namespace]
    kube_version = spec.kube_version or env.kube_version
    if kube_version:
        args += ["--kube-version", kube_version]
    for i, raw in enumerate(spec.value_files):
        path = _spec_file(root, chart, raw, variables, f"spec.source.helm.valueFiles[{i}]")
        if not path.is_file():
            if spec.ignore_missing_value_files:
                continue
            raise PathError(
                f"spec.source.helm.valueFiles[{i}] {raw!r}: {display(root, path)} does not "
                "exist (set ignoreMissingValueFiles to skip missing files)",
                raw,
            )
        args += ["--values", str(path)]
    if values_file is not None:
        args += ["--values", str(values_file)]
    sets: dict[str, str] = {}
    set_strings: dict[str, str] = {}
    for p in spec.parameters:
        (set_strings if p.force_string else sets)[p.name] = envsubst(p.value, variables)
    args += [a for name, v in sets.items() for a in ("--set", f"{name}={clean_set_value(v)}")]
    args += [
        a
        for name, v in set_strings.items()
        for a in ("--set-string", f"{name}={clean_set_value(v)}")
    ]
    for i, fp in enumerate(spec.file_parameters):
        what = f"spec.source.helm.fileParameters[{i}].path"
        path = _spec_file(root, chart, fp.path, variables, what)
        if not path.is_file():
            raise PathError(f"{what} {fp.path!r}: {display(root, path)} does not exist", fp.path)
        args += ["--set-file", f"{fp.name}={clean_set_value(str(path))}"]
    for version in spec.api_versions or env.api_versions:
        args += ["--api-versions", version]
    args.append("--skip-crds" if spec.skip_crds else "--include-crds")
    if spec.skip_schema_validation:
        args.append("--skip-schema-validation")
    if spec.skip_tests:
        args.append("--skip-tests")
    return args


def _dependencies(chart: Path) -> list[dict[str, Any]]:
    """The dependencies Chart.yaml (or a v1 chart's requirements.yaml) declares."""
    for name in ("Chart.yaml", "requirements.yaml"):
        path = chart / name
        if not path.is_file():
            continue
        try:
            data = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        deps = data.get("dependencies") if isinstance(data, dict) else None
        if isinstance(deps, list) and deps:
            return [d for d in deps if isinstance(d, dict)]
    return []


def _plan_dependency_build(root: Path, chart: Path, stderr: str) -> list[Path]:
    """Check that the missing dependencies can be built offline; return the local chart dirs."""
    where = display(root, chart)
    match = _MISSING_DEPS.search(stderr)
    missing = [m.strip() for m in match.group(1).split(",")] if match else []
    deps = _dependencies(chart)
    by_name = {str(d.get("name")): d for d in deps}
    for name in missing:
        repo = str((by_name.get(name) or {}).get("repository") or "")
        if not repo.startswith("file://"):
            raise UnsupportedSource(
                f"{where}: chart dependency {name!r} ({repo or 'no repository'}) is not in "
                "charts/ and gitward does not download charts while rendering; run "
                "`helm dependency build` and commit the charts/ directory"
            )
    remote = [
        str(d.get("name")) for d in deps if not str(d.get("repository", "")).startswith("file://")
    ]
    if remote:
        raise UnsupportedSource(
            f"{where}: missing local dependencies {', '.join(missing)} cannot be built "
            f"without also downloading {', '.join(remote)}; run `helm dependency build` "
            "and commit the charts/ directory"
        )
    local: list[Path] = []
    for dep in deps:
        raw = str(dep["repository"])[len("file://") :]
        path = resolve_in_repo(
            root, chart, raw, f"{where}/Chart.yaml dependency {dep.get('name')!r}"
        )
        if not path.is_dir():
            raise PathError(
                f"{where}/Chart.yaml: dependency {dep.get('name')!r} points at "
                f"{display(root, path)}, which is not a directory",
                raw,
            )
        check_symlinks(root, path)
        local.append(path)
    return local


def _copy_for_build(root: Path, chart: Path, deps: list[Path], dest: Path) -> Path:
    """Copy the chart and its local dependencies to ``dest``, at their repository paths."""
    for path in [chart, *deps]:
        if path != chart and inside(chart, path):
            continue
        copy_tree(path, dest / path.relative_to(root))
    return dest / chart.relative_to(root)


async def render_helm(
    root: Path,
    chart: Path,
    spec: HelmSpec | None,
    env: RenderEnv,
    tools: RenderTools,
    tmp: Path,
    proc_env: dict[str, str],
) -> str:
    """``helm template`` output for the chart directory ``chart``."""
    where = display(root, chart)
    spec = spec or HelmSpec()
    await asyncio.to_thread(check_symlinks, root, chart)
    tools.binary("helm")
    values_file = None
    inline = spec.values_yaml()
    if inline.strip():
        values_file = tmp / "inline-values.yaml"
        values_file.write_text(inline)
    args = template_args(root, chart, spec, env, values_file)
    shown = f"helm template {where}"
    try:
        return await run_tool(
            tools, "helm", args, env=proc_env, cwd=tmp, context=where, display=shown
        )
    except ToolFailed as exc:
        if "missing in charts/ directory" not in exc.stderr:
            raise
        local = _plan_dependency_build(root, chart, exc.stderr)
    copy = await asyncio.to_thread(_copy_for_build, root, chart, local, tmp / "chart")
    await run_tool(
        tools,
        "helm",
        ["dependency", "build", "--skip-refresh", str(copy)],
        env=proc_env,
        cwd=tmp,
        context=where,
        display=f"helm dependency build {where}",
    )
    args[2] = str(copy)
    return await run_tool(tools, "helm", args, env=proc_env, cwd=tmp, context=where, display=shown)
