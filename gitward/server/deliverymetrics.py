"""Metrics of the delivery loops beside the controller: notifications, DORA records, images.

- ``argocd_notifications_deliveries_total`` (labels ``trigger``, ``service``,
  ``succeeded``): Argo CD's name and labels, so its dashboards and alerts keep working;
  read from the notifier's counts at scrape time.
- ``gitward_dora_deployments_total`` (labels ``namespace``, ``name``, ``project``,
  ``succeeded``): a sync of a revision not deployed yet;
  ``gitward_dora_change_failures_total``: a deployment whose sync failed, or after which
  the app turned Degraded within the failure window; ``gitward_dora_lead_time_seconds``:
  commit time to first Synced and Healthy with it; ``gitward_dora_time_to_restore_seconds``:
  Degraded to Healthy. Counted as this process records them — the durable figures are in
  the records (``gitward stats``); these reset with the process, as counters do.
- ``gitward_image_updates_total`` (labels ``namespace``, ``name``, ``image``): images the
  automation changed; ``gitward_image_update_failures_total`` (``namespace``, ``name``):
  polls that failed (a registry error, refused credentials, a push that could not land).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from gitward.dora import Happened, Recorder
from gitward.images import ImageUpdater
from gitward.notify import Notifier

APP_LABELS = ["namespace", "name", "project"]
#: From a minute to a week: lead times of a busy service up to a forgotten branch.
LEAD_TIME_BUCKETS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400, 2 * 86400, 7 * 86400)
RESTORE_BUCKETS = (30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 7 * 86400)


class NotificationCollector(Collector):
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def collect(self) -> Iterator[Any]:
        family = CounterMetricFamily(
            "argocd_notifications_deliveries",
            "Number of delivered notifications.",
            labels=["trigger", "service", "succeeded"],
        )
        for (service, trigger, outcome), count in sorted(self.notifier.deliveries.items()):
            succeeded = "true" if outcome == "succeeded" else "false"
            family.add_metric([trigger, service, succeeded], float(count))
        yield family


def register_notifications(notifier: Notifier, registry: CollectorRegistry) -> None:
    registry.register(NotificationCollector(notifier))


def register_dora(recorder: Recorder, registry: CollectorRegistry) -> None:
    """Count what ``recorder`` records from now on in ``registry``."""
    deployments = Counter(
        "gitward_dora_deployments",
        "Deployments (syncs of a revision not deployed yet), by app and outcome.",
        [*APP_LABELS, "succeeded"],
        registry=registry,
    )
    failures = Counter(
        "gitward_dora_change_failures",
        "Deployments that failed, or after which the app turned Degraded within the window.",
        APP_LABELS,
        registry=registry,
    )
    lead_time = Histogram(
        "gitward_dora_lead_time_seconds",
        "Seconds from a commit to the app's first Synced and Healthy with it.",
        APP_LABELS,
        registry=registry,
        buckets=LEAD_TIME_BUCKETS,
    )
    restore = Histogram(
        "gitward_dora_time_to_restore_seconds",
        "Seconds from Degraded to Healthy again.",
        APP_LABELS,
        registry=registry,
        buckets=RESTORE_BUCKETS,
    )

    def observe(happened: Happened) -> None:
        labels = (happened.namespace, happened.name, happened.project)
        if happened.kind == "deployment":
            deployments.labels(*labels, "false" if happened.failed else "true").inc()
        elif happened.kind == "change_failure":
            failures.labels(*labels).inc()
        elif happened.kind == "lead_time":
            lead_time.labels(*labels).observe(happened.seconds)
        elif happened.kind == "restore":
            restore.labels(*labels).observe(happened.seconds)

    recorder.observe = observe


class ImageCollector(Collector):
    def __init__(self, updater: ImageUpdater, namespace: str) -> None:
        self.updater = updater
        self.namespace = namespace

    def collect(self) -> Iterator[Any]:
        updates = CounterMetricFamily(
            "gitward_image_updates",
            "Images the image update automation changed, by app and image.",
            labels=["namespace", "name", "image"],
        )
        for (name, image), count in sorted(self.updater.updates.items()):
            updates.add_metric([self.namespace, name, image], float(count))
        yield updates
        failures = CounterMetricFamily(
            "gitward_image_update_failures",
            "Image update polls that failed, by app.",
            labels=["namespace", "name"],
        )
        for name, count in sorted(self.updater.failures.items()):
            failures.add_metric([self.namespace, name], float(count))
        yield failures


def register_images(updater: ImageUpdater, namespace: str, registry: CollectorRegistry) -> None:
    registry.register(ImageCollector(updater, namespace))
