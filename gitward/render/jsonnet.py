"""Jsonnet in a directory source, evaluated as Argo CD evaluates it — by go-jsonnet, jailed.

Each ``*.jsonnet`` file the directory source selects (``.libsonnet`` files are
only imported) is evaluated by the ``jsonnet`` binary built from go-jsonnet,
the implementation Argo CD links. ``directory.jsonnet`` gives external
variables (``extVars``) and top-level arguments (``tlas``), each a string or,
with ``code: true``, Jsonnet code; their values get Argo CD's ``$ARGOCD_APP_*``
expansion. Imports resolve against the importing file, the application
directory and the ``libs`` paths (relative to the repository root, fenced into
it). The output is an object or a list of objects (``List`` kinds expanded).

The process runs like kustomize and helm: argv only (each value is the
argument of its flag, so it can never be read as a flag, and names holding
``=`` are refused by the spec parser), an empty environment, a deadline, and
the Landlock jail — it may read only the repository, so ``importstr
'/etc/passwd'`` fails. It runs in the repository root with repository-relative
paths, so an evaluation error names ``app/main.jsonnet:3:5``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gitward.model.source_spec import JsonnetSpec
from gitward.render.env import RenderEnv, envsubst
from gitward.render.errors import ManifestParseError, PathError
from gitward.render.jail import Jail
from gitward.render.manifests import check_object, expand
from gitward.render.paths import display, resolve_in_repo
from gitward.render.tools import RenderTools, checked, run_tool


def jsonnet_args(root: Path, app: Path, file: Path, spec: JsonnetSpec, env: RenderEnv) -> list[str]:
    """The ``jsonnet`` argument list for one file (paths relative to ``root``)."""
    variables = env.build_vars()
    field = "spec.source.directory.jsonnet"
    args: list[str] = []
    for kind, entries in (("ext", spec.ext_vars), ("tla", spec.tlas)):
        for i, var in enumerate(entries):
            what = f"{field}.{'extVars' if kind == 'ext' else 'tlas'}[{i}]"
            value = checked(envsubst(var.value, variables), what)
            args += [
                f"--{kind}-{'code' if var.code else 'str'}",
                f"{checked(var.name, what)}={value}",
            ]
    args += ["--jpath", display(root, app)]
    for i, lib in enumerate(spec.libs):
        path = resolve_in_repo(root, root, lib, f"{field}.libs[{i}]")
        if not path.is_dir():
            raise PathError(
                f"{field}.libs[{i}] {lib!r}: {display(root, path)} is not a directory", lib
            )
        args += ["--jpath", display(root, path)]
    return [*args, "--", display(root, file)]


def parse_output(text: str, origin: str) -> list[dict[str, Any]]:
    """Objects from jsonnet's JSON output: one object, or a list of them."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestParseError(origin, f"output is not JSON: {exc.msg}") from None
    items = data if isinstance(data, list) else [data]
    out: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        check_object(item, origin, None, index if isinstance(data, list) else None)
        out.extend(expand(item, origin, None))
    return out


async def render_jsonnet_file(
    root: Path,
    app: Path,
    file: Path,
    spec: JsonnetSpec,
    env: RenderEnv,
    tools: RenderTools,
    tmp: Path,
    proc_env: dict[str, str],
) -> list[dict[str, Any]]:
    """The objects one ``.jsonnet`` file evaluates to."""
    shown = display(root, file)
    args = jsonnet_args(root, app, file, spec, env)
    text = await run_tool(
        tools,
        "jsonnet",
        args,
        env=proc_env,
        cwd=root,
        context=shown,
        display=f"jsonnet {shown}",
        jail=Jail(read=(root,), write=(tmp,)),
    )
    return parse_output(text, shown)
