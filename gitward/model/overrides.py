"""Argo CD's resource customizations from ``argocd-cm``: health scripts and ignored fields.

Argo CD reads them from two spellings, and so does gitward:

- one key per customization and kind, ``<group>_<Kind>`` (the core group is
  empty: ``_Pod`` or just ``Pod``; ``*`` matches any run of characters)::

    resource.customizations.health.cert-manager.io_Certificate: |
      hs = {} ... return hs
    resource.customizations.useOpenLibs.cert-manager.io_Certificate: "true"
    resource.customizations.ignoreDifferences.apps_Deployment: |
      jsonPointers: [/spec/replicas]
    resource.customizations.ignoreDifferences.all: |
      managedFieldsManagers: [kube-controller-manager]

- the legacy ``resource.customizations`` key: one YAML mapping from
  ``group/Kind`` to ``{health.lua, health.lua.useOpenLibs, ignoreDifferences}``.

gitward adds CEL health, Flux's ``healthCheckExprs`` shape, under its own key::

    gitward.health.cel.example.com_Widget: |
      current: status.phase == "Ready"
      failed: status.phase == "Broken"
      inProgress: status.phase == "Pending"

Only the installation admin writes ``argocd-cm``, so scripts are trusted to
be meant; they still run sandboxed (see :mod:`gitward.health.lua`). Parsing is
strict and every error names the key at fault.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from gitward.model.errors import ConfigError

CUSTOMIZATIONS_KEY = "resource.customizations"
_HEALTH = "resource.customizations.health."
_OPEN_LIBS = "resource.customizations.useOpenLibs."
_IGNORE = "resource.customizations.ignoreDifferences."
_CEL = "gitward.health.cel."
_IGNORE_FIELDS = ("jsonPointers", "jqPathExpressions", "managedFieldsManagers")
CEL_FIELDS = ("current", "inProgress", "failed")


@dataclass(frozen=True)
class CelHealth:
    """Flux-style expressions over the object: the first one true decides."""

    current: str = ""
    in_progress: str = ""
    failed: str = ""


@dataclass
class KindOverride:
    """What ``argocd-cm`` says about one group/kind pattern."""

    health_lua: str = ""
    use_open_libs: bool = False
    health_cel: CelHealth | None = None
    ignore: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ResourceOverrides:
    """Every customization of an installation, by ``group/Kind`` pattern (``*`` globs)."""

    kinds: Mapping[str, KindOverride] = field(default_factory=dict)
    ignore_all: Mapping[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.kinds or self.ignore_all)

    def lookup(self, group: str, kind: str) -> KindOverride | None:
        """The override for ``group``/``kind``: an exact key first, else the first glob."""
        exact = self.kinds.get(f"{group}/{kind}")
        if exact is not None:
            return exact
        for pattern, override in self.kinds.items():
            if "*" in pattern and _glob(pattern).fullmatch(f"{group}/{kind}"):
                return override
        return None

    def ignore_entries(self) -> list[dict[str, Any]]:
        """The system-wide ``ignoreDifferences`` in ``spec.ignoreDifferences`` shape.

        ``all`` becomes group and kind ``*``; a glob pattern keeps its ``*``s.
        """
        entries: list[dict[str, Any]] = []
        if self.ignore_all:
            entries.append({"group": "*", "kind": "*", **self.ignore_all})
        for pattern, override in self.kinds.items():
            if override.ignore:
                group, _, kind = pattern.rpartition("/")
                entries.append({"group": group, "kind": kind, **override.ignore})
        return entries


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    """A ``*`` pattern compiled. A pure function of its text, memoised like ``re``'s own
    cache (bounded: the patterns come from argocd-cm, which an editor may fill)."""
    return re.compile(".*".join(re.escape(p) for p in pattern.split("*")))


def _group_kind(raw: str, key: str) -> str:
    """``cert-manager.io_Certificate`` -> ``cert-manager.io/Certificate``; ``Pod`` -> ``/Pod``."""
    group, sep, kind = raw.partition("_")
    if not sep:
        group, kind = "", raw
    if not kind or "/" in kind or "/" in group:
        raise ConfigError(f"argocd-cm {key}: expected <group>_<Kind> after the prefix")
    return f"{group}/{kind}"


def _flag(raw: Any, key: str) -> bool:
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    raise ConfigError(f"argocd-cm {key}: expected true or false, got {raw!r}")


def _yaml(text: Any, key: str) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"argocd-cm {key}:{line}: invalid YAML: {exc}") from None


def _ignore(value: Any, key: str) -> dict[str, list[str]]:
    data = _yaml(value, key)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"argocd-cm {key}: expected a mapping of {', '.join(_IGNORE_FIELDS)}")
    out: dict[str, list[str]] = {}
    for name, items in data.items():
        if name not in _IGNORE_FIELDS:
            raise ConfigError(
                f"argocd-cm {key}: unknown field {name!r} (use {', '.join(_IGNORE_FIELDS)})"
            )
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ConfigError(f"argocd-cm {key}: {name}: expected a list of strings")
        out[str(name)] = list(items)
    return out


def _cel(value: Any, key: str) -> CelHealth:
    data = _yaml(value, key)
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"argocd-cm {key}: expected a mapping of {', '.join(CEL_FIELDS)}")
    for name, expr in data.items():
        if name not in CEL_FIELDS:
            raise ConfigError(f"argocd-cm {key}: unknown field {name!r} (use {CEL_FIELDS})")
        if not isinstance(expr, str):
            raise ConfigError(f"argocd-cm {key}: {name}: expected a CEL expression (a string)")
    return CelHealth(
        current=data.get("current", ""),
        in_progress=data.get("inProgress", ""),
        failed=data.get("failed", ""),
    )


def _legacy(kinds: dict[str, KindOverride], text: str) -> None:
    data = _yaml(text, CUSTOMIZATIONS_KEY)
    if data is None:
        return
    if not isinstance(data, dict):
        raise ConfigError(f"argocd-cm {CUSTOMIZATIONS_KEY}: expected a mapping of group/Kind")
    for name, entry in data.items():
        where = f"{CUSTOMIZATIONS_KEY} {name}"
        if not isinstance(entry, dict):
            raise ConfigError(f"argocd-cm {where}: expected a mapping")
        group, _, kind = str(name).rpartition("/")
        override = kinds.setdefault(f"{group}/{kind}", KindOverride())
        script = entry.get("health.lua")
        if script is not None:
            if not isinstance(script, str):
                raise ConfigError(f"argocd-cm {where}: health.lua: expected a string")
            override.health_lua = script
        if "health.lua.useOpenLibs" in entry:
            override.use_open_libs = _flag(entry["health.lua.useOpenLibs"], where)
        if entry.get("ignoreDifferences") is not None:
            override.ignore = _ignore(entry["ignoreDifferences"], f"{where} ignoreDifferences")


def parse_overrides(data: Mapping[str, str]) -> ResourceOverrides:
    """The customizations in an ``argocd-cm`` ``data`` mapping (other keys are ignored).

    The per-kind keys win over the legacy mapping, as in Argo CD.
    """
    kinds: dict[str, KindOverride] = {}
    ignore_all: dict[str, list[str]] = {}
    legacy = data.get(CUSTOMIZATIONS_KEY)
    if legacy:
        _legacy(kinds, legacy)
    for key in sorted(data):
        value = data[key]
        if key.startswith(_HEALTH):
            kinds.setdefault(
                _group_kind(key[len(_HEALTH) :], key), KindOverride()
            ).health_lua = value
        elif key.startswith(_OPEN_LIBS):
            name = _group_kind(key[len(_OPEN_LIBS) :], key)
            kinds.setdefault(name, KindOverride()).use_open_libs = _flag(value, key)
        elif key == _IGNORE + "all":
            ignore_all = _ignore(value, key)
        elif key.startswith(_IGNORE):
            name = _group_kind(key[len(_IGNORE) :], key)
            kinds.setdefault(name, KindOverride()).ignore = _ignore(value, key)
        elif key.startswith(_CEL):
            kinds.setdefault(_group_kind(key[len(_CEL) :], key), KindOverride()).health_cel = _cel(
                value, key
            )
    return ResourceOverrides(kinds=kinds, ignore_all=ignore_all)
