"""Sync options: ``spec.syncPolicy.syncOptions`` and the per-resource annotation.

Both use Argo CD's ``Name=value`` strings. A resource's annotation
``argocd.argoproj.io/sync-options`` overrides the Application-level value for
that resource only.

The names and values accepted are read by :mod:`gitward.model.sync_options`
(re-exported here); this module applies them to one resource.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitward.model.sync_options import (
    APP_ONLY,
    SYNC_OPTIONS_ANNOTATION,
    parse,
    propagation_policy,
)

__all__ = [
    "APP_ONLY",
    "SYNC_OPTIONS_ANNOTATION",
    "Options",
    "annotation_options",
    "effective",
    "parse",
    "propagation_policy",
]


def annotation_options(obj: dict[str, Any]) -> dict[str, str]:
    meta = obj.get("metadata") or {}
    raw = (meta.get("annotations") or {}).get(SYNC_OPTIONS_ANNOTATION)
    if not raw:
        return {}
    where = f"{obj.get('kind')} {meta.get('name')}: annotation {SYNC_OPTIONS_ANNOTATION}"
    return parse((p for p in str(raw).split(",") if p.strip()), where, annotation=True)


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
        raw = self.values.get("PrunePropagationPolicy", "foreground")
        return propagation_policy(raw, "PrunePropagationPolicy")

    @property
    def field_validation(self) -> str:
        return "Ignore" if self.values.get("Validate", "true").lower() == "false" else "Strict"


def effective(app_options: dict[str, str], obj: dict[str, Any] | None) -> Options:
    values = dict(app_options)
    if obj is not None:
        values.update(annotation_options(obj))
    return Options(values)
