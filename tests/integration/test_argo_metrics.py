"""/metrics serves Argo CD's metric names with Argo CD's label sets, so the dashboard and
alert rules in deploy/monitoring (written against Argo CD's names) find everything they use."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families

from gitward.cluster import KubeClient, NotFound
from gitward.localkube.process import free_ports
from gitward.server import ControllerServer
from gitward.services import Services, build_controller
from tests.support.apps import configmap, unique, yaml_docs
from tests.support.controller import application
from tests.support.git import GitRepo
from tests.support.poll import eventually

API = "argoproj.io/v1alpha1"
MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"

#: Argo CD's label sets (controller/metrics, repo server), which dashboards group by.
ARGO_LABELS = {
    "argocd_app_info": {
        "namespace", "name", "project", "autosync_enabled", "repo", "dest_server",
        "dest_namespace", "sync_status", "health_status", "operation",
    },
    "argocd_app_condition": {"namespace", "name", "project", "condition"},
    "argocd_app_sync": {"namespace", "name", "project", "dest_server", "phase"},
    "argocd_app_reconcile": {"namespace", "dest_server"},
    "argocd_app_k8s_request": {
        "namespace", "name", "project", "server", "response_code", "verb", "resource_kind",
        "resource_namespace",
    },
    "argocd_cluster_api_resource_objects": {"server"},
    "argocd_cluster_api_resources": {"server"},
    "argocd_cluster_events": {"server", "group", "kind"},
    "argocd_cluster_cache_age_seconds": {"server"},
    "argocd_cluster_connection_status": {"server", "k8s_version"},
    "argocd_cluster_info": {"server", "k8s_version"},
    "argocd_git_request": {"repo", "request_type"},
    "argocd_git_request_duration_seconds": {"repo", "request_type"},
}  # fmt: skip


def used_metrics() -> set[str]:
    """Every metric name the dashboard and the alert rules query."""
    text = (MONITORING / "grafana-dashboard.json").read_text()
    rules = yaml.safe_load((MONITORING / "prometheus-rules.yaml").read_text())
    exprs = [t["expr"] for p in json.loads(text)["panels"] for t in p["targets"]]
    exprs += [r["expr"] for g in rules["spec"]["groups"] for r in g["rules"]]
    names = set()
    for expr in exprs:
        for name in re.findall(r"\b((?:argocd|gitward)_[a-z0-9_]+)", expr):
            names.add(re.sub(r"_(bucket|sum|count|total)$", "", name))
    return names


async def test_dashboards_and_alerts_find_every_metric_with_argo_cds_labels(
    installed: KubeClient, git_repo: Callable[[str], GitRepo], namespace: str
) -> None:
    kube = installed
    repo = git_repo("metrics")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("metrics-cm"))})
    name = unique("metrics")
    ctl = build_controller(await Services.load(kube, "argocd", long_lived=True))
    server = ControllerServer(ctl, kube, "argocd")
    port = free_ports(1)[0]
    await server.start("127.0.0.1", port)
    stop = asyncio.Event()
    task = asyncio.create_task(ctl.run(stop))
    try:
        await kube.apply(application(name, repo, namespace, automated={"prune": True}))
        # An app with a condition of its own, so argocd_app_condition has a sample whatever
        # other tests left behind: its path is not in the repository.
        broken = application(f"{name}-broken", repo, namespace, automated=None)
        broken["spec"]["source"]["path"] = "no-such-path"
        await kube.apply(broken)

        async def scraped() -> dict[str, set[str]] | None:
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}/metrics") as resp,
            ):
                text = await resp.text()
            families: dict[str, set[str]] = {}
            for family in text_string_to_metric_families(text):
                labels: set[str] = set()
                for sample in family.samples:
                    labels |= set(sample.labels) - {"le", "quantile"}
                families[family.name] = labels
            info = [s for f in text_string_to_metric_families(text) if f.name == "argocd_app_info"
                    for s in f.samples if s.labels.get("name") == name]  # fmt: skip
            synced = info and info[0].labels["sync_status"] == "Synced"
            broken_name = f"{name}-broken"
            conditions = [s for f in text_string_to_metric_families(text)
                          if f.name == "argocd_app_condition"
                          for s in f.samples if s.labels.get("name") == broken_name]  # fmt: skip
            ready = synced and conditions and "argocd_app_reconcile" in families
            return families if ready else None

        families = await eventually(scraped, "the app Synced in argocd_app_info", 60)
        missing = sorted(m for m in used_metrics() if m not in families)
        assert not missing, f"dashboards/alerts use metrics /metrics does not serve: {missing}"
        for metric, labels in ARGO_LABELS.items():
            assert metric in families, metric
            assert families[metric] == labels, (metric, families[metric] ^ labels)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await server.stop()
        for app_name in (name, f"{name}-broken"):
            with contextlib.suppress(NotFound):
                await kube.delete(API, "Application", app_name, "argocd")
