"""Argo CD's sync options (``Name=value``): which names and values gitward accepts.

The grammar is read here, in the model, so an Application whose
``spec.syncPolicy.syncOptions`` gitward cannot honour is refused when it is parsed
(an ``InvalidSpecError`` on refresh, an error from ``app create``), not first at
its next sync. :mod:`gitward.model.resource_options` applies the options to resources.

Every option gitward accepts is acted on; the rest are refused with an error
naming where they were written, never accepted and ignored:

- a value must be one the option knows (``true``/``false``, a propagation
  policy); Argo CD's ``Prune=confirm`` and ``Delete=confirm`` (wait for a
  person's confirmation) are not implemented and refused;
- ``CreateNamespace`` and ``FailOnSharedResource`` act on the whole sync, so on
  a resource's annotation they are refused;
- ``SkipDryRunOnMissingResource`` is accepted with either value: gitward never
  dry-runs a whole sync before applying it (Argo CD does, and this option stops
  that dry-run failing on a custom resource whose CRD the same sync creates), so
  gitward always behaves as Argo CD does with ``SkipDryRunOnMissingResource=true``.
"""

from __future__ import annotations

from collections.abc import Iterable

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
#: Options that act on the whole sync: meaningless on one resource's annotation.
APP_ONLY = frozenset({"CreateNamespace", "FailOnSharedResource"})
_BOOLEANS = ("true", "false")


def propagation_policy(text: str, where: str) -> str:
    """Kubernetes' spelling of a propagation policy written any case (``orphan`` -> ``Orphan``)."""
    found = _PROPAGATION.get(text.strip().lower())
    if found is None:
        raise ConfigError(f"{where}: unknown policy {text[:80]!r}")
    return found


def _check_value(name: str, value: str, where: str) -> None:
    lowered = value.lower()
    if name == "PrunePropagationPolicy":
        if lowered not in _PROPAGATION:
            raise ConfigError(
                f"{where}: sync option {name}={value!r}: expected foreground, background or orphan"
            )
        return
    if name in ("Prune", "Delete") and lowered == "confirm":
        raise ConfigError(
            f"{where}: sync option {name}=confirm is not supported by gitward "
            "(use false to keep the resource)"
        )
    if lowered not in _BOOLEANS:
        raise ConfigError(f"{where}: sync option {name}={value!r}: expected true or false")


def parse(items: Iterable[str], where: str, *, annotation: bool = False) -> dict[str, str]:
    """``["Prune=false", ...]`` as a dict; an unknown name or value is an error naming
    ``where``. ``annotation``: the options of one resource, where app-wide ones are refused."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            raise ConfigError(f"{where}: sync option {item[:80]!r} is not Name=value")
        if name not in _KNOWN:
            raise ConfigError(f"{where}: unknown sync option {name[:80]!r}")
        if annotation and name in APP_ONLY:
            raise ConfigError(
                f"{where}: sync option {name} acts on the whole sync; "
                "set it in spec.syncPolicy.syncOptions"
            )
        _check_value(name, value, where)
        out[name] = value
    return out
