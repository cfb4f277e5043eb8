"""``GET /api/v1/settings``: the public part of ``argocd-cm``, in Argo CD's field names.

Public like Argo CD's: the login page reads it before anyone is logged in. So it
answers only what a stranger may know — the URL, the status badge, banners, the
OIDC provider's issuer and client id, resource overrides — and is built from an
allow-list of keys, never by copying ``argocd-cm`` minus a deny-list: a key added to
the ConfigMap later (or a secret pasted into one) does not leak by default. OIDC's
``clientSecret`` and Dex's connector ``config`` are never read into the answer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import yaml
from aiohttp import web

from gitward._util.yamlload import load_one
from gitward.appstate.settings import SETTINGS_CONFIGMAP
from gitward.cluster import NotFound
from gitward.model.errors import ConfigError
from gitward.model.overrides import parse_overrides
from gitward.server.api.routing import Route, json_response, mount
from gitward.server.context import CONTEXT

Obj = dict[str, Any]

#: OIDC fields a browser needs to start a login; everything else stays in the server.
_OIDC_PUBLIC = ("name", "issuer", "clientID", "cliClientID", "requestedScopes")


def _true(data: Mapping[str, str], key: str) -> bool:
    return str(data.get(key, "")).strip().lower() == "true"


def _yaml_mapping(data: Mapping[str, str], key: str) -> Obj:
    raw = data.get(key)
    if not raw:
        return {}
    try:
        value = load_one(str(raw))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{SETTINGS_CONFIGMAP} {key}: not YAML: {exc}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{SETTINGS_CONFIGMAP} {key}: expected a mapping")
    return value


def _oidc(data: Mapping[str, str]) -> Obj | None:
    config = _yaml_mapping(data, "oidc.config")
    if not config:
        return None
    found: Obj = {}
    for key in _OIDC_PUBLIC:
        value = config.get(key)
        if key == "requestedScopes":
            if isinstance(value, list):
                found["scopes"] = [str(v) for v in value if isinstance(v, str | int)]
        elif isinstance(value, str):
            found[key] = value
    return found


def _dex(data: Mapping[str, str]) -> Obj | None:
    config = _yaml_mapping(data, "dex.config")
    connectors = config.get("connectors")
    if not isinstance(connectors, list):
        return None
    shown = [
        {"name": str(c.get("name", "")), "type": str(c.get("type", ""))}
        for c in connectors
        if isinstance(c, dict)
    ]
    return {"connectors": shown}


def _overrides(data: Mapping[str, str]) -> Obj:
    parsed = parse_overrides(data)
    found: Obj = {}
    for pattern, kind in parsed.kinds.items():
        entry: Obj = {}
        if kind.health_lua:
            entry["healthLua"] = kind.health_lua
            entry["useOpenLibs"] = kind.use_open_libs
        if kind.ignore:
            entry["ignoreDifferences"] = dict(kind.ignore)
        found[pattern] = entry
    if parsed.ignore_all:
        found["*/*"] = {"ignoreDifferences": dict(parsed.ignore_all)}
    return found


def _help(data: Mapping[str, str]) -> Obj:
    urls = {
        key.removeprefix("help.download."): str(value)
        for key, value in data.items()
        if key.startswith("help.download.")
    }
    return {
        "chatUrl": str(data.get("help.chatUrl", "")),
        "chatText": str(data.get("help.chatText", "")),
        "binaryUrls": urls,
    }


def public_settings(data: Mapping[str, str], namespace: str) -> Obj:
    """The answer of ``GET /api/v1/settings`` for an ``argocd-cm`` ``data`` mapping.

    Raises :class:`ConfigError` naming the key for YAML that cannot be read.
    """
    answer: Obj = {
        "url": str(data.get("url", "")),
        "additionalUrls": [u for u in str(data.get("additionalUrls", "")).split() if u],
        "statusBadgeEnabled": _true(data, "statusbadge.enabled"),
        "statusBadgeRootUrl": str(data.get("statusbadge.url", "")),
        "usersAnonymousEnabled": _true(data, "users.anonymous.enabled"),
        "userLoginsDisabled": str(data.get("admin.enabled", "true")).strip().lower() == "false"
        and not any(k.startswith("accounts.") for k in data),
        "appLabelKey": str(data.get("application.instanceLabelKey", "")),
        "trackingMethod": str(data.get("application.resourceTrackingMethod", "annotation")),
        "resourceOverrides": _overrides(data),
        "kustomizeOptions": {"buildOptions": str(data.get("kustomize.buildOptions", ""))},
        "kustomizeVersions": sorted(
            k.removeprefix("kustomize.path.") for k in data if k.startswith("kustomize.path.")
        ),
        "helm": {"valuesFileSchemes": str(data.get("helm.valuesFileSchemes", "https, http"))},
        "help": _help(data),
        "uiCssURL": str(data.get("ui.cssurl", "")),
        "uiBannerContent": str(data.get("ui.bannercontent", "")),
        "uiBannerURL": str(data.get("ui.bannerurl", "")),
        "uiBannerPermanent": _true(data, "ui.bannerpermanent"),
        "uiBannerPosition": str(data.get("ui.bannerposition", "")),
        "passwordPattern": str(data.get("passwordPattern", "")),
        "execEnabled": _true(data, "exec.enabled"),
        "impersonationEnabled": _true(data, "application.sync.impersonation.enabled"),
        "installationID": str(data.get("installationID", "")),
        "controllerNamespace": namespace,
    }
    oidc, dex = _oidc(data), _dex(data)
    if oidc is not None:
        answer["oidcConfig"] = oidc
    if dex is not None:
        answer["dexConfig"] = dex
    return answer


async def get_settings(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    data: Obj = {}
    with contextlib.suppress(NotFound):
        cm = await ctx.client.get("v1", "ConfigMap", SETTINGS_CONFIGMAP, ctx.namespace)
        data = {str(k): str(v) for k, v in (cm.get("data") or {}).items()}
    return json_response(public_settings(data, ctx.namespace))


ROUTES = [
    Route(
        "GET",
        "/api/v1/settings",
        get_settings,
        "Public settings of the installation (argocd-cm's allow-listed keys).",
        "SettingsService",
        rbac=None,
        answer="Settings",
    )
]


def add_routes(app: web.Application) -> None:
    mount(app, ROUTES)
