"""The notifier: looks at each Application after a reconcile, sends what its triggers call
for, and records what was sent on the Application.

It runs beside the controller's workers, never inside them: a slow SMTP server or a
webhook that times out delays only the notification, never a sync. One app is handled at
a time per app (later looks wait), deliveries are retried with backoff, and a delivery
that still fails is not recorded — the next look tries again — and is counted in
``gitward_notifications_deliveries_total{outcome="failed"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from typing import Any

import aiohttp

from gitward._util.secretdata import secret_fields
from gitward.cluster import KubeClient, NotFound
from gitward.model.errors import GitwardError
from gitward.notify.config import CONFIGMAP, SECRET, NotificationConfig, parse_config
from gitward.notify.engine import NOTIFIED, plan, read_record
from gitward.notify.services import DeliveryFailed, send
from gitward.render.gotemplate import GoTemplates

log = logging.getLogger("gitward.notify")
Obj = dict[str, Any]
APPLICATION_API = "argoproj.io/v1alpha1"
CONFIG_TTL = 30.0
ATTEMPTS = 3


class Notifier:
    def __init__(
        self, client: KubeClient, namespace: str, go: GoTemplates, *, backoff: float = 0.5
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.go = go
        self.backoff = backoff
        self.deliveries: Counter[tuple[str, str, str]] = Counter()  # (service, trigger, outcome)
        self._config: tuple[float, NotificationConfig | None] | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def config(self) -> NotificationConfig | None:
        now = time.monotonic()
        if self._config is not None and self._config[0] > now:
            return self._config[1]
        try:
            cm = await self.client.get("v1", "ConfigMap", CONFIGMAP, self.namespace)
        except NotFound:
            self._config = (now + CONFIG_TTL, None)
            return None
        try:
            secret = await self.client.get("v1", "Secret", SECRET, self.namespace)
            secrets = secret_fields(secret)
        except NotFound:
            secrets = {}
        config = parse_config(dict(cm.get("data") or {}), secrets)
        self._config = (now + CONFIG_TTL, config)
        return config

    def observe(self, app: Obj) -> None:
        """Look at ``app`` soon, in the background (called after each reconcile)."""
        task = asyncio.create_task(self._guarded(app))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, app: Obj) -> None:
        try:
            await self.process(app)
        except GitwardError as exc:
            log.warning("notifications for %s: %s", app["metadata"].get("name"), exc)
        except Exception:  # a notification must never take the controller down
            log.exception("notifications for %s failed", app["metadata"].get("name"))

    async def process(self, app: Obj) -> list[str]:
        """Send what ``app``'s state calls for; returns the delivery keys sent."""
        config = await self.config()
        if config is None:
            return []
        name = app["metadata"]["name"]
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            outcome = await plan(app, config, self.go, int(time.time()))
            for error in outcome.errors:
                log.warning("notifications for %s: %s", name, error)
            record = dict(outcome.record)
            sent = []
            session = self._session or aiohttp.ClientSession()
            self._session = session
            for delivery in outcome.deliveries:
                dest = delivery.destination
                try:
                    service_type, options = config.service(dest.service)
                    await self._send(
                        session,
                        service_type,
                        dest.service,
                        options,
                        dest.recipient,
                        app,
                        delivery.rendered,
                    )
                except (DeliveryFailed, GitwardError) as exc:
                    log.warning(
                        "notification %s to %s:%s failed: %s",
                        delivery.template,
                        dest.service,
                        dest.recipient,
                        exc,
                    )
                    record.pop(delivery.key, None)
                    self.deliveries[(dest.service, dest.trigger, "failed")] += 1
                    continue
                self.deliveries[(dest.service, dest.trigger, "succeeded")] += 1
                sent.append(delivery.key)
            if record != read_record(app):
                await self._write_record(app, record)
            return sent

    async def _send(
        self,
        session: aiohttp.ClientSession,
        service_type: str,
        name: str,
        options: Obj,
        recipient: str,
        app: Obj,
        rendered: Obj,
    ) -> None:
        for attempt in range(ATTEMPTS):
            try:
                await send(session, service_type, name, options, recipient, app, rendered)
                return
            except DeliveryFailed as exc:
                if not exc.retry or attempt == ATTEMPTS - 1:
                    raise
                await asyncio.sleep(self.backoff * 2**attempt)

    async def _write_record(self, app: Obj, record: dict[str, int]) -> None:
        meta = app["metadata"]
        patch = {
            "metadata": {
                "annotations": {NOTIFIED: json.dumps(record, sort_keys=True) if record else None}
            }
        }
        with contextlib.suppress(NotFound):
            await self.client.patch(
                APPLICATION_API,
                "Application",
                meta["name"],
                meta.get("namespace", self.namespace),
                patch,
            )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._session is not None:
            await self._session.close()
