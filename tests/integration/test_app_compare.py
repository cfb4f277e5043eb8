"""Compare and health, end to end: real git repo, real cluster, the CLI as users run it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from gitward.cluster import KubeClient, NotFound
from gitward.localkube import LocalCluster
from gitward.model.tracking import TrackingMethod, with_tracking
from tests.support.apps import (
    app_json,
    create_app,
    unique,
)
from tests.support.brief import brief_repo, gitward
from tests.support.git import GitRepo
from tests.support.poll import eventually


async def _apply_tracked(
    kube: KubeClient, app: str, namespace: str, docs: list[dict[str, Any]]
) -> None:
    """Apply manifests as a sync would (tracking id, destination namespace), by test code."""
    for doc in docs:
        doc = {**doc, "metadata": {**doc["metadata"], "namespace": namespace}}
        await kube.apply(with_tracking(doc, app, TrackingMethod.ANNOTATION), force=True)


def _docs(repo: GitRepo, path: str) -> list[dict[str, Any]]:
    docs = []
    for f in sorted((repo.path / path).glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(f.read_text()) if d]
    return docs


async def test_brief_app_before_and_after_its_objects_exist(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("brief"), unique("myapp")
    repo = git_repo("brief")
    app_file = brief_repo(repo, name, ns)
    created = gitward(cluster.kubeconfig, "app", "create", "-f", str(app_file))
    assert created.returncode == 0, created.stderr
    assert f"application '{name}' created" in created.stdout

    app = app_json(cluster.kubeconfig, name)
    assert app["metadata"]["namespace"] == "argocd"
    status = app["status"]
    assert status["sync"]["status"] == "OutOfSync"
    assert status["sync"]["revision"] == repo.head()
    kinds = sorted((r["kind"], r["status"], r["health"]["status"]) for r in status["resources"])
    assert kinds == [
        ("ConfigMap", "OutOfSync", "Missing"),
        ("Deployment", "OutOfSync", "Missing"),
        ("Service", "OutOfSync", "Missing"),
    ]
    assert status["health"]["status"] == "Missing"

    manifests = gitward(cluster.kubeconfig, "app", "manifests", name)
    assert manifests.returncode == 0, manifests.stderr
    rendered = [d for d in yaml.safe_load_all(manifests.stdout) if d]
    assert {d["kind"] for d in rendered} == {"ConfigMap", "Deployment", "Service"}
    assert all(d["metadata"]["namespace"] == ns for d in rendered)

    assert gitward(cluster.kubeconfig, "app", "diff", name).returncode == 1

    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    await _apply_tracked(kube, name, ns, _docs(repo, "dev"))
    app = app_json(cluster.kubeconfig, name, "--refresh")
    assert app["status"]["sync"]["status"] == "Synced", app["status"]
    diff = gitward(cluster.kubeconfig, "app", "diff", name)
    assert (diff.returncode, diff.stdout) == (0, "")

    async def healthy() -> bool:
        got = app_json(cluster.kubeconfig, name, "--refresh")
        return got["status"]["health"]["status"] == "Healthy"

    await eventually(healthy, "the brief's app to be Healthy once its Pods run")

    # A changed field in Git: OutOfSync, and the diff names the field.
    deployment = (repo.path / "dev" / "deployment.yaml").read_text()
    repo.commit({"dev/deployment.yaml": deployment.replace("myapp:1.0.0", "myapp:1.1.0")})
    app = app_json(cluster.kubeconfig, name, "--refresh")
    assert app["status"]["sync"]["status"] == "OutOfSync"
    changed = [r for r in app["status"]["resources"] if r["status"] == "OutOfSync"]
    assert [r["kind"] for r in changed] == ["Deployment"]
    diff = gitward(cluster.kubeconfig, "app", "diff", name)
    assert diff.returncode == 1
    removed = [line for line in diff.stdout.splitlines() if line.startswith("-")]
    added = [line for line in diff.stdout.splitlines() if line.startswith("+")]
    assert any("image: registry.example.com/myapp:1.0.0" in line for line in removed)
    assert any("image: registry.example.com/myapp:1.1.0" in line for line in added)

    # ignoreDifferences hides it.
    rule = {
        "group": "apps",
        "kind": "Deployment",
        "jqPathExpressions": [".spec.template.spec.containers[].image"],
    }
    await kube.patch(
        "argoproj.io/v1alpha1",
        "Application",
        name,
        "argocd",
        {"spec": {"ignoreDifferences": [rule]}},
    )
    app = app_json(cluster.kubeconfig, name)  # spec changed: any read refreshes
    assert app["status"]["sync"]["status"] == "Synced"
    assert gitward(cluster.kubeconfig, "app", "diff", name).returncode == 0


NO_NOISE_MANIFESTS = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
        - name: db
          image: postgres:16
          resources: {requests: {cpu: "0.25", memory: 256Mi}}
  volumeClaimTemplates:
    - metadata: {name: data}
      spec:
        accessModes: [ReadWriteOnce]
        resources: {requests: {storage: 1Gi}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: job, image: busybox:1.36, args: [date]}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
    - host: web.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: {service: {name: web, port: {number: 80}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 5
  metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports: [{name: http, containerPort: 80}]
          resources: {limits: {cpu: 1000m, memory: 1Gi}}
"""


async def test_no_diff_noise_from_server_defaults(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("noise"), unique("noise")
    repo = git_repo("noise")
    repo.commit({"app/all.yaml": NO_NOISE_MANIFESTS})
    create_app(cluster.kubeconfig, name, repo, "app", ns)
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    await _apply_tracked(kube, name, ns, [d for d in yaml.safe_load_all(NO_NOISE_MANIFESTS) if d])
    diff = gitward(cluster.kubeconfig, "app", "diff", name)
    assert (diff.returncode, diff.stdout) == (0, ""), diff.stdout + diff.stderr
    # ... and right after gitward's own sync too.
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    diff = gitward(cluster.kubeconfig, "app", "diff", name)
    assert (diff.returncode, diff.stdout) == (0, ""), diff.stdout + diff.stderr
    app = app_json(cluster.kubeconfig, name, "--refresh")
    assert {r["kind"]: r["status"] for r in app["status"]["resources"]} == {
        "CronJob": "Synced",
        "Deployment": "Synced",
        "HorizontalPodAutoscaler": "Synced",
        "Ingress": "Synced",
        "Service": "Synced",
        "StatefulSet": "Synced",
    }


async def test_unschedulable_deployment_is_progressing_then_degraded(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("stuck"), unique("stuck")
    stuck = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "stuck"},
        "spec": {
            "replicas": 1,
            "progressDeadlineSeconds": 15,
            "selector": {"matchLabels": {"app": "stuck"}},
            "template": {
                "metadata": {"labels": {"app": "stuck"}},
                "spec": {
                    "nodeSelector": {"kubernetes.io/hostname": "no-such-node"},
                    "containers": [{"name": "c", "image": "nginx:1.27"}],
                },
            },
        },
    }
    repo = git_repo("stuck")
    repo.commit({"app/stuck.yaml": yaml.safe_dump(stuck)})
    create_app(cluster.kubeconfig, name, repo, "app", ns)
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    await _apply_tracked(kube, name, ns, [stuck])
    seen: list[str] = []

    async def degraded() -> bool:
        got = app_json(cluster.kubeconfig, name, "--refresh")
        seen.append(got["status"]["health"]["status"])
        return seen[-1] == "Degraded"

    await eventually(degraded, "the unschedulable Deployment to be Degraded", timeout=90)
    assert seen[0] == "Progressing"
    assert "Healthy" not in seen
    message = app_json(cluster.kubeconfig, name)["status"]["health"].get("message", "")
    assert "progress deadline" in message


def test_errors_are_one_clear_line(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo], tmp_path: Path
) -> None:
    missing = gitward(cluster.kubeconfig, "app", "get", "no-such-app")
    assert missing.returncode == 2
    assert (
        missing.stderr.strip() == "error: application 'no-such-app' not found in namespace 'argocd'"
    )

    config = yaml.safe_load(cluster.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:9"  # nothing listens there
    unreachable_config = tmp_path / "unreachable"
    unreachable_config.write_text(yaml.safe_dump(config))
    unreachable = gitward(unreachable_config, "app", "list")
    assert unreachable.returncode == 2
    assert unreachable.stderr.startswith(
        "error: cannot reach the API server at https://127.0.0.1:9"
    )
    assert len(unreachable.stderr.strip().splitlines()) == 1

    name = unique("broken")
    repo = git_repo("broken")
    repo.commit({"app/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n"})
    create_app(cluster.kubeconfig, name, repo, "app", "x")
    app = app_json(cluster.kubeconfig, name)
    assert app["status"]["sync"]["status"] == "Unknown"
    (condition,) = app["status"]["conditions"]
    assert condition["type"] == "ComparisonError"
    # File, line (where the parser found the unclosed list: the end of the file) and document.
    assert "app/bad.yaml:5: document 1: invalid YAML" in condition["message"]
    manifests = gitward(cluster.kubeconfig, "app", "manifests", name)
    assert manifests.returncode == 2
    assert "app/bad.yaml" in manifests.stderr
    assert "Traceback" not in manifests.stderr


async def test_label_tracking_from_argocdconfigmap(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("label"), unique("label")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "b"}}
    repo = git_repo("label")
    repo.commit({"app/cm.yaml": yaml.safe_dump(cm)})
    settings = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-cm", "namespace": "argocd"},
        "data": {"application.resourceTrackingMethod": "label"},
    }
    await kube.apply(settings)
    try:
        create_app(
            cluster.kubeconfig, name, repo, "app", ns, "--sync-option", "CreateNamespace=true"
        )
        assert gitward(cluster.kubeconfig, "app", "sync", name).returncode == 0
        live = await kube.get("v1", "ConfigMap", "cfg", ns)
        assert live["metadata"]["labels"] == {"app.kubernetes.io/instance": name}
        assert "argocd.argoproj.io/tracking-id" not in (live["metadata"].get("annotations") or {})
        # A labelled object Git does not declare requires pruning.
        extra = {
            **cm,
            "metadata": {
                "name": "extra",
                "namespace": ns,
                "labels": {"app.kubernetes.io/instance": name},
            },
        }
        await kube.apply(extra)
        app = app_json(cluster.kubeconfig, name, "--refresh")
        pruning = [r["name"] for r in app["status"]["resources"] if r.get("requiresPruning")]
        assert pruning == ["extra"]
    finally:
        with contextlib.suppress(NotFound):
            await kube.delete("v1", "ConfigMap", "argocd-cm", "argocd")


IGNORE_KEY = "resource.customizations.ignoreDifferences"


async def test_ignore_differences_from_argocdconfigmap_by_kind_and_for_all(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    """``resource.customizations.ignoreDifferences.<group_kind>`` and ``.all`` in argocd-cm."""
    kube = installed
    name, ns = unique("cmignore"), unique("cmignore")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"k": "a"}}
    sa = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "runner", "labels": {"tier": "git"}},
    }
    repo = git_repo("cmignore")
    repo.commit({"app/cm.yaml": yaml.safe_dump(cm), "app/sa.yaml": yaml.safe_dump(sa)})
    create_app(cluster.kubeconfig, name, repo, "app", ns, "--sync-option", "CreateNamespace=true")
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr

    def out_of_sync(app: dict[str, Any]) -> list[str]:
        return sorted(r["kind"] for r in app["status"]["resources"] if r["status"] == "OutOfSync")

    # Someone changes both objects by hand: both are OutOfSync.
    await kube.patch("v1", "ConfigMap", "cfg", ns, {"data": {"k": "by hand"}})
    await kube.patch("v1", "ServiceAccount", "runner", ns, {"metadata": {"labels": {"tier": "x"}}})
    app = app_json(cluster.kubeconfig, name, "--refresh")
    assert app["status"]["sync"]["status"] == "OutOfSync"
    assert out_of_sync(app) == ["ConfigMap", "ServiceAccount"]

    settings: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-cm", "namespace": "argocd"},
        # The core group is empty: Argo CD spells the key with the Kind alone.
        "data": {f"{IGNORE_KEY}.ConfigMap": "jsonPointers:\n- /data/k\n"},
    }
    await kube.apply(settings, force=True)
    try:
        app = app_json(cluster.kubeconfig, name, "--refresh")
        assert out_of_sync(app) == ["ServiceAccount"], app["status"].get("conditions")
        assert app["status"]["sync"]["status"] == "OutOfSync"

        settings["data"][f"{IGNORE_KEY}.all"] = "jqPathExpressions:\n- .metadata.labels.tier\n"
        await kube.apply(settings, force=True)
        app = app_json(cluster.kubeconfig, name, "--refresh")
        assert app["status"]["sync"]["status"] == "Synced", app["status"].get("conditions")
        assert out_of_sync(app) == []
        diff = gitward(cluster.kubeconfig, "app", "diff", name)
        assert (diff.returncode, diff.stdout) == (0, ""), diff.stderr
        # Ignored, not forgotten: the live values are still the hand-made ones.
        assert (await kube.get("v1", "ConfigMap", "cfg", ns))["data"] == {"k": "by hand"}
    finally:
        with contextlib.suppress(NotFound):
            await kube.delete("v1", "ConfigMap", "argocd-cm", "argocd")
