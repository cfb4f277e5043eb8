"""Which notifications an Application's current state calls for, and the record that stops
them from being sent twice.

Subscriptions come from the app's annotations
(``notifications.argoproj.io/subscribe.<trigger>.<service>: r1;r2``, or
``subscribe.<service>`` for the default triggers) and from the ConfigMap's
``subscriptions`` (matched by label selector). For each subscribed trigger, each
condition's ``when`` is evaluated against the app; a true condition sends its templates to
each destination once:

- the record is the ``notified.notifications.argoproj.io`` annotation (a JSON map of
  ``trigger:condition:oncePer:service:recipient`` to the time it was sent), written on the
  Application itself, so a controller restart or a shard move never repeats a notification;
- without ``oncePer``, a condition that turns false clears its entries, so it can fire
  again the next time it turns true; with ``oncePer`` (e.g. ``app.status.sync.revision``)
  it fires once per value of that expression, whatever happens in between.

Conditions and templates run in Go (expr-lang and text/template, as Argo CD runs them):
see :class:`gitward.render.gotemplate.GoTemplates`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gitward.model.errors import ConfigError
from gitward.notify.config import NotificationConfig, parse_recipient
from gitward.render.gotemplate import GoTemplates, Job

Obj = dict[str, Any]
SUBSCRIBE = "notifications.argoproj.io/subscribe."
NOTIFIED = "notified.notifications.argoproj.io"
MAX_RECORD = 500


@dataclass(frozen=True)
class Destination:
    trigger: str
    service: str
    recipient: str


@dataclass(frozen=True)
class Delivery:
    key: str
    destination: Destination
    template: str
    rendered: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    deliveries: list[Delivery]
    record: dict[str, int]  # what the record should become once the deliveries succeed
    errors: list[str]


def _labels(app: Obj) -> dict[str, str]:
    labels = (app.get("metadata") or {}).get("labels") or {}
    return {k: v for k, v in labels.items() if isinstance(k, str) and isinstance(v, str)}


def destinations(app: Obj, config: NotificationConfig) -> list[Destination]:
    """Every (trigger, service, recipient) the app is subscribed to."""
    found: list[Destination] = []
    annotations = (app.get("metadata") or {}).get("annotations") or {}
    for key, value in sorted(annotations.items()):
        if not isinstance(key, str) or not key.startswith(SUBSCRIBE) or not isinstance(value, str):
            continue
        rest = key[len(SUBSCRIBE) :]
        recipients = [r.strip() for r in value.replace(",", ";").split(";") if r.strip()]
        trigger, dot, service = rest.partition(".")
        if dot and trigger in config.triggers:
            pairs = [(trigger, service)]
        else:
            pairs = [(t, rest) for t in config.default_triggers]
        for t, s in pairs:
            found += [Destination(t, s, r) for r in recipients]
    labels = _labels(app)
    for sub in config.subscriptions:
        if all(labels.get(k) == v for k, v in sub.selector.items()):
            triggers = sub.triggers or config.default_triggers
            found += [Destination(t, s, r) for t in triggers for s, r in sub.recipients]
    return sorted(set(found), key=lambda d: (d.trigger, d.service, d.recipient))


def read_record(app: Obj) -> dict[str, int]:
    raw = ((app.get("metadata") or {}).get("annotations") or {}).get(NOTIFIED)
    try:
        data = json.loads(raw) if isinstance(raw, str) else {}
    except (ValueError, RecursionError):
        return {}
    return {k: int(v) for k, v in data.items() if isinstance(k, str) and isinstance(v, int | float)}


async def plan(app: Obj, config: NotificationConfig, go: GoTemplates, now: int) -> Outcome:
    """The notifications to send for ``app`` now, rendered, and the record after them."""
    dests = destinations(app, config)
    record = read_record(app)
    errors: list[str] = []
    if not dests:
        return Outcome([], record, errors)
    env = {"app": app}
    checks: list[tuple[str, int, str, str]] = []  # (trigger, index, expression, kind)
    for trigger in sorted({d.trigger for d in dests}):
        if trigger not in config.triggers:
            errors.append(f"trigger {trigger!r} is not defined (no trigger.{trigger} key)")
            continue
        for i, condition in enumerate(config.triggers[trigger]):
            checks.append((trigger, i, condition.when, "when"))
            if condition.once_per:
                checks.append((trigger, i, condition.once_per, "oncePer"))
    results = await go.evaluate([(expr, env) for _, _, expr, _ in checks])
    verdicts: dict[tuple[str, int], bool] = {}
    once: dict[tuple[str, int], str] = {}
    for (trigger, i, _, kind), result in zip(checks, results, strict=True):
        if result.error:
            errors.append(f"trigger.{trigger}[{i}].{kind}: {result.error}")
            continue
        if kind == "when":
            verdicts[(trigger, i)] = result.value is True
        else:
            once[(trigger, i)] = (
                json.dumps(result.value) if not isinstance(result.value, str) else result.value
            )
    new_record = dict(record)
    pending: list[tuple[str, Destination, str]] = []
    for dest in dests:
        for i, condition in enumerate(config.triggers.get(dest.trigger, ())):
            verdict = verdicts.get((dest.trigger, i))
            prefix = f"{dest.trigger}:{i}:"
            suffix = f":{dest.service}:{dest.recipient}"
            if verdict is None:
                continue  # the expression failed: change nothing
            if not verdict:
                if not condition.once_per:
                    for key in [
                        k for k in new_record if k.startswith(prefix) and k.endswith(suffix)
                    ]:
                        del new_record[key]
                continue
            key = f"{prefix}{once.get((dest.trigger, i), '')}{suffix}"
            if key in new_record:
                continue
            new_record[key] = now
            pending += [(key, dest, template) for template in condition.send]
    jobs = [
        Job(
            config.templates[template],
            [{"app": app, "context": config.context, "recipient": dest.recipient,
              "notificationType": config.services.get(dest.service, ("", {}))[0]}],
        )
        for _, dest, template in pending
    ]  # fmt: skip
    deliveries = []
    for (key, dest, template), rendered in zip(pending, await go.render(jobs), strict=True):
        if rendered[0].error:
            errors.append(f"template.{template}: {rendered[0].error}")
            new_record.pop(key, None)
            continue
        value = rendered[0].value
        if not isinstance(value, dict):
            raise ConfigError(f"template.{template}: rendered to {type(value).__name__}")
        deliveries.append(Delivery(key, dest, template, value))
    if len(new_record) > MAX_RECORD:
        newest = sorted(new_record.items(), key=lambda kv: kv[1])[-MAX_RECORD:]
        new_record = dict(newest)
    return Outcome(deliveries, new_record, errors)


def recipients(text: str) -> list[tuple[str, str]]:
    """``slack:ops;email:a@b`` → ``[("slack", "ops"), ("email", "a@b")]`` (for the CLI)."""
    return [parse_recipient(p.strip(), "recipients") for p in text.split(";") if p.strip()]
