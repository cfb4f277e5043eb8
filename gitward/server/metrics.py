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

from gitward.controller import Controller

Obj = dict[str, Any]


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
            spec, status = app.get("spec") or {}, app.get("status") or {}
            source = spec.get("source") or ((spec.get("sources") or [{}])[0])
            dest = spec.get("destination") or {}
            automated = (spec.get("syncPolicy") or {}).get("automated")
            info.add_metric(
                [
                    str(app["metadata"].get("namespace", "")),
                    str(app["metadata"]["name"]),
                    str(spec.get("project") or "default"),
                    str(source.get("repoURL", "")),
                    str(dest.get("server") or dest.get("name") or ""),
                    str(dest.get("namespace", "")),
                    str((status.get("sync") or {}).get("status", "Unknown")),
                    str((status.get("health") or {}).get("status", "Unknown")),
                    "true" if automated is not None and automated.get("enabled", True) else "false",
                ],
                1.0,
            )
        yield info
        syncs = CounterMetricFamily(
            "gitward_app_sync",
            "Syncs run by the controller, by app and phase.",
            labels=["namespace", "name", "phase"],
        )
        for (name, phase), count in sorted(ctl.reconciler.sync_counts.items()):
            syncs.add_metric([ctl.namespace, name, phase], float(count))
        yield syncs
        depth = GaugeMetricFamily("gitward_app_queue_depth", "Apps waiting to be reconciled.")
        depth.add_metric([], float(len(ctl.queue)))
        yield depth
        requests = CounterMetricFamily(
            "gitward_kubernetes_requests",
            "Requests to the Kubernetes API by cluster, verb and HTTP status (0: no answer).",
            labels=["server", "verb", "status"],
        )
        for client in ctl.clients():
            for (verb, status), count in sorted(client.responses.items()):
                requests.add_metric([client.server, verb, str(status)], float(count))
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
            objects.add_metric([server], float(cache.object_count))
            kinds.add_metric([server], float(len(cache.kinds)))
            events.add_metric([server], float(cache.events))
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
        for repo, stats in sorted(ctl.git_stats().items()):
            git.add_metric([repo, "ls-remote"], float(stats.ls_remote))
            git.add_metric([repo, "fetch"], float(stats.fetches))
            failures.add_metric([repo], float(getattr(stats, "failures", 0)))
            seconds.add_metric([repo], float(stats.seconds))
        yield git
        yield failures
        yield seconds


class Metrics:
    """The registry a controller's /metrics serves."""

    def __init__(self, controller: Controller) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(ControllerCollector(controller))
        self.reconcile_seconds = Histogram(
            "gitward_app_reconcile_seconds",
            "Seconds one reconcile of one app took (refresh, and sync when one ran).",
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
        )
        controller.observe_reconcile = self.reconcile_seconds.observe

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))
