"""Argo CD's config management plugins: the ``ConfigManagementPlugin`` spec of ``plugin.yaml``.

In Argo CD each plugin is a sidecar whose ``plugin.yaml`` says how to
``init`` and ``generate`` manifests and when the plugin applies
(``discover``). gitward reads the same documents and runs the commands as
local processes (see :mod:`gitward.render.plugin`). A plugin's commands are
programs the controller runs, so only the installation admin defines them —
in ``argocd-cm`` under ``gitward.configManagementPlugins`` (one or more
``plugin.yaml`` documents) — never a repository or an Application, which
only *name* a plugin (``spec.source.plugin.name``) and give it input.

The name an Application uses is ``<metadata.name>-<spec.version>`` when the
plugin has a version, else ``metadata.name``, as in Argo CD.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from gitward.model.errors import ConfigError
from gitward.model.source_spec import FieldReader

PLUGINS_KEY = "gitward.configManagementPlugins"
_KIND = "ConfigManagementPlugin"


@dataclass(frozen=True)
class Command:
    """``command`` plus ``args``: one argv, run without a shell unless it names one."""

    command: tuple[str, ...]
    args: tuple[str, ...] = ()

    @property
    def argv(self) -> tuple[str, ...]:
        return (*self.command, *self.args)


@dataclass(frozen=True)
class Discover:
    """When the plugin applies to a directory: a file name glob, a find glob or a command."""

    file_name: str = ""
    glob: str = ""
    command: Command | None = None


@dataclass(frozen=True)
class PluginConfig:
    """One ``ConfigManagementPlugin``."""

    name: str
    generate: Command
    init: Command | None = None
    discover: Discover | None = None
    #: Parameter announcements, kept as written (what a UI would offer).
    parameters: tuple[dict[str, Any], ...] = ()


def _command(r: FieldReader | None, required: bool = False) -> Command | None:
    if r is None:
        if required:
            raise ConfigError("generate: required")
        return None
    command = r.str_list("command")
    if not command:
        raise r.error("command", "required (a list: the program and its first arguments)")
    return Command(command=command, args=r.str_list("args"))


def _plugin(doc: Any, where: str) -> PluginConfig:
    root = FieldReader(doc, "", where)
    if doc.get("kind") != _KIND:
        raise root.error("kind", f"expected {_KIND}, got {doc.get('kind')!r}")
    meta = root.obj("metadata")
    if meta is None:
        raise root.error("metadata", "required")
    name = meta.string("name", required=True)
    spec = root.obj("spec")
    if spec is None:
        raise root.error("spec", "required")
    version = spec.string("version")
    generate = _command(spec.obj("generate"))
    if generate is None:
        raise spec.error("generate", "required")
    discover = None
    d = spec.obj("discover")
    if d is not None:
        find = d.obj("find")
        discover = Discover(
            file_name=d.string("fileName"),
            glob=find.string("glob") if find else "",
            command=_command(find) if find and find.has("command") else None,
        )
    params = spec.obj("parameters")
    static = tuple(i for i, _ in params.items("static")) if params else ()
    return PluginConfig(
        name=f"{name}-{version}" if version else name,
        generate=generate,
        init=_command(spec.obj("init")),
        discover=discover,
        parameters=tuple(s for s in static if isinstance(s, dict)),
    )


def parse_plugins(text: str, where: str = f"argocd-cm {PLUGINS_KEY}") -> tuple[PluginConfig, ...]:
    """Every plugin in ``text`` (YAML documents, or one list of them); names must be unique."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where}:{line}: invalid YAML") from None
    if len(docs) == 1 and isinstance(docs[0], list):
        docs = docs[0]
    plugins: list[PluginConfig] = []
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict):
            raise ConfigError(f"{where}: document {i + 1}: expected a ConfigManagementPlugin")
        plugin = _plugin(doc, f"{where}: document {i + 1}")
        if any(p.name == plugin.name for p in plugins):
            raise ConfigError(f"{where}: plugin {plugin.name!r} is defined twice")
        plugins.append(plugin)
    return tuple(plugins)
