"""Argo CD's metric names, labels and types, so existing dashboards and alerts keep working.

Argo CD users already watch ``argocd_app_info``, ``argocd_app_sync_total``,
``argocd_app_reconcile``, ``argocd_git_request_total``,
``argocd_cluster_api_resource_objects`` and friends; a migration should not cost them their
Grafana boards. This collector serves those families with Argo CD's label sets beside
gitward's own ``gitward_*`` ones, read from the controller's state at scrape time.

Where gitward does not observe what Argo CD labels, the label is present and empty rather
than invented: ``argocd_app_k8s_request_total`` counts requests per cluster, verb and
status without attributing them to an app or kind; ``argocd_cluster_events_total`` counts
events per cluster with empty ``group``/``kind``. ``argocd_git_request_duration_seconds``
has only its ``+Inf`` bucket (gitward keeps the sum and count of git time per repository,
not its distribution), so ``rate(_sum)/rate(_count)`` works and quantiles do not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector, CollectorRegistry

from gitward.controller import Controller
from gitward.model.application import split_qualified
from gitward.model.repourl import normalize_url, redact_url

Obj = dict[str, Any]
APP_LABELS = ["namespace", "name", "project"]
#: Argo CD's buckets, chosen there for a ~2 s mean reconcile.
RECONCILE_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 16)


def _map(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _text(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) and value else default


def app_identity(app: Obj, default_namespace: str) -> list[str]:
    meta, spec = _map(app.get("metadata")), _map(app.get("spec"))
    return [
        _text(meta.get("namespace"), default_namespace),
        _text(meta.get("name")),
        _text(spec.get("project"), "default"),
    ]


def _source(spec: Obj) -> Obj:
    sources = spec.get("sources")
    first = _map(sources[0]) if isinstance(sources, list) and sources else {}
    return _map(spec.get("source")) or first


def app_info(app: Obj, default_namespace: str) -> list[str]:
    """``argocd_app_info``'s label values, in Argo CD's order."""
    meta, spec, status = _map(app.get("metadata")), _map(app.get("spec")), _map(app.get("status"))
    dest = _map(spec.get("destination"))
    automated = _map(spec.get("syncPolicy")).get("automated")
    enabled = isinstance(automated, dict) and automated.get("enabled", True) is not False
    operation = "delete" if meta.get("deletionTimestamp") else ""
    if not operation and isinstance(_map(app.get("operation")).get("sync"), dict):
        operation = "sync"
    repo = _text(_source(spec).get("repoURL"))
    return [
        *app_identity(app, default_namespace),
        "true" if enabled else "false",
        redact_url(normalize_url(repo)) if repo else "",
        _text(dest.get("server")) or _text(dest.get("name")),
        _text(dest.get("namespace")),
        _text(_map(status.get("sync")).get("status"), "Unknown"),
        _text(_map(status.get("health")).get("status"), "Unknown"),
        operation,
    ]


class ArgoCDCollector(Collector):
    """The controller's state as Argo CD's application controller and repo server report it."""

    def __init__(self, controller: Controller, started: float | None = None) -> None:
        self.controller = controller
        self.started = started if started is not None else time.time()

    def collect(self) -> Iterator[Any]:
        ctl = self.controller
        ns = ctl.namespace
        info = GaugeMetricFamily(
            "argocd_app_info",
            "Information about application.",
            labels=[*APP_LABELS, "autosync_enabled", "repo", "dest_server", "dest_namespace",
                    "sync_status", "health_status", "operation"],
        )  # fmt: skip
        condition = GaugeMetricFamily(
            "argocd_app_condition",
            "Report application conditions.",
            labels=[*APP_LABELS, "condition"],
        )
        for app in ctl.apps.values():
            info.add_metric(app_info(app, ns), 1.0)
            for cond in _map(app.get("status")).get("conditions") or []:
                kind = _text(_map(cond).get("type"))
                if kind:
                    condition.add_metric([*app_identity(app, ns), kind], 1.0)
        yield info
        yield condition
        syncs = CounterMetricFamily(
            "argocd_app_sync_total",
            "Number of application syncs.",
            labels=[*APP_LABELS, "dest_server", "phase"],
        )
        for (key, phase), count in sorted(ctl.reconciler.sync_counts.items()):
            namespace, name = split_qualified(key, ctl.namespace)
            app = ctl.apps.get(key, {"metadata": {"name": name, "namespace": namespace}})
            dest = _map(_map(app.get("spec")).get("destination"))
            server = _text(dest.get("server")) or _text(dest.get("name"))
            syncs.add_metric([*app_identity(app, ns), server, phase], float(count))
        yield syncs
        requests = CounterMetricFamily(
            "argocd_app_k8s_request_total",
            "Number of kubernetes requests executed during application reconciliation.",
            labels=[*APP_LABELS, "server", "response_code", "verb", "resource_kind",
                    "resource_namespace"],
        )  # fmt: skip
        for client in ctl.clients():
            server = redact_url(client.server)
            for (verb, _resource, status), count in sorted(client.responses.items()):
                requests.add_metric(["", "", "", server, str(status), verb, "", ""], float(count))
        yield requests
        yield from self._clusters()
        yield from self._git()

    def _clusters(self) -> Iterator[Any]:
        ctl = self.controller
        objects = GaugeMetricFamily(
            "argocd_cluster_api_resource_objects",
            "Number of k8s resource objects in the cache.",
            labels=["server"],
        )
        resources = GaugeMetricFamily(
            "argocd_cluster_api_resources",
            "Number of monitored kubernetes API resources.",
            labels=["server"],
        )
        events = CounterMetricFamily(
            "argocd_cluster_events_total",
            "Number of processes k8s resource events.",
            labels=["server", "group", "kind"],
        )
        age = GaugeMetricFamily(
            "argocd_cluster_cache_age_seconds", "Cluster cache age in seconds.", labels=["server"]
        )
        connection = GaugeMetricFamily(
            "argocd_cluster_connection_status",
            "The k8s cluster current connection status.",
            labels=["server", "k8s_version"],
        )
        info = GaugeMetricFamily(
            "argocd_cluster_info", "Information about cluster.", labels=["server", "k8s_version"]
        )
        now = time.time()
        for server, cache in sorted(ctl.caches.items()):
            shown = redact_url(server)
            version = ""
            objects.add_metric([shown], float(cache.object_count))
            resources.add_metric([shown], float(len(cache.kinds)))
            events.add_metric([shown, "", ""], float(cache.events))
            age.add_metric([shown], max(0.0, now - self.started))
            connection.add_metric([shown, version], 1.0)
            info.add_metric([shown, version], 1.0)
        yield objects
        yield resources
        yield events
        yield age
        yield connection
        yield info

    def _git(self) -> Iterator[Any]:
        requests = CounterMetricFamily(
            "argocd_git_request_total",
            "Number of git requests performed by repo server",
            labels=["repo", "request_type"],
        )
        duration = HistogramMetricFamily(
            "argocd_git_request_duration_seconds",
            "Git requests duration seconds.",
            labels=["repo", "request_type"],
        )
        for key, stats in sorted(self.controller.git_stats().items()):
            repo = redact_url(key)
            requests.add_metric([repo, "ls-remote"], float(stats.ls_remote))
            requests.add_metric([repo, "fetch"], float(stats.fetches))
            count = float(stats.ls_remote + stats.fetches)
            duration.add_metric([repo, "fetch"], [("+Inf", count)], float(stats.seconds))
        yield requests
        yield duration


def register(controller: Controller, registry: CollectorRegistry) -> Callable[[float, str], None]:
    """Add Argo CD's families to ``registry``; returns the reconcile observer to call."""
    registry.register(ArgoCDCollector(controller))
    reconcile = Histogram(
        "argocd_app_reconcile",
        "Application reconciliation performance in seconds.",
        ["namespace", "dest_server"],
        registry=registry,
        buckets=RECONCILE_BUCKETS,
    )

    def observe(seconds: float, app_name: str) -> None:
        app = controller.apps.get(app_name) or {}
        dest = _map(_map(app.get("spec")).get("destination"))
        server = _text(dest.get("server")) or _text(dest.get("name"))
        namespace = _text(_map(app.get("metadata")).get("namespace"), controller.namespace)
        reconcile.labels(namespace, server).observe(seconds)

    return observe
