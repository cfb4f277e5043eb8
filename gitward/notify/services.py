"""Sending one rendered notification: webhook, Slack, GitHub commit status, email.

Each sender takes the service's options (from ``service.<type>[.<name>]``, secrets already
substituted), the recipient and the rendered template, and either returns or raises
:class:`DeliveryFailed` naming the service and what the other side said — with every
credential redacted. Options follow Argo CD Notifications':

- ``webhook``: ``url``, ``headers`` (``[{name, value}]``), ``basicAuth`` (``username``,
  ``password``); the template's ``webhook.<name>`` gives ``method``, ``path`` (appended to
  the URL) and ``body``;
- ``slack``: ``token`` (a bot token, sent to ``{apiURL}/chat.postMessage``, default
  ``https://slack.com/api``); the recipient is the channel; ``message`` plus the
  template's ``slack.attachments``/``slack.blocks`` (JSON text);
- ``github``: ``token`` (or an app installation token obtained elsewhere), ``apiURL``
  (default ``https://api.github.com``); posts the template's ``github.status``
  (``state``, ``label`` as context, ``targetURL``) to the commit the app last synced, in
  the repository its ``repoURL`` names;
- ``email``: ``host``, ``port``, ``from``, ``username``/``password`` (optional),
  ``insecure_skip_verify``; the recipient is the address; ``email.subject`` and
  ``message``.
"""

from __future__ import annotations

import base64
import json
import re
from email.message import EmailMessage
from typing import Any

import aiohttp
import aiosmtplib

from gitward._util.redact import redact
from gitward.model.errors import GitwardError

Obj = dict[str, Any]
TIMEOUT = aiohttp.ClientTimeout(total=20)
_GITHUB_REPO = re.compile(r"github[^/:]*[:/]([^/]+)/([^/]+?)(?:\.git)?/?$")


class DeliveryFailed(GitwardError):
    """A notification could not be delivered; ``retry`` says whether trying again may help."""

    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


def _secrets(options: Obj) -> list[str]:
    found: list[str] = []
    for key in ("token", "password"):
        if isinstance(options.get(key), str):
            found.append(options[key])
    auth = options.get("basicAuth")
    if isinstance(auth, dict) and isinstance(auth.get("password"), str):
        found.append(auth["password"])
    return found


async def _http(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    what: str,
    secrets: list[str],
    **kwargs: Any,
) -> Any:
    try:
        async with session.request(method, url, timeout=TIMEOUT, **kwargs) as resp:
            text = (await resp.content.read(64 * 1024)).decode(errors="replace")
            if resp.status >= 400:
                raise DeliveryFailed(
                    f"{what}: HTTP {resp.status}: {redact(text[:300], secrets)}",
                    retry=resp.status >= 500 or resp.status == 429,
                )
            return text
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DeliveryFailed(f"{what}: {redact(str(exc), secrets) or type(exc).__name__}") from None


async def send_webhook(
    session: aiohttp.ClientSession, name: str, options: Obj, rendered: Obj
) -> None:
    url = str(options.get("url") or "")
    if not url.startswith(("http://", "https://")):
        raise DeliveryFailed(f"service.webhook.{name}: 'url' must be http(s)", retry=False)
    part = (rendered.get("webhook") or {}).get(name) or {}
    method = str(part.get("method") or "POST").upper()
    headers = {
        str(h.get("name")): str(h.get("value"))
        for h in options.get("headers") or []
        if isinstance(h, dict) and h.get("name")
    }
    auth = options.get("basicAuth")
    if isinstance(auth, dict):
        pair = f"{auth.get('username', '')}:{auth.get('password', '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    target = url.rstrip("/") + str(part.get("path") or "") if part.get("path") else url
    await _http(
        session, method, target, f"webhook {name}", _secrets(options),
        data=str(part.get("body") or rendered.get("message") or "").encode(),
        headers=headers,
    )  # fmt: skip


async def send_slack(
    session: aiohttp.ClientSession, options: Obj, channel: str, rendered: Obj
) -> None:
    token = str(options.get("token") or "")
    if not token:
        raise DeliveryFailed("service.slack: no 'token'", retry=False)
    api = str(options.get("apiURL") or "https://slack.com/api").rstrip("/")
    slack = rendered.get("slack") or {}
    body: Obj = {"channel": channel, "text": str(rendered.get("message") or "")}
    for field in ("attachments", "blocks"):
        if slack.get(field):
            try:
                body[field] = (
                    json.loads(slack[field]) if isinstance(slack[field], str) else slack[field]
                )
            except ValueError:
                raise DeliveryFailed(f"template slack.{field}: not JSON", retry=False) from None
    text = await _http(
        session, "POST", f"{api}/chat.postMessage", "slack", [token],
        json=body, headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    try:
        answer = json.loads(text)
    except ValueError:
        return
    if isinstance(answer, dict) and answer.get("ok") is False:
        raise DeliveryFailed(f"slack: {answer.get('error', 'not ok')}", retry=False)


async def send_github(
    session: aiohttp.ClientSession, options: Obj, app: Obj, rendered: Obj
) -> None:
    token = str(options.get("token") or "")
    api = str(options.get("apiURL") or "https://api.github.com").rstrip("/")
    status = (rendered.get("github") or {}).get("status") or {}
    spec = app.get("spec") or {}
    source = spec.get("source") or ((spec.get("sources") or [{}])[0])
    match = _GITHUB_REPO.search(str((source or {}).get("repoURL") or ""))
    op = (app.get("status") or {}).get("operationState") or {}
    sha = str((op.get("syncResult") or {}).get("revision") or "")
    if match is None or not sha:
        raise DeliveryFailed(
            "github: the app's repoURL is not a GitHub repository, or no synced revision",
            retry=False,
        )
    body = {
        "state": str(status.get("state") or "success"),
        "context": str(status.get("label") or "gitward"),
        "description": str(rendered.get("message") or "")[:140],
    }
    if status.get("targetURL"):
        body["target_url"] = str(status["targetURL"])
    headers = {"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}
    url = f"{api}/repos/{match[1]}/{match[2]}/statuses/{sha}"
    await _http(session, "POST", url, "github", [token], json=body, headers=headers)


async def send_email(options: Obj, to: str, rendered: Obj) -> None:
    host = str(options.get("host") or "")
    if not host:
        raise DeliveryFailed("service.email: no 'host'", retry=False)
    message = EmailMessage()
    message["From"] = str(options.get("from") or "gitward@localhost")
    message["To"] = to
    message["Subject"] = str((rendered.get("email") or {}).get("subject") or "gitward notification")
    message.set_content(str(rendered.get("message") or ""))
    secrets = _secrets(options)
    try:
        await aiosmtplib.send(
            message,
            hostname=host,
            port=int(options.get("port") or 587),
            username=options.get("username") or None,
            password=options.get("password") or None,
            validate_certs=not options.get("insecure_skip_verify"),
            timeout=20,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"email via {host}: {redact(str(exc), secrets)}") from None


async def send(
    session: aiohttp.ClientSession,
    service_type: str,
    name: str,
    options: Obj,
    recipient: str,
    app: Obj,
    rendered: Obj,
) -> None:
    """Deliver ``rendered`` through the service; raises :class:`DeliveryFailed`."""
    if service_type == "webhook":
        await send_webhook(session, name, options, rendered)
    elif service_type == "slack":
        await send_slack(session, options, recipient, rendered)
    elif service_type == "github":
        await send_github(session, options, app, rendered)
    elif service_type == "email":
        await send_email(options, recipient, rendered)
    else:
        raise DeliveryFailed(f"service type {service_type!r} is not supported", retry=False)
