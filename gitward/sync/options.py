"""Sync options: ``spec.syncPolicy.syncOptions`` and the per-resource annotation.

Both use Argo CD's ``Name=value`` strings. A resource's annotation
``argocd.argoproj.io/sync-options`` overrides the Application-level value for
that resource only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gitward.model.errors import ConfigError

SYNC_OPTIONS_ANNOTATION = "argocd.argoproj.io/sync-options"

_KNOWN = {
    "CreateNamespace",
    "PruneLast",
    "Prune",
    "Replace",
    "ServerSideApply",
    "ApplyOutOfSyncOnly",
    "Validate",
    "PrunePropagationPolicy",
    "Delete",
    "FailOnSharedResource",
    "RespectIgnoreDifferences",
    "SkipDryRunOnMissingResource",
    "Force",
}
_PROPAGATION = {"foreground": "Foreground", "background": "Background", "orphan": "Orphan"}


def parse(items: Iterable[str], where: str) -> dict[str, str]:
    """``["Prune=false", ...]`` as a dict; unknown names are an error naming ``where``."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            raise ConfigError(f"{where}: sync option {item!r} is not Name=value")
        if name not in _KNOWN:
            raise ConfigError(f"{where}: unknown sync option {name!r}")
        out[name] = value
    return out


def annotation_options(obj: dict[str, Any]) -> dict[str, str]:
    meta = obj.get("metadata") or {}
    raw = (meta.get("annotations") or {}).get(SYNC_OPTIONS_ANNOTATION)
    if not raw:
        return {}
    where = f"{obj.get('kind')} {meta.get('name')}: annotation {SYNC_OPTIONS_ANNOTATION}"
    return parse((p for p in str(raw).split(",") if p.strip()), where)


@dataclass(frozen=True)
class Options:
    """Effective options for one resource (app-level merged with its annotation)."""

    values: dict[str, str]

    def flag(self, name: str, default: bool = False) -> bool:
        raw = self.values.get(name)
        if raw is None:
            return default
        return raw.lower() == "true"

    @property
    def prune(self) -> bool:
        return self.values.get("Prune", "true").lower() != "false"

    @property
    def delete(self) -> bool:
        return self.values.get("Delete", "true").lower() != "false"

    @property
    def propagation(self) -> str:
        raw = self.values.get("PrunePropagationPolicy", "foreground").lower()
        try:
            return _PROPAGATION[raw]
        except KeyError:
            raise ConfigError(f"PrunePropagationPolicy: unknown policy {raw!r}") from None

    @property
    def field_validation(self) -> str:
        return "Ignore" if self.values.get("Validate", "true").lower() == "false" else "Strict"


def effective(app_options: dict[str, str], obj: dict[str, Any] | None) -> Options:
    values = dict(app_options)
    if obj is not None:
        values.update(annotation_options(obj))
    return Options(values)
