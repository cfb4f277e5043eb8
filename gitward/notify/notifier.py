"""The notifier: looks at each Application when it changes, sends what its triggers call
for, and records what was sent on the Application.

``gitward controller`` attaches it to its watch of Applications (:meth:`Notifier.attach`),
so it runs beside the workers, never inside them: a slow SMTP server or a webhook that
times out delays only the notification, never a sync. One app is handled at a time, and
a burst of changes to one app costs one look at its newest state (as Argo CD's
notification controller reads its informer). Deliveries are retried with backoff; one
that still fails is not recorded — the next look tries again. :attr:`Notifier.deliveries`
counts both outcomes for ``argocd_notifications_deliveries_total``.

Once per state change, even across looks that race the record: the record written last is
kept with the Application's resourceVersion after the write, and a look at an older copy
of the app (a change made before the record was written) reads that record instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp

from gitward._util.keyed import KeyedRunner, ObjectFeed
from gitward._util.secretdata import secret_fields
from gitward._util.versions import resource_version
from gitward.cluster import KubeClient, NotFound
from gitward.model.errors import ConfigError, GitwardError
from gitward.model.kinds import API_VERSION, APPLICATION
from gitward.notify.config import CONFIGMAP, SECRET, NotificationConfig, parse_config
from gitward.notify.engine import NOTIFIED, plan, read_record
from gitward.notify.services import DeliveryFailed, send
from gitward.render.gotemplate import GoTemplates

log = logging.getLogger("gitward.notify")
Obj = dict[str, Any]
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
        #: The Application as this notifier's last record write left it, by name.
        self._written: dict[str, Obj] = {}
        self._runner: KeyedRunner[Obj] = KeyedRunner(self._guarded, limit=8, log=log)
        self._active: Callable[[Obj], bool] = lambda _app: True

    def attach(self, apps: ObjectFeed, active: Callable[[Obj], bool] | None = None) -> None:
        """Look at every Application ``apps`` reports, as it changes; ``active(app)`` says
        whether this process notifies for it (with shards: the owner of the app's shard)."""
        if active is not None:
            self._active = active
        apps.subscribe(self._changed)

    def _changed(self, name: str, _old: Obj | None, new: Obj | None) -> None:
        if new is None:
            self._runner.forget(name)
            self._written.pop(name, None)
            self._locks.pop(name, None)
        elif new.get("status") and self._active(new):  # not before its first reconcile
            self._runner.submit(name, new)

    async def config(self) -> NotificationConfig | None:
        now = time.monotonic()
        if self._config is not None and self._config[0] > now:
            return self._config[1]
        config: NotificationConfig | None = None
        try:
            cm = await self.client.get("v1", "ConfigMap", CONFIGMAP, self.namespace)
            try:
                secret = await self.client.get("v1", "Secret", SECRET, self.namespace)
                secrets = secret_fields(secret)
            except NotFound:
                secrets = {}
            config = parse_config(dict(cm.get("data") or {}), secrets)
        except NotFound:
            pass  # notifications are not configured: nothing to do
        except ConfigError as exc:  # said once per CONFIG_TTL, not once per app
            log.warning("notifications are off until %s is fixed: %s", CONFIGMAP, exc)
        self._config = (now + CONFIG_TTL, config)
        return config

    def observe(self, app: Obj) -> None:
        """Look at ``app`` soon, in the background (a newer look at it replaces this one)."""
        self._runner.submit(str(app["metadata"]["name"]), app)

    async def idle(self) -> None:
        """Wait until every look asked for has been taken (tests)."""
        await self._runner.idle()

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
            written = self._written.get(name)
            if written is not None and resource_version(written) > resource_version(app):
                app = written  # this copy predates our last record: it would send again
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
            self._written[meta["name"]] = await self.client.patch(
                API_VERSION,
                APPLICATION,
                meta["name"],
                meta.get("namespace", self.namespace),
                patch,
            )

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set (looks are started by :meth:`attach`'s watch), then
        close: a delivery in flight is cancelled and, not recorded, sent after a restart."""
        await stop.wait()
        await self.close()

    async def close(self) -> None:
        await self._runner.close()
        if self._session is not None:
            await self._session.close()
            self._session = None
