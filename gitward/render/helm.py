"""Helm sources: ``helm template`` with Argo CD's arguments, and nothing from the network.

The argument list follows Argo CD's: release name (``releaseName`` or the app
name), ``--namespace`` (``helm.namespace`` or the destination namespace), value
files resolved against the chart directory (or the repository root for a
leading ``/``) and fenced into the repository, the inline ``values`` /
``valuesObject`` after them, ``--set`` / ``--set-string`` / ``--set-file`` with
``$VAR`` expansion and Argo CD's comma escaping, ``--include-crds`` unless
``skipCrds``, and the cluster's kube and API versions.

Dependencies vendored in ``charts/`` just work. Dependencies from chart
repositories are downloaded by the repo server (never by helm, which runs
without a network) and handed in as directories, which are put into a copy's
``charts/``. When only local ``file://`` dependencies are missing, gitward
runs ``helm dependency build --skip-refresh`` in a copy of the chart, never in
the tree.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from gitward._util.yamlload import load_one
from gitward.model.errors import RenderError
from gitward.model.source_spec import HelmSpec
from gitward.render.env import RenderEnv, envsubst
from gitward.render.errors import PathError, ToolFailed, UnsupportedSource
from gitward.render.jail import Jail
from gitward.render.paths import (
    check_symlinks,
    copy_tree,
    display,
    inside,
    resolve_in_repo,
)
from gitward.render.tools import RenderTools, operand, option, run_tool

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_REF = re.compile(r"^\$(\{[^}]*\}|[A-Za-z0-9_]+)")
_MISSING_DEPS = re.compile(r"missing in charts/ directory: (.+)")


#: Helm's own rule for release names (``helm template`` refuses others); 53 characters at most.
_RELEASE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_RELEASE_NAME_MAX = 53
#: An unescaped ``,`` or ``=`` in a ``--set`` name starts another assignment in Helm's syntax.
_SET_META = re.compile(r"(?<!\\)[,=]")
_HELM_LIST = re.compile(r"^\{[^{}]*\}$")


def clean_set_value(value: str) -> str:
    """Argo CD's escaping for ``--set``: commas become ``\\,`` unless already escaped.

    A value written as a Helm list (``{a,b}``) is passed unchanged.
    """
    if _HELM_LIST.match(value):
        return value
    out: list[str] = []
    previous = ""
    for ch in value:
        out.append("\\," if ch == "," and previous != "\\" else ch)
        previous = ch
    return "".join(out)


def release_name(raw: str, what: str) -> str:
    """A release name Helm accepts, or a :class:`RenderError` naming the field."""
    if len(raw) > _RELEASE_NAME_MAX or not _RELEASE_NAME.match(raw):
        raise RenderError(
            f"{what} {raw!r} is not a valid Helm release name (lower-case letters, digits, "
            f"'-' and '.', starting and ending with a letter or digit, at most "
            f"{_RELEASE_NAME_MAX} characters)"
        )
    return raw


def set_name(raw: str, what: str) -> str:
    """A ``--set``/``--set-file`` key; a ``,`` or ``=`` in it would smuggle in another entry."""
    if not raw or _SET_META.search(raw) or raw.startswith("-"):
        raise RenderError(
            f"{what} {raw!r} is not a Helm value name: it must be non-empty and hold no "
            "unescaped ',' or '=' (they would start another assignment)"
        )
    return raw


def _spec_file(
    root: Path,
    chart: Path,
    raw: str,
    variables: dict[str, str],
    what: str,
    refs: Mapping[str, Path] | None = None,
) -> Path:
    """A value or set-file path from the spec, expanded and fenced into its repository.

    ``$name/path`` names a file of the multi-source ``ref: name`` source, whose
    checked-out tree the caller passes in ``refs``; it is fenced into that tree.
    """
    ref = _REF.match(raw)
    if ref and ref.group(1).strip("{}") not in variables:
        name = ref.group(1).strip("{}")
        if refs is None or name not in refs:
            known = ", ".join(sorted(refs or {})) or "none"
            raise UnsupportedSource(
                f"{what} {raw!r} refers to source ${name}, which is not a ref source of this "
                f"application (ref sources: {known})"
            )
        rest = raw[ref.end() :].lstrip("/")
        return resolve_in_repo(refs[name], refs[name], rest, what)
    path = envsubst(raw, variables)
    if _URL.match(path):
        raise UnsupportedSource(
            f"{what} {path!r} is a URL; gitward reads value files from the repository only"
        )
    return resolve_in_repo(root, chart, path, what)


def template_args(
    root: Path,
    chart: Path,
    spec: HelmSpec,
    env: RenderEnv,
    values_file: Path | None,
    refs: Mapping[str, Path] | None = None,
) -> list[str]:
    """The ``helm template`` argument list (chart path as given).

    Every value that comes from the spec is glued to its flag (``--flag=value``)
    or checked by Helm's own rules before it lands in a positional place, so no
    spec field can become a flag (``releaseName: --post-renderer=sh``) or a second
    ``--set`` entry (``name: leak=/etc/passwd,x``).
    """
    variables = env.build_vars()
    field = "spec.source.helm"
    release = (
        release_name(spec.release_name, f"{field}.releaseName")
        if spec.release_name
        else release_name(env.app_short_name(), "the application name (Helm's release name)")
    )
    args = ["template", operand(release, f"{field}.releaseName"), operand(str(chart), "chart")]
    namespace = spec.namespace or env.app_namespace
    if namespace:
        args.append(option("namespace", namespace, f"{field}.namespace"))
    kube_version = spec.kube_version or env.kube_version
    if kube_version:
        args.append(option("kube-version", kube_version, f"{field}.kubeVersion"))
    for i, raw in enumerate(spec.value_files):
        path = _spec_file(root, chart, raw, variables, f"{field}.valueFiles[{i}]", refs)
        if not path.is_file():
            if spec.ignore_missing_value_files:
                continue
            raise PathError(
                f"{field}.valueFiles[{i}] {raw!r}: {display(root, path)} does not "
                "exist (set ignoreMissingValueFiles to skip missing files)",
                raw,
            )
        args.append(option("values", str(path)))
    if values_file is not None:
        args.append(option("values", str(values_file)))
    sets: dict[str, str] = {}
    set_strings: dict[str, str] = {}
    for i, p in enumerate(spec.parameters):
        name = set_name(p.name, f"{field}.parameters[{i}].name")
        (set_strings if p.force_string else sets)[name] = envsubst(p.value, variables)
    args += [option("set", f"{name}={clean_set_value(v)}") for name, v in sets.items()]
    args += [
        option("set-string", f"{name}={clean_set_value(v)}") for name, v in set_strings.items()
    ]
    for i, fp in enumerate(spec.file_parameters):
        name = set_name(fp.name, f"{field}.fileParameters[{i}].name")
        what = f"{field}.fileParameters[{i}].path"
        path = _spec_file(root, chart, fp.path, variables, what, refs)
        if not path.is_file():
            raise PathError(f"{what} {fp.path!r}: {display(root, path)} does not exist", fp.path)
        args.append(option("set-file", f"{name}={clean_set_value(str(path))}"))
    for i, version in enumerate(spec.api_versions or env.api_versions):
        args.append(option("api-versions", version, f"{field}.apiVersions[{i}]"))
    args.append("--skip-crds" if spec.skip_crds else "--include-crds")
    if spec.skip_schema_validation:
        args.append("--skip-schema-validation")
    if spec.skip_tests:
        args.append("--skip-tests")
    return args


def chart_dependencies(chart: Path) -> list[dict[str, Any]]:
    """Chart.yaml's dependencies that are neither vendored in ``charts/`` nor local.

    These are the ones gitward downloads (from an ``http(s)://`` or ``oci://``
    repository, or ``@name`` of a configured one) before ``helm template`` runs;
    each entry has at least ``name``, ``version`` and ``repository``.
    """
    vendored = chart / "charts"
    wanted = []
    for dep in _dependencies(chart):
        name, repo = str(dep.get("name") or ""), str(dep.get("repository") or "")
        if not name or not repo or repo.startswith("file://"):
            continue
        if (vendored / name).is_dir() or any(vendored.glob(f"{name}-*.tgz")):
            continue
        wanted.append({"name": name, "version": str(dep.get("version") or ""), "repository": repo})
    return wanted


def _dependencies(chart: Path) -> list[dict[str, Any]]:
    """The dependencies Chart.yaml (or a v1 chart's requirements.yaml) declares."""
    for name in ("Chart.yaml", "requirements.yaml"):
        path = chart / name
        if not path.is_file():
            continue
        try:
            data = load_one(path.read_text(encoding="utf-8"))
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
        str(d.get("name"))
        for d in deps
        if not str(d.get("repository", "")).startswith("file://")
        and not (chart / "charts" / str(d.get("name"))).is_dir()
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


def _copy_with_dependencies(chart: Path, dependencies: Mapping[str, Path], tmp: Path) -> Path:
    """A writable copy of ``chart`` under ``tmp`` with the downloaded charts in ``charts/``."""
    copy = tmp / "with-dependencies" / chart.name
    copy_tree(chart, copy)
    charts = copy / "charts"
    charts.mkdir(exist_ok=True)
    for name, path in dependencies.items():
        if not (charts / name).exists():
            copy_tree(path, charts / name)
    return copy


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
    dependencies: Mapping[str, Path] | None = None,
    refs: Mapping[str, Path] | None = None,
) -> str:
    """``helm template`` output for the chart directory ``chart``.

    ``dependencies`` are charts gitward downloaded for Chart.yaml entries from
    repositories (name to unpacked directory): the chart is copied and they
    are put into the copy's ``charts/``, so helm finds them without a network.
    """
    where = display(root, chart)
    spec = spec or HelmSpec()
    await asyncio.to_thread(check_symlinks, root, chart)
    tools.binary("helm")
    values_file = None
    inline = spec.values_yaml()
    names: dict[str, str] = {}
    if inline.strip():
        values_file = tmp / "inline-values.yaml"
        values_file.write_text(inline)
        field = "valuesObject" if spec.values_object is not None else "values"
        names[str(values_file)] = f"spec.source.helm.{field}"
    args = template_args(root, chart, spec, env, values_file, refs)
    shown = f"helm template {where}"
    jail = Jail(read=(root, *(refs or {}).values()), write=(tmp,))
    if dependencies:
        copy = await asyncio.to_thread(_copy_with_dependencies, chart, dependencies, tmp)
        args[2] = str(copy)
    try:
        return await run_tool(
            tools,
            "helm",
            args,
            env=proc_env,
            cwd=tmp,
            context=where,
            display=shown,
            jail=jail,
            names=names,
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
        jail=jail,
    )
    args[2] = str(copy)
    return await run_tool(
        tools,
        "helm",
        args,
        env=proc_env,
        cwd=tmp,
        context=where,
        display=shown,
        jail=jail,
        names=names,
    )
