"""An upgrade in place: the previous release's install.yaml and controller run apps until
they are Synced and Healthy with history, then the current install.yaml is applied over it
and the current controller takes over. Apps stay Synced/Healthy, their history and
operationState survive unchanged, nothing is applied again or pruned, and every status
names the current layout (:mod:`gitward.appstate.layout`).

The previous release is this repository at :data:`PREVIOUS`: the last commit before the
in-cluster API server and layout numbering (the parent of the first commit of 7 December
2026), taken with ``git archive`` — its manifests, CRDs and controller code.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gitward.appstate.layout import LAYOUT, LAYOUT_FIELD
from gitward.cluster import KubeClient
from gitward.localkube import LocalCluster, Toolchain
from gitward.localkube.process import free_ports
from tests.support.git import GitRepo, SmartHttpServer
from tests.support.owncluster import own_cluster
from tests.support.poll import eventually

ROOT = Path(__file__).resolve().parents[2]
PREVIOUS = "9847288"
API = "argoproj.io/v1alpha1"
APPS = ("upgrade-web", "upgrade-config", "upgrade-pruned")


@pytest.fixture(scope="module")
def upgrade_cluster(toolchain: Toolchain) -> Iterator[LocalCluster]:
    """A cluster of its own: the test installs an older gitward over nothing else."""
    with own_cluster(toolchain, "upgrade") as cluster:
        yield cluster


def previous_release(dest: Path) -> Path:
    """This repository's tree at :data:`PREVIOUS`, extracted into ``dest``."""
    archive = dest / "previous.tar"
    with archive.open("wb") as out:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", PREVIOUS],
            stdout=out, stderr=subprocess.PIPE, check=False, timeout=120,
        )  # fmt: skip
    assert done.returncode == 0, f"the previous release is not in this clone: {done.stderr!r}"
    tree = dest / "previous"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def kubectl(toolchain: Toolchain, cluster: LocalCluster, *args: str) -> str:
    done = subprocess.run(
        [str(toolchain.binary("kubectl")), "--kubeconfig", str(cluster.kubeconfig), *args],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr
    return done.stdout


@contextlib.contextmanager
def controller(kubeconfig: Path, code: Path, log: Path) -> Iterator[str]:
    """``gitward controller`` run from the source tree ``code`` (the previous or current
    release), stopped with SIGTERM; yields the URL of its /metrics."""
    port = free_ports(1)[0]
    argv = [sys.executable, "-m", "gitward.cli", "--kubeconfig", str(kubeconfig),
            "--namespace", "argocd", "controller", "--listen", f"127.0.0.1:{port}",
            "--log-format", "json"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(code)}
    with log.open("a") as out:
        proc = subprocess.Popen(argv, cwd=code, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield f"http://127.0.0.1:{port}/metrics"
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def manifests(version: str) -> dict[str, str]:
    web = f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: "registry.local/web:{version}"}}]
"""
    config = (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\ndata: {{v: '{version}'}}\n"
    )
    return {"web/deploy.yaml": web, "web/config.yaml": config, "config/config.yaml": config}


def application(name: str, url: str, path: str, prune: bool) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": url, "path": path, "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
            "syncPolicy": {
                "automated": {"prune": prune, "selfHeal": True},
                "syncOptions": ["CreateNamespace=true"],
            },
        },
    }


def settled(app: dict[str, Any], revision: str) -> bool:
    status = app.get("status") or {}
    return (
        (status.get("sync") or {}).get("status") == "Synced"
        and (status.get("sync") or {}).get("revision") == revision
        and (status.get("health") or {}).get("status") == "Healthy"
        and (status.get("operationState") or {}).get("phase") == "Succeeded"
        and len(status.get("history") or []) == 2
    )


async def live_objects(kube: KubeClient) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(kind, namespace, name) -> (uid, resourceVersion) of everything the apps deployed."""
    out = {}
    for name in APPS:
        for api, kind in (("apps/v1", "Deployment"), ("v1", "ConfigMap")):
            for obj in await kube.list(api, kind, name):
                meta = obj["metadata"]
                if meta["name"] == "kube-root-ca.crt":
                    continue
                out[kind, name, meta["name"]] = (meta["uid"], meta["resourceVersion"])
    return out


async def counters(url: str) -> dict[str, float]:
    """Reconciles and API requests by verb the controller at ``url`` has made."""
    try:
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            text = await resp.text()
    except aiohttp.ClientError:
        return {}
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "gitward_kubernetes_requests_total":
                key = sample.labels.get("verb", "")
            elif sample.name == "gitward_app_reconcile_seconds_count":
                key = "reconciles"
            else:
                continue
            out[key] = out.get(key, 0.0) + sample.value
    return out


async def test_upgrade_in_place_keeps_apps_history_and_operations(
    upgrade_cluster: LocalCluster, toolchain: Toolchain, tmp_path: Path
) -> None:
    previous = previous_release(tmp_path)
    old_install = previous / "deploy" / "install.yaml"
    kubectl(toolchain, upgrade_cluster, "apply", "--server-side", "-f", str(old_install))
    # Both releases poll every 2 s (no webhook here), read from Argo CD's argocd-cm.
    settings = tmp_path / "argocd-cm.yaml"
    settings.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm, namespace: argocd}\n"
        "data: {timeout.reconciliation: 2s, timeout.reconciliation.jitter: 0s}\n"
    )
    kubectl(toolchain, upgrade_cluster, "apply", "--server-side", "-f", str(settings))
    served = tmp_path / "served"
    repo, server = GitRepo(served / "apps"), SmartHttpServer(served)
    log = tmp_path / "controller.log"
    try:
        first = repo.commit(manifests("1"))
        url = server.url(repo)
        async with await KubeClient.from_kubeconfig(str(upgrade_cluster.kubeconfig)) as kube:
            with controller(upgrade_cluster.kubeconfig, previous, log):
                await kube.apply(application(APPS[0], url, "web", prune=True))
                await kube.apply(application(APPS[1], url, "config", prune=False))
                await kube.apply(application(APPS[2], url, "web", prune=True))

                async def all_at(revision: str) -> bool:
                    apps = [await kube.get(API, "Application", n, "argocd") for n in APPS]
                    return all(settled(a, revision) or (
                        revision == first and len((a.get("status") or {}).get("history") or [])
                        == 1 and (a["status"].get("sync") or {}).get("status") == "Synced"
                        and (a["status"].get("health") or {}).get("status") == "Healthy"
                    ) for a in apps)  # fmt: skip

                await eventually(lambda: all_at(first), "the previous release to sync", 120)
                second = repo.commit(manifests("2"))
                await eventually(lambda: all_at(second), "the previous release at commit 2", 120)
            before = {n: await kube.get(API, "Application", n, "argocd") for n in APPS}
            live_before = await live_objects(kube)
            assert len(live_before) == 5, live_before
            for app in before.values():
                assert LAYOUT_FIELD not in app["status"], "the previous release had no layouts"

            # The upgrade: the current manifests over the previous ones, then its controller.
            applied = kubectl(toolchain, upgrade_cluster, "apply", "--server-side",
                              "-f", str(ROOT / "deploy" / "install.yaml"))  # fmt: skip
            assert "deployment.apps/gitward-server serverside-applied" in applied
            with controller(upgrade_cluster.kubeconfig, ROOT, log) as metrics:

                async def migrated() -> bool:
                    apps = [await kube.get(API, "Application", n, "argocd") for n in APPS]
                    return all(a["status"].get(LAYOUT_FIELD) == LAYOUT for a in apps)

                await eventually(migrated, "the current controller to write every status", 120)

                async def cycles() -> bool:
                    return (await counters(metrics)).get("reconciles", 0) >= 4 * len(APPS)

                # Several full refresh cycles after the migration: still nothing to do.
                await eventually(cycles, "four refreshes of every app", 120)
                done = await counters(metrics)
                after = {n: await kube.get(API, "Application", n, "argocd") for n in APPS}
            assert done.get("APPLY", 0) == 0, done
            assert done.get("DELETE", 0) == 0, done
            for name in APPS:
                old, new = before[name]["status"], after[name]["status"]
                assert settled(after[name], second), (name, new)
                assert new["history"] == old["history"], name
                assert new["operationState"] == old["operationState"], name
            assert await live_objects(kube) == live_before
    finally:
        server.stop()
        if log.exists():
            sys.stderr.write(log.read_text()[-4000:])
