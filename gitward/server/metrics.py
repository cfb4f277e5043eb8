"""Prometheus metrics of a running controller, read at scrape time.

A collector reads the controller's own state (its apps' last status, queue
depth, request counters, git statistics) when Prometheus scrapes, instead of
updating gauges on every event: nothing is counted twice and a scrape always
agrees with the Applications' status. Names follow Argo CD's with the
``gitward_`` prefix (``gitward_app_info`` ~ ``argocd_app_info``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from gitward.appset import AppSetController
from gitward.controller import Controller
from gitward.dora import Recorder
from gitward.images import ImageUpdater
from gitward.model.application import split_qualified
from gitward.model.repourl import redact_url
from gitward.notify import Notifier
from gitward.server import appsetmetrics, argometrics, deliverymetrics

Obj = dict[str, Any]


def _mapping(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _text(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) and value else default


def app_info_labels(app: Obj) -> list[str]:
    """The ``gitward_app_info`` labels of one Application object, whatever its fields hold.

    The object is user input: a field of the wrong type gives an empty label, never a
    failed scrape, and the repository URL is shown without its user-info.
    """
    meta, spec = _mapping(app.get("metadata")), _mapping(app.get("spec"))
    status = _mapping(app.get("status"))
    sources = spec.get("sources")
    source = _mapping(spec.get("source")) or (
        _mapping(sources[0]) if isinstance(sources, list) and sources else {}
    )
    dest = _mapping(spec.get("destination"))
    policy = _mapping(spec.get("syncPolicy"))
    automated = policy.get("automated")
    enabled = isinstance(automated, dict) and automated.get("enabled", True) is not False
    return [
        _text(meta.get("namespace")),
        _text(meta.get("name")),
        _text(spec.get("project"), "default"),
        redact_url(_text(source.get("repoURL"))),
        redact_url(_text(dest.get("server")) or _text(dest.get("name"))),
        _text(dest.get("namespace")),
        _text(_mapping(status.get("sync")).get("status"), "Unknown"),
        _text(_mapping(status.get("health")).get("status"), "Unknown"),
        "true" if enabled else "false",
    ]


class ControllerCollector(Collector):
    def __init__(self, controller: Controller) -> None:
        self.controller = controller

    def collect(self) -> Iterator[Any]:
        ctl = self.controller
        info = GaugeMetricFamily(
            "gitward_app_info",
            "Information about each Application, with its sync and health status.",
            labels=[
                "namespace",
                "name",
                "project",
                "repo",
                "dest_server",
                "dest_namespace",
                "sync_status",
                "health_status",
                "autosync_enabled",
            ],
        )
        for app in ctl.apps.values():
            info.add_metric(app_info_labels(app), 1.0)
        yield info
        syncs = CounterMetricFamily(
            "gitward_app_sync",
            "Syncs run by the controller, by app and phase.",
            labels=["namespace", "name", "phase"],
        )
        for (key, phase), count in sorted(ctl.reconciler.sync_counts.items()):
            syncs.add_metric([*split_qualified(key, ctl.namespace), phase], float(count))
        yield syncs
        depth = GaugeMetricFamily("gitward_app_queue_depth", "Apps waiting to be reconciled.")
        depth.add_metric([], float(len(ctl.queue)))
        yield depth
        requests = CounterMetricFamily(
            "gitward_kubernetes_requests",
            "Requests to the Kubernetes API by cluster, verb, resource and HTTP status"
            " (0: no answer).",
            labels=["server", "verb", "resource", "status"],
        )
        for client in ctl.clients():
            server = redact_url(client.server)
            for (verb, resource, status), count in sorted(client.responses.items()):
                requests.add_metric([server, verb, resource, str(status)], float(count))
        yield requests
        objects = GaugeMetricFamily(
            "gitward_cluster_cache_objects",
            "Live objects held by the watch cache, by cluster.",
            labels=["server"],
        )
        kinds = GaugeMetricFamily(
            "gitward_cluster_cache_kinds", "Kinds watched, by cluster.", labels=["server"]
        )
        events = CounterMetricFamily(
            "gitward_cluster_cache_events",
            "Watch events applied to the cache, by cluster.",
            labels=["server"],
        )
        for server, cache in sorted(ctl.caches.items()):
            shown = redact_url(server)
            objects.add_metric([shown], float(cache.object_count))
            kinds.add_metric([shown], float(len(cache.kinds)))
            events.add_metric([shown], float(cache.events))
        yield objects
        yield kinds
        yield events
        shards = GaugeMetricFamily(
            "gitward_controller_shards_owned",
            "Shards this replica owns (1 with one shard per replica; 0 while standing by).",
        )
        shards.add_metric([], float(len(ctl.sharding.owned)))
        yield shards
        git = CounterMetricFamily(
            "gitward_git_requests",
            "Git commands run, by repository and kind.",
            labels=["repo", "request_type"],
        )
        failures = CounterMetricFamily(
            "gitward_git_request_failures",
            "Git commands that failed, by repository.",
            labels=["repo"],
        )
        seconds = CounterMetricFamily(
            "gitward_git_request_duration_seconds",
            "Seconds spent in git, by repository.",
            labels=["repo"],
        )
        for key, stats in sorted(ctl.git_stats().items()):
            repo = redact_url(key)
            git.add_metric([repo, "ls-remote"], float(stats.ls_remote))
            git.add_metric([repo, "fetch"], float(stats.fetches))
            failures.add_metric([repo], float(getattr(stats, "failures", 0)))
            seconds.add_metric([repo], float(stats.seconds))
        yield git
        yield failures
        yield seconds


class Metrics:
    """The registry a controller's /metrics serves."""

    def __init__(
        self,
        controller: Controller,
        appsets: AppSetController | None = None,
        *,
        notifier: Notifier | None = None,
        recorder: Recorder | None = None,
        images: ImageUpdater | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        if appsets is not None:
            appsetmetrics.register(appsets, self.registry)
        if notifier is not None:
            deliverymetrics.register_notifications(notifier, self.registry)
        if recorder is not None:
            deliverymetrics.register_dora(recorder, self.registry)
        if images is not None:
            deliverymetrics.register_images(images, controller.namespace, self.registry)
        self.registry.register(ControllerCollector(controller))
        self.reconcile_seconds = Histogram(
            "gitward_app_reconcile_seconds",
            "Seconds one reconcile of one app took (refresh, and sync when one ran).",
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
        )
        argo_reconcile = argometrics.register(controller, self.registry)

        def observe(seconds: float, app_name: str) -> None:
            self.reconcile_seconds.observe(seconds)
            argo_reconcile(seconds, app_name)

        controller.observe_reconcile = observe

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))
