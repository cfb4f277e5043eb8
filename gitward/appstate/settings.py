"""gitward's settings, read from Argo CD's ``argocd-cm`` ConfigMap.

Only keys gitward acts on are read; the rest of the ConfigMap is left alone,
so one ConfigMap can configure Argo CD and gitward during a migration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gitward._util.glob import GlobSyntaxError, compile_glob
from gitward.cluster import KubeClient, NotFound
from gitward.model.durations import parse_duration
from gitward.model.errors import ConfigError
from gitward.model.overrides import ResourceOverrides, parse_overrides
from gitward.model.plugins import PLUGINS_KEY, PluginConfig, parse_plugins
from gitward.model.tracking import TrackingMethod
from gitward.source.policy import LOCAL_REPOSITORIES_KEY, split_paths

SETTINGS_CONFIGMAP = "argocd-cm"


@dataclass(frozen=True)
class Settings:
    tracking: TrackingMethod = TrackingMethod.ANNOTATION
    reconciliation_seconds: float = 120.0
    reconciliation_jitter_seconds: float = 60.0
    #: Directories ``file://``/path repoURLs may point into; empty (the default) refuses them.
    local_repositories: tuple[str, ...] = ()
    #: ``resource.customizations*``: health scripts and system-wide ignoreDifferences.
    overrides: ResourceOverrides = field(default_factory=ResourceOverrides)
    #: ``gitward.configManagementPlugins``: the plugins Applications may name.
    plugins: tuple[PluginConfig, ...] = ()
    jq_timeout_seconds: float = 1.0
    #: ``application.sync.impersonation.enabled``: syncs act as the project's
    #: ``destinationServiceAccounts``, not with the controller's own rights.
    impersonation: bool = False


def _seconds(data: dict[str, str], key: str, default: float) -> float:
    raw = data.get(key)
    if raw is None or raw == "":
        return default
    return parse_duration(raw, f"{SETTINGS_CONFIGMAP} {key}")


IMPERSONATION_KEY = "application.sync.impersonation.enabled"


def _flag(data: dict[str, str], key: str) -> bool:
    raw = (data.get(key) or "false").strip().lower()
    if raw not in ("true", "false"):
        raise ConfigError(f"{SETTINGS_CONFIGMAP} {key}: expected true or false, not {raw!r}")
    return raw == "true"


def parse_settings(data: dict[str, str]) -> Settings:
    """Settings from a ConfigMap's ``data``."""
    return Settings(
        tracking=TrackingMethod.parse(data.get("application.resourceTrackingMethod")),
        reconciliation_seconds=_seconds(data, "timeout.reconciliation", 120.0),
        reconciliation_jitter_seconds=_seconds(data, "timeout.reconciliation.jitter", 60.0),
        local_repositories=split_paths(data.get(LOCAL_REPOSITORIES_KEY, "")),
        overrides=parse_overrides(data),
        plugins=parse_plugins(data.get(PLUGINS_KEY, "")),
        jq_timeout_seconds=_seconds(data, "ignore.normalizer.jq.timeout", 1.0),
        impersonation=_flag(data, IMPERSONATION_KEY),
    )


async def load_settings(client: KubeClient, namespace: str) -> Settings:
    """Settings of the gitward installation in ``namespace`` (defaults if no ConfigMap)."""
    try:
        cm = await client.get("v1", "ConfigMap", SETTINGS_CONFIGMAP, namespace)
    except NotFound:
        return Settings()
    return parse_settings(dict(cm.get("data") or {}))


#: Argo CD's ConfigMap of command parameters, and its key for apps in any namespace.
PARAMS_CONFIGMAP = "argocd-cmd-params-cm"
APPLICATION_NAMESPACES_KEY = "application.namespaces"
MAX_NAMESPACE_PATTERNS = 100


def parse_namespace_globs(text: str, where: str) -> tuple[str, ...]:
    """Comma-separated namespace globs (``team-*, apps``), each checked; ConfigError if bad."""
    patterns = tuple(p.strip() for p in text.split(",") if p.strip())
    if len(patterns) > MAX_NAMESPACE_PATTERNS:
        raise ConfigError(f"{where}: more than {MAX_NAMESPACE_PATTERNS} patterns")
    for pattern in patterns:
        try:
            compile_glob(pattern)
        except GlobSyntaxError as exc:
            raise ConfigError(f"{where}: {pattern!r}: {exc}") from None
    return patterns


async def load_application_namespaces(client: KubeClient, namespace: str) -> tuple[str, ...]:
    """``application.namespaces`` from ``argocd-cmd-params-cm`` (empty without it)."""
    try:
        cm = await client.get("v1", "ConfigMap", PARAMS_CONFIGMAP, namespace)
    except NotFound:
        return ()
    raw = str((cm.get("data") or {}).get(APPLICATION_NAMESPACES_KEY) or "")
    return parse_namespace_globs(raw, f"{PARAMS_CONFIGMAP} {APPLICATION_NAMESPACES_KEY}")


#: ``argocd-cmd-params-cm``'s key for the controller-wide sync timeout, and the environment
#: variable Argo CD's controller reads it from (its ``--sync-timeout`` flag's).
SYNC_TIMEOUT_KEY = "controller.sync.timeout.seconds"
SYNC_TIMEOUT_ENV = "ARGOCD_APPLICATION_CONTROLLER_SYNC_TIMEOUT"
#: Argo CD reads the value into a Go int32; a larger one is refused here rather than
#: silently turned into "no timeout" as Argo CD does.
MAX_SYNC_TIMEOUT = 2_147_483_647


def parse_sync_timeout(raw: str, where: str) -> float:
    """Seconds of a sync timeout written as a whole number (``0``: no timeout).

    Argo CD takes whole seconds only; a duration string (``5m``) or a negative
    number is refused with an error naming ``where`` rather than guessed at.
    """
    text = raw.strip()
    if not text:
        return 0.0
    if not text.isascii() or not text.isdigit():
        raise ConfigError(f"{where}: expected a whole number of seconds, not {text[:40]!r}")
    value = int(text)
    if value > MAX_SYNC_TIMEOUT:
        raise ConfigError(f"{where}: {value} is more than {MAX_SYNC_TIMEOUT} seconds")
    return float(value)


async def load_sync_timeout(client: KubeClient, namespace: str) -> float:
    """``controller.sync.timeout.seconds`` from ``argocd-cmd-params-cm`` (0 without it).

    0, Argo CD's default, means an operation is never ended for its age.
    """
    try:
        cm = await client.get("v1", "ConfigMap", PARAMS_CONFIGMAP, namespace)
    except NotFound:
        return 0.0
    raw = str((cm.get("data") or {}).get(SYNC_TIMEOUT_KEY) or "")
    return parse_sync_timeout(raw, f"{PARAMS_CONFIGMAP} {SYNC_TIMEOUT_KEY}")
