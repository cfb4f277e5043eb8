"""ApplicationSet metrics, with Argo CD's names: an info gauge, owned apps, reconcile time.

``argocd_appset_info`` (labels namespace, name, resource_update_status: the
``ResourcesUpToDate`` condition's status), ``argocd_appset_owned_applications``,
the ``argocd_appset_reconcile`` histogram, and gitward's
``gitward_appset_deletion_held`` (apps a held deletion would remove: alert on it
being above 0 — a person has to look).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gitward.appset import AppSetController
from gitward.appset.plan import controller_of
from gitward.model.kinds import APPLICATION_SET


class AppSetCollector(Collector):
    def __init__(self, appsets: AppSetController) -> None:
        self.appsets = appsets

    def collect(self) -> Iterator[Any]:
        info = GaugeMetricFamily(
            "argocd_appset_info",
            "Information about ApplicationSets.",
            labels=["namespace", "name", "resource_update_status"],
        )
        owned = GaugeMetricFamily(
            "argocd_appset_owned_applications",
            "Applications each ApplicationSet owns.",
            labels=["namespace", "name"],
        )
        held = GaugeMetricFamily(
            "gitward_appset_deletion_held",
            "Applications a held deletion would remove (gitward.io/max-delete), per set.",
            labels=["namespace", "name"],
        )
        counts: dict[str, int] = {}
        for app in self.appsets.apps.applications().values():
            ref = controller_of(app)
            if ref is not None and ref.get("kind") == APPLICATION_SET:
                counts[str(ref.get("name"))] = counts.get(str(ref.get("name")), 0) + 1
        for name, obj in sorted(self.appsets.appsets.objects.items()):
            namespace = str((obj.get("metadata") or {}).get("namespace", ""))
            status = obj.get("status") or {}
            up_to_date = next(
                (
                    str(c.get("status", ""))
                    for c in status.get("conditions") or []
                    if c.get("type") == "ResourcesUpToDate"
                ),
                "",
            )
            info.add_metric([namespace, name, up_to_date], 1)
            owned.add_metric([namespace, name], counts.get(name, 0))
            waiting = (status.get("heldDeletion") or {}).get("applications") or []
            held.add_metric([namespace, name], len(waiting))
        yield info
        yield owned
        yield held


def register(appsets: AppSetController, registry: CollectorRegistry) -> None:
    """Serve the ApplicationSet metrics from ``registry``; time each reconcile."""
    registry.register(AppSetCollector(appsets))
    reconcile = Histogram(
        "argocd_appset_reconcile",
        "Seconds one reconcile of one ApplicationSet took.",
        registry=registry,
        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
    )
    appsets.observe_reconcile = reconcile.observe
