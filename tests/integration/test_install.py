"""gitward install / uninstall against a real API server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from gitward.cluster import KubeClient, UnknownKind
from gitward.install import install, uninstall
from gitward.localkube import LocalCluster, Toolchain
from tests.integration.test_localkube import deployment


def _gitward(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitward.cli", "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_install_twice_is_a_no_op_and_kubectl_sees_applications(
    cluster: LocalCluster, toolchain: Toolchain
) -> None:
    first = _gitward(cluster.kubeconfig, "install")
    assert first.returncode == 0, first.stderr
    second = _gitward(cluster.kubeconfig, "install")
    assert second.returncode == 0, second.stderr
    actions = {line.rsplit(" ", 1)[1] for line in second.stdout.splitlines()}
    assert actions == {"unchanged"}, second.stdout
    assert "CustomResourceDefinition applications.argoproj.io" in second.stdout
    assert "AppProject argocd/default" in second.stdout
    listed = subprocess.run(
        [
            str(toolchain.binary("kubectl")),
            "--kubeconfig",
            str(cluster.kubeconfig),
            "get",
            "applications,appprojects,applicationsets",
            "-n",
            "argocd",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "appproject.argoproj.io/default" in listed.stdout


async def test_crd_keeps_every_field_argo_cd_users_write(kube: KubeClient, namespace: str) -> None:
    await install(kube, "argocd")
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "fields", "namespace": namespace},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": "https://example.com/repo.git",
                "path": "dev",
                "directory": {"recurse": True, "jsonnet": {"tlas": [{"name": "x", "value": "1"}]}},
                "someFutureField": {"nested": [1, 2, 3]},
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "myapp"},
            "syncPolicy": {"automated": {"selfHeal": True, "prune": True}},
        },
        "operation": {"sync": {"revision": "HEAD"}},
    }
    stored = await kube.apply(app)
    assert stored["spec"] == app["spec"]
    assert stored["operation"] == app["operation"]


async def test_uninstall_orphans_workloads(second_cluster: LocalCluster) -> None:
    async with await KubeClient.from_kubeconfig(str(second_cluster.kubeconfig)) as kube:
        await install(kube, "argocd")
        await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "myapp"}})
        await kube.apply(deployment("web", "myapp", 1))
        await kube.apply(
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Application",
                "metadata": {
                    "name": "web",
                    "namespace": "argocd",
                    "finalizers": ["resources-finalizer.argocd.argoproj.io"],
                },
                "spec": {
                    "source": {"repoURL": "https://example.com/r.git", "path": "dev"},
                    "destination": {
                        "server": "https://kubernetes.default.svc",
                        "namespace": "myapp",
                    },
                },
            }
        )
        changes = await uninstall(kube, "argocd")
        assert ("Application argocd/web", "orphaned") in {(c.resource, c.action) for c in changes}
        live = await kube.get("apps/v1", "Deployment", "web", "myapp")
        assert live["metadata"].get("deletionTimestamp") is None
        try:
            await kube.list("argoproj.io/v1alpha1", "Application")
        except UnknownKind:
            pass
        else:
            raise AssertionError("Application kind still served after uninstall")
        again = await uninstall(kube, "argocd")
        assert {c.action for c in again} == {"absent"}


def test_manifests_only_prints_the_server_as_asked_and_applies_nothing(
    cluster: LocalCluster,
) -> None:
    done = _gitward(
        cluster.kubeconfig, "install", "--components", "controller,server", "--manifests-only",
        "--image", "registry.local/gitward:9.9.9", "--replicas", "3", "--server-replicas", "2",
        "--insecure", "--namespace", "gw-printed",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(done.stdout) if d}
    server = docs["Deployment", "gitward-server"]
    assert server["spec"]["replicas"] == 2
    [pod] = server["spec"]["template"]["spec"]["containers"]
    assert pod["image"] == "registry.local/gitward:9.9.9"
    assert pod["args"] == ["--namespace", "gw-printed", "server", "--listen", ":8080", "--insecure"]
    assert docs["StatefulSet", "gitward-application-controller"]["spec"]["replicas"] == 3
    assert [p["port"] for p in docs["Service", "gitward-server"]["spec"]["ports"]] == [80, 443]
    assert ("Role", "gitward-server") in docs
    listed = subprocess.run(
        [sys.executable, "-m", "gitward.cli", "--kubeconfig", str(cluster.kubeconfig),
         "install", "--components", "server,nope"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert listed.returncode != 0
    assert "--components: unknown nope" in listed.stderr
