"""Argo CD Notifications' configuration: ``argocd-notifications-cm`` and its Secret.

The ConfigMap's keys, as Argo CD reads them:

- ``service.<type>`` and ``service.<type>.<name>`` (``service.webhook.github``): a YAML
  mapping of the service's options; ``$key`` values come from the
  ``argocd-notifications-secret`` Secret (a value that names no key is left as written);
- ``template.<name>``: YAML with ``message`` and per-service parts (``email.subject``,
  ``slack.attachments``/``blocks``, ``webhook.<name>.{method,path,body}``,
  ``github.status.{state,label,targetURL}``);
- ``trigger.<name>``: a YAML list of conditions, each ``when`` (an expr-lang
  expression), ``send`` (template names), optional ``oncePer`` and ``description``;
- ``defaultTriggers``: triggers a bare ``subscribe.<service>`` annotation means;
- ``subscriptions``: YAML list of ``{recipients: [service:recipient], triggers, selector}``;
- ``context``: values templates see as ``.context``.

Everything is parsed up front and a bad key is a :class:`ConfigError` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from gitward.model.errors import ConfigError

CONFIGMAP = "argocd-notifications-cm"
SECRET = "argocd-notifications-secret"  # noqa: S105 - a Secret's name
SERVICE_TYPES = ("webhook", "slack", "github", "email")


@dataclass(frozen=True)
class Condition:
    when: str
    send: tuple[str, ...]
    once_per: str = ""
    description: str = ""


@dataclass(frozen=True)
class Subscription:
    recipients: tuple[tuple[str, str], ...]  # (service, recipient)
    triggers: tuple[str, ...]
    selector: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NotificationConfig:
    services: dict[str, tuple[str, dict[str, Any]]]  # name → (type, options)
    templates: dict[str, dict[str, Any]]
    triggers: dict[str, tuple[Condition, ...]]
    default_triggers: tuple[str, ...] = ()
    subscriptions: tuple[Subscription, ...] = ()
    context: dict[str, Any] = field(default_factory=dict)

    def service(self, name: str) -> tuple[str, dict[str, Any]]:
        """``(type, options)`` of the service a subscription names.

        ``service.<type>`` is called ``<type>``, ``service.<type>.<name>`` is called ``<name>``
        (so ``service.webhook.github`` is subscribed to as ``github``), as in Argo CD.
        """
        if name not in self.services:
            raise ConfigError(f"{CONFIGMAP}: no service {name!r} (no service.<type>.{name} key)")
        return self.services[name]


def _yaml(text: str, key: str) -> Any:
    try:
        return yaml.load(text, Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise ConfigError(f"{CONFIGMAP} {key}: not valid YAML ({exc})") from None


def _substitute(value: Any, secrets: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("$") and value[1:] in secrets:
        return secrets[value[1:]]
    if isinstance(value, dict):
        return {k: _substitute(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, secrets) for v in value]
    return value


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{CONFIGMAP} {key}: expected a list of strings")
    return tuple(value)


def parse_recipient(text: str, key: str) -> tuple[str, str]:
    service, sep, recipient = text.partition(":")
    if not sep or not service or not recipient:
        raise ConfigError(f"{key}: {text!r} is not service:recipient")
    return service.strip(), recipient.strip()


def parse_config(data: dict[str, str], secrets: dict[str, str]) -> NotificationConfig:
    services: dict[str, tuple[str, dict[str, Any]]] = {}
    templates: dict[str, dict[str, Any]] = {}
    triggers: dict[str, tuple[Condition, ...]] = {}
    defaults: tuple[str, ...] = ()
    subscriptions: list[Subscription] = []
    context: dict[str, Any] = {}
    for key, text in sorted(data.items()):
        if not isinstance(text, str):
            raise ConfigError(f"{CONFIGMAP} {key}: expected a string")
        if key.startswith("service."):
            kind, _, name = key[len("service.") :].partition(".")
            if kind not in SERVICE_TYPES:
                raise ConfigError(
                    f"{CONFIGMAP} {key}: service type {kind!r} is not one of "
                    f"{', '.join(SERVICE_TYPES)}"
                )
            options = _yaml(text, key)
            if not isinstance(options, dict):
                raise ConfigError(f"{CONFIGMAP} {key}: expected a mapping")
            services[name or kind] = (kind, _substitute(options, secrets))
        elif key.startswith("template."):
            body = _yaml(text, key)
            if not isinstance(body, dict):
                raise ConfigError(f"{CONFIGMAP} {key}: expected a mapping")
            templates[key[len("template.") :]] = body
        elif key.startswith("trigger."):
            items = _yaml(text, key)
            if not isinstance(items, list) or not items:
                raise ConfigError(f"{CONFIGMAP} {key}: expected a list of conditions")
            conditions = []
            for i, item in enumerate(items):
                at = f"{key}[{i}]"
                if not isinstance(item, dict) or not isinstance(item.get("when"), str):
                    raise ConfigError(f"{CONFIGMAP} {at}: needs a 'when' expression")
                conditions.append(
                    Condition(
                        item["when"],
                        _strings(item.get("send"), f"{at}.send"),
                        str(item.get("oncePer") or ""),
                        str(item.get("description") or ""),
                    )
                )
            triggers[key[len("trigger.") :]] = tuple(conditions)
        elif key == "defaultTriggers":
            defaults = _strings(_yaml(text, key), key)
        elif key == "subscriptions":
            for i, item in enumerate(_yaml(text, key) or []):
                at = f"{key}[{i}]"
                if not isinstance(item, dict):
                    raise ConfigError(f"{CONFIGMAP} {at}: expected a mapping")
                recipients = tuple(
                    parse_recipient(r, f"{CONFIGMAP} {at}.recipients")
                    for r in _strings(item.get("recipients"), f"{at}.recipients")
                )
                selector = _selector(item.get("selector"), f"{CONFIGMAP} {at}.selector")
                subscriptions.append(
                    Subscription(
                        recipients, _strings(item.get("triggers"), f"{at}.triggers"), selector
                    )
                )
        elif key == "context":
            value = _yaml(text, key)
            if not isinstance(value, dict):
                raise ConfigError(f"{CONFIGMAP} context: expected a mapping")
            context = value
    for name, defined in triggers.items():
        for condition in defined:
            for template in condition.send:
                if template not in templates:
                    raise ConfigError(
                        f"{CONFIGMAP} trigger.{name}: sends template {template!r}, which no "
                        f"template.{template} key defines"
                    )
    return NotificationConfig(
        services, templates, triggers, defaults, tuple(subscriptions), context
    )


def _selector(value: Any, where: str) -> dict[str, str]:
    """A ``k=v,k2=v2`` label selector (equality only) as a dict."""
    if value in (None, ""):
        return {}
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string")
    out = {}
    for part in value.split(","):
        k, sep, v = part.partition("=")
        if not sep or not k.strip():
            raise ConfigError(f"{where}: {part!r} is not key=value")
        out[k.strip()] = v.strip()
    return out
