"""``POST /api/webhook`` on the API server, as Argo CD serves it there.

A Git provider's push (GitHub, GitLab, Bitbucket), verified with the secrets in
``argocd-secret`` exactly as the controller's own endpoint verifies it
(:mod:`gitward.server.webhook`), asks for a refresh of every served app whose
source the push may change: the server sets Argo CD's ``argocd.argoproj.io/refresh``
annotation, and the controller refreshes (listing the repository's refs afresh)
when its watch brings the change. The server itself never refreshes or syncs.

No token is needed (the provider has none): the signature is the authentication,
and when ``argocd-secret`` sets no webhook secret every push is accepted, as in
Argo CD, with a warning logged once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import web

from gitward.cluster import NotFound
from gitward.model.application import parse_application
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION
from gitward.server.api.common import STORE, json_response
from gitward.server.context import CONTEXT
from gitward.server.errors import InvalidArgument, Unauthenticated
from gitward.server.webhook import WebhookRejected, matches, parse_push, verify
from gitward.server.webhook_secrets import WebhookSecretReader

log = logging.getLogger("gitward.server.webhook")

REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
#: Refresh requests written at once for one push.
WRITES_AT_ONCE = 8
SECRETS: web.AppKey[WebhookSecretReader] = web.AppKey(
    "gitward.server.webhook_secrets", WebhookSecretReader
)


async def webhook(request: web.Request) -> web.Response:
    body = await request.read()  # bounded by the application's body limit (413 beyond)
    try:
        provider = verify(dict(request.headers), body, await request.app[SECRETS].get())
        try:
            payload: Any = json.loads(body)
        except (ValueError, RecursionError):
            raise WebhookRejected(400, "body is not JSON") from None
        push = parse_push(provider, payload)
    except WebhookRejected as exc:
        log.warning("webhook refused: %s", exc)
        if exc.status == 401:
            raise Unauthenticated(str(exc)) from None
        raise InvalidArgument(str(exc)) from None
    if push is None:
        return json_response({"refreshed": [], "message": "not a push event"})
    store = request.app[STORE]
    wanted = []
    for obj in list(store.after(None)):
        meta = obj.get("metadata") or {}
        try:
            app = parse_application(obj, f"Application {meta.get('namespace')}/{meta.get('name')}")
        except ConfigError:
            continue
        if matches(app, push):
            wanted.append(obj)
    client = request.app[CONTEXT].client
    gate = asyncio.Semaphore(WRITES_AT_ONCE)

    async def refresh(obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        async with gate:
            with contextlib.suppress(NotFound):  # deleted since: nothing to refresh
                await client.patch(
                    API_VERSION,
                    "Application",
                    meta["name"],
                    meta["namespace"],
                    {"metadata": {"annotations": {REFRESH_ANNOTATION: "normal"}}},
                )

    await asyncio.gather(*(refresh(obj) for obj in wanted))
    names = sorted(f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in wanted)
    log.info("%s push to %s: refreshing %s", provider, push.ref, names or "nothing")
    return json_response({"refreshed": names})


def add_routes(app: web.Application) -> None:
    context = app[CONTEXT]
    app[SECRETS] = WebhookSecretReader(context.client, context.namespace)
    app.router.add_post("/api/webhook", webhook)
