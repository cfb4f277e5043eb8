"""Config management plugins: Argo CD's sidecar contract, run as jailed local processes.

A plugin (:class:`~gitward.model.plugins.PluginConfig`, defined by the
installation admin) is chosen by ``spec.source.plugin.name`` or, without a
name, by its ``discover`` rule (``fileName`` glob, ``find.glob``, or a
``find.command`` that prints something), checked against the application
directory. Its ``init`` and then ``generate`` commands run in a writable copy
of that directory (the rest of the repository reachable as in the original),
and ``generate``'s standard output is the manifests (YAML or JSON).

Exactly as kustomize and helm: an argv, never a shell gitward adds; an empty
environment but for what Argo CD gives a plugin — ``ARGOCD_APP_*``,
``ARGOCD_ENV_<name>`` for each ``plugin.env`` entry (``$VAR`` expanded),
``ARGOCD_APP_PARAMETERS`` (the parameters as JSON) and ``PARAM_<NAME>``
(``PARAM_<NAME>_<i>`` for arrays, ``PARAM_<NAME>_<KEY>`` for maps, names
upper-cased with other characters as ``_``) —; a deadline; and the Landlock
jail: the commands may read the repository, write only their temporary
directory, run only the system's programs and open no TCP connection.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from gitward.model.plugins import Command, PluginConfig
from gitward.model.source_spec import PluginSpec
from gitward.render.env import RenderEnv, envsubst
from gitward.render.errors import ToolMissing, UnsupportedSource
from gitward.render.jail import Jail
from gitward.render.paths import display, inside, make_mirror
from gitward.render.tools import RenderTools, checked, run_tool

_NOT_NAME = re.compile(r"[^A-Z0-9_]")


def parameter_env(spec: PluginSpec) -> dict[str, str]:
    """``ARGOCD_APP_PARAMETERS`` and the ``PARAM_*`` variables of the spec's parameters."""
    env = {"ARGOCD_APP_PARAMETERS": json.dumps([p.to_dict() for p in spec.parameters])}
    for p in spec.parameters:
        base = "PARAM_" + _NOT_NAME.sub("_", p.name.upper())
        if p.string is not None:
            env[base] = checked(p.string, f"plugin parameter {p.name}")
        for i, item in enumerate(p.array or ()):
            env[f"{base}_{i}"] = checked(item, f"plugin parameter {p.name}")
        for key, value in (p.map or {}).items():
            env[f"{base}_{_NOT_NAME.sub('_', key.upper())}"] = checked(
                value, f"plugin parameter {p.name}"
            )
    return env


def plugin_env(spec: PluginSpec, env: RenderEnv, base: dict[str, str]) -> dict[str, str]:
    """The whole environment of a plugin command."""
    variables = env.build_vars()
    out = dict(base)
    for name, value in spec.env:
        out[f"ARGOCD_ENV_{name}"] = checked(envsubst(value, variables), f"plugin env {name}")
    out.update(parameter_env(spec))
    return out


def _program(command: Command, env: dict[str, str], plugin: str) -> tuple[Path, list[str]]:
    first, *rest = command.argv
    found = first if "/" in first else shutil.which(first, path=env.get("PATH"))
    if not found:
        raise ToolMissing(f"plugin {plugin}", f"its command {first!r} is not on PATH")
    return Path(found), rest


async def _discovers(plugin: PluginConfig, app: Path, env: dict[str, str], run: _Runner) -> bool:
    rule = plugin.discover
    if rule is None:
        return False
    for pattern in (rule.file_name, rule.glob):
        if pattern:
            matched: bool = await asyncio.to_thread(_globbed, app, pattern)
            if matched:
                return True
    if rule.command is not None:
        out = await run(rule.command, f"discover of plugin {plugin.name}")
        return bool(out.strip())
    return False


def _globbed(app: Path, pattern: str) -> bool:
    pattern = pattern.removeprefix("./")
    return any(inside(app, p.resolve()) for p in app.glob(pattern))


class _Runner:
    """Runs a plugin's commands with one environment, directory and jail."""

    def __init__(
        self, tools: RenderTools, env: dict[str, str], cwd: Path, jail: Jail, where: str
    ) -> None:
        self.tools, self.env, self.cwd, self.jail, self.where = tools, env, cwd, jail, where

    async def __call__(self, command: Command, what: str) -> str:
        binary, args = _program(command, self.env, what)
        return await run_tool(
            self.tools,
            what,
            args,
            env=self.env,
            cwd=self.cwd,
            context=self.where,
            display=what,
            jail=self.jail,
            binary=binary,
        )


async def render_plugin(
    root: Path,
    app: Path,
    spec: PluginSpec,
    plugins: Sequence[PluginConfig],
    env: RenderEnv,
    tools: RenderTools,
    tmp: Path,
    proc_env: dict[str, str],
) -> tuple[str, str]:
    """(``generate``'s output, the plugin's name) for the application directory ``app``."""
    where = display(root, app)
    copy = await asyncio.to_thread(make_mirror, root, app, tmp / "repo")
    full_env = plugin_env(spec, env, proc_env)
    run = _Runner(tools, full_env, copy, Jail(read=(root,), write=(tmp,)), where)
    if spec.name:
        chosen = next((p for p in plugins if p.name == spec.name), None)
        if chosen is None:
            known = ", ".join(p.name for p in plugins) or "none is configured"
            raise UnsupportedSource(
                f"spec.source.plugin.name {spec.name!r}: no such config management plugin "
                f"(known: {known}; plugins are defined in argocd-cm "
                "gitward.configManagementPlugins)"
            )
    else:
        chosen = None
        for plugin in plugins:
            if await _discovers(plugin, copy, full_env, run):
                chosen = plugin
                break
        if chosen is None:
            raise UnsupportedSource(
                f"{where}: no config management plugin's discover rule matches this directory"
            )
    if chosen.init is not None:
        await run(chosen.init, f"plugin {chosen.name} init")
    return await run(chosen.generate, f"plugin {chosen.name} generate"), chosen.name
