"""Health an installation writes in argocd-cm, judged on a real cluster through the CLI."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import yaml

from gitward.cluster import ApiError, KubeClient, NotFound, UnknownKind
from gitward.localkube import LocalCluster
from tests.support.apps import app_json, create_app, unique
from tests.support.brief import gitward
from tests.support.git import GitRepo
from tests.support.poll import eventually

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.health.gitward.test"},
    "spec": {
        "group": "health.gitward.test",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}

HEALTH_KEY = "resource.customizations.health.health.gitward.test_Widget"
SCRIPT = """
hs = {}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for i, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" and condition.status == "False" then
      hs.status = "Degraded"
      hs.message = condition.message
      return hs
    end
  end
end
hs.status = "Healthy"
return hs
"""


@pytest.fixture
async def widgets(installed: KubeClient) -> AsyncIterator[KubeClient]:
    """The Widget CRD, established; argocd-cm removed afterwards."""
    await installed.apply(CRD)

    async def served() -> bool:
        try:
            await installed.list("health.gitward.test/v1", "Widget", "default")
        except (UnknownKind, ApiError):  # not yet discovered, or its storage still starting
            return False
        return True

    await eventually(served, "the Widget CRD to be served")
    yield installed
    with contextlib.suppress(NotFound):
        await installed.delete("v1", "ConfigMap", "argocd-cm", "argocd")


async def _settings(kube: KubeClient, data: dict[str, str]) -> None:
    await kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm", "namespace": "argocd"},
            "data": data,
        },
        force=True,
    )


def _widget_health(app: dict[str, Any]) -> dict[str, Any]:
    (entry,) = [r for r in app["status"]["resources"] if r["kind"] == "Widget"]
    return dict(entry.get("health") or {})


async def test_lua_health_from_argocd_cm_and_a_runaway_script(
    widgets: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = widgets
    name, ns = unique("lua"), unique("lua")
    widget = {
        "apiVersion": "health.gitward.test/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 1},
    }
    repo = git_repo("lua")
    repo.commit({"app/widget.yaml": yaml.safe_dump(widget)})
    await _settings(kube, {HEALTH_KEY: SCRIPT})
    create_app(cluster.kubeconfig, name, repo, "app", ns, "--sync-option", "CreateNamespace=true")
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    # The widget's own controller (this test) reports a failure in its status.
    await kube.patch(
        "health.gitward.test/v1",
        "Widget",
        "w",
        ns,
        {"status": {"conditions": [{"type": "Ready", "status": "False", "message": "disk full"}]}},
    )
    app = app_json(cluster.kubeconfig, name, "--refresh")
    assert _widget_health(app) == {"status": "Degraded", "message": "disk full"}
    assert app["status"]["health"]["status"] == "Degraded"
    assert not [c for c in app["status"].get("conditions") or [] if c["type"] == "HealthCheckError"]

    for script, reason in (
        ("while true do end", "stopped after 20,000,000 instructions"),
        ("os.execute('touch /tmp/gitward-lua') return {status = 'Healthy'}", "'execute'"),
    ):
        await _settings(kube, {HEALTH_KEY: script})
        app = app_json(cluster.kubeconfig, name, "--refresh")
        health = _widget_health(app)
        assert health["status"] == "Unknown"
        assert reason in health["message"]
        (condition,) = [c for c in app["status"]["conditions"] if c["type"] == "HealthCheckError"]
        assert condition["message"].startswith(f"Widget {ns}/w: argocd-cm health of")
        assert reason in condition["message"]
        assert app["status"]["sync"]["status"] == "Synced"  # a bad script blocks nothing

    await _settings(kube, {HEALTH_KEY: SCRIPT})
    app = app_json(cluster.kubeconfig, name, "--refresh")
    assert _widget_health(app)["status"] == "Degraded"
    assert not [c for c in app["status"].get("conditions") or [] if c["type"] == "HealthCheckError"]
