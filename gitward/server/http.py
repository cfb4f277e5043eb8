"""The controller's HTTP endpoints: ``/api/webhook``, ``/metrics``, ``/healthz``, ``/readyz``.

Served with aiohttp, which the cluster client already uses, so the controller
process carries one HTTP stack. A webhook body is read whole — however many
TCP writes it comes in, chunked or not — up to the size limit: a larger one
is refused from its Content-Length, or as soon as more bytes than the limit
arrive. Whatever the sender puts in the body or headers, the answer is a
status with a message (400, 401, 413), never a 500.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from gitward.appset import AppSetController
from gitward.cluster import KubeClient
from gitward.controller import Controller
from gitward.dora import Recorder
from gitward.images import ImageUpdater
from gitward.model.application import parse_application
from gitward.model.errors import ConfigError
from gitward.notify import Notifier
from gitward.server.metrics import Metrics
from gitward.server.webhook import WebhookRejected, matches, parse_push, verify
from gitward.server.webhook_secrets import WebhookSecretReader

log = logging.getLogger("gitward.server")

#: Webhook payloads above this are refused (GitHub's pushes are far smaller).
MAX_PAYLOAD_BYTES = 1 << 20


class ControllerServer:
    def __init__(
        self,
        controller: Controller,
        client: KubeClient,
        namespace: str,
        max_payload: int = MAX_PAYLOAD_BYTES,
        appsets: AppSetController | None = None,
        *,
        notifier: Notifier | None = None,
        recorder: Recorder | None = None,
        images: ImageUpdater | None = None,
    ) -> None:
        self.controller = controller
        #: The ApplicationSet controller, when it runs: pushes refresh the sets reading that repo.
        self.appsets = appsets
        self.client = client
        self.namespace = namespace
        self.max_payload = max_payload
        self.metrics = Metrics(
            controller, appsets, notifier=notifier, recorder=recorder, images=images
        )
        self._secrets = WebhookSecretReader(client, namespace)
        self._runner: web.AppRunner | None = None
        self.port = 0

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_payload)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_post("/api/webhook", self._webhook)
        return app

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host or None, port)
        await site.start()
        self.port = port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, _request: web.Request) -> web.Response:
        if self.controller.ready.is_set():
            return web.Response(text="ok\n")
        return web.Response(status=503, text="not ready: Applications not listed yet\n")

    async def _metrics(self, _request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), content_type="text/plain", charset="utf-8")

    async def _body(self, request: web.Request) -> bytes | None:
        """The whole request body, or None once it is larger than the limit."""
        length = request.content_length
        if length is not None and length > self.max_payload:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = await request.content.read(64 * 1024)  # b"" only at the end of the body
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_payload:
                return None
            chunks.append(chunk)

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if body is None:
            return web.Response(status=413, text="payload too large\n")
        try:
            secrets = await self._secrets.get()
            provider = verify(dict(request.headers), body, secrets)
            try:
                payload: Any = json.loads(body)
            except (ValueError, RecursionError) as exc:
                detail = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                raise WebhookRejected(400, f"body is not JSON: {detail}") from None
            push = parse_push(provider, payload)
        except WebhookRejected as exc:
            log.warning("webhook refused: %s", exc)
            return web.Response(status=exc.status, text=f"{exc}\n")
        if push is None:
            return web.json_response({"refreshed": [], "message": "not a push event"})
        refreshed = []
        self.controller.forget_revisions()
        # The controller's watch holds every app it reconciles, in every namespace it owns.
        for key, obj in list(self.controller.applications().items()):
            try:
                app = parse_application(obj, f"Application {key}")
            except ConfigError:
                continue
            if matches(app, push):
                self.controller.refresh_now(key)
                refreshed.append(key)
        sets = self.appsets.refresh_for_push(push.repo_urls) if self.appsets is not None else []
        log.info(
            "%s push to %s: refreshing %s%s",
            provider,
            push.ref,
            refreshed or "nothing",
            f" and ApplicationSets {sets}" if sets else "",
        )
        return web.json_response({"refreshed": sorted(refreshed), "applicationsets": sets})
