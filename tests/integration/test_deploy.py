"""``deploy/``: the committed manifests match the generator, ``install.yaml`` applies cleanly to
a fresh control plane under the restricted Pod Security level and becomes a healthy set of
objects (the chart likewise: ``test_deploy_helm.py``), and the controller
started the way its pod starts — a service-account token at the in-cluster path, the
``KUBERNETES_SERVICE_*`` variables, the manifest's own arguments — reconciles an app."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.cluster import KubeClient, NotFound
from gitward.install import ComponentOptions
from gitward.install.components import controller_objects
from gitward.install.deploy import base_files, chart_crds
from gitward.install.objects import controller_rbac, default_project, server_rbac
from gitward.install.server import server_objects
from gitward.localkube import LocalCluster, Toolchain
from tests.support.apps import unique
from tests.support.git import GitRepo, SmartHttpServer
from tests.support.installcheck import (
    problems,
    replicas_declared,
    restricted_refuses_a_privileged_pod,
)
from tests.support.pods import pod_argv, service_account
from tests.support.poll import eventually
from tests.support.schemas import TEMPLATE, export

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
API = "argoproj.io/v1alpha1"


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, check=False, timeout=300,
        env={**os.environ, "HOME": "/tmp", **(env or {})},
    )  # fmt: skip


def docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def test_committed_manifests_are_what_the_generator_writes(toolchain: Toolchain) -> None:
    for name, text in base_files().items():
        assert (DEPLOY / "manifests" / name).read_text() == text, f"run `make manifests` ({name})"
    assert (DEPLOY / "chart" / "crds" / "crds.yaml").read_text() == chart_crds()
    built = run(str(toolchain.binary("kustomize")), "build", str(DEPLOY / "manifests"))
    assert built.returncode == 0, built.stderr
    assert docs((DEPLOY / "install.yaml").read_text()) == docs(built.stdout)


def key(obj: dict[str, Any]) -> tuple[str, str, str]:
    return obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def test_the_chart_lints_and_renders_the_generators_objects(toolchain: Toolchain) -> None:
    helm = str(toolchain.binary("helm"))
    lint = run(helm, "lint", str(DEPLOY / "chart"), "--strict", "--kube-version", "1.36.3")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    rendered = run(
        helm, "template", "gitward", str(DEPLOY / "chart"), "--namespace", "argocd",
        "--kube-version", "1.36.3", "--set", "controller.replicas=3",
        "--set", "metrics.serviceMonitor.enabled=true",
        "--set", "image.repository=registry.local/gitward", "--set", "image.tag=9.9.9",
        "--set", "server.replicas=2", "--set", "server.insecure=true",
        "--set", "server.rbac.resourceEdits=true",
        "--set", "server.extraArgs={--application-namespaces,team-*}",
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    options = ComponentOptions(
        "argocd", "registry.local/gitward:9.9.9", 3, True, server_replicas=2,
        server_insecure=True, server_extra_args=("--application-namespaces", "team-*"),
        server_resource_edits=True,
    )  # fmt: skip
    expected = [
        *controller_rbac("argocd"), default_project("argocd"), *controller_objects(options),
        *server_rbac("argocd", resource_edits=True), *server_objects(options),
    ]  # fmt: skip
    assert {key(o): o for o in docs(rendered.stdout)} == {key(o): o for o in expected}
    # The defaults are the generator's defaults; the server can be left out.
    plain = run(helm, "template", "gitward", str(DEPLOY / "chart"), "--namespace", "argocd",
                "--kube-version", "1.36.3")  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    defaults = ComponentOptions("argocd")
    expected = [
        *controller_rbac("argocd"), default_project("argocd"), *controller_objects(defaults),
        *server_rbac("argocd"), *server_objects(defaults),
    ]  # fmt: skip
    assert {key(o): o for o in docs(plain.stdout)} == {key(o): o for o in expected}
    without = run(helm, "template", "gitward", str(DEPLOY / "chart"), "--namespace", "argocd",
                  "--kube-version", "1.36.3", "--set", "server.enabled=false")  # fmt: skip
    assert without.returncode == 0, without.stderr
    assert [o for o in docs(without.stdout) if o["kind"] == "StatefulSet"]
    assert not [o for o in docs(without.stdout) if "server" in o["metadata"]["name"]]


def kubectl(
    toolchain: Toolchain, cluster: LocalCluster, *args: str
) -> subprocess.CompletedProcess[str]:
    return run(str(toolchain.binary("kubectl")), "--kubeconfig", str(cluster.kubeconfig), *args)


async def test_install_yaml_on_a_fresh_control_plane_is_a_healthy_set_of_objects(
    toolchain: Toolchain, second_cluster: LocalCluster
) -> None:
    # The server decides first, changing nothing (the namespace exists so that the dry-run
    # reaches the objects inside it), then the same file is applied for real.
    made = kubectl(toolchain, second_cluster, "create", "namespace", "argocd")
    assert made.returncode == 0, made.stderr
    dry = kubectl(toolchain, second_cluster, "apply", "--server-side", "--dry-run=server",
                  "-f", str(DEPLOY / "install.yaml"))  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert "Warning" not in dry.stderr, dry.stderr
    assert "deployment.apps/gitward-server serverside-applied (server dry run)" in dry.stdout
    applied = kubectl(
        toolchain, second_cluster, "apply", "--server-side", "-f", str(DEPLOY / "install.yaml")
    )
    assert applied.returncode == 0, applied.stderr
    assert "Warning" not in applied.stderr, applied.stderr
    declared = docs((DEPLOY / "install.yaml").read_text())
    async with await KubeClient.from_kubeconfig(str(second_cluster.kubeconfig)) as kube:
        ns = await kube.get("v1", "Namespace", "argocd")
        assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        refusal = restricted_refuses_a_privileged_pod(toolchain, second_cluster, "argocd")
        assert 'violates PodSecurity "restricted' in refusal, refusal

        # The restricted level admitted the pods: created, scheduled, Running and Ready; every
        # object is there and healthy (CRDs Established, workloads rolled out).
        async def healthy() -> bool:
            return not await problems(kube, declared, "argocd")

        try:
            await eventually(healthy, "install.yaml's objects healthy", 180)
        except AssertionError:
            raise AssertionError(await problems(kube, declared, "argocd")) from None
        assert len(await kube.list("v1", "Pod", "argocd")) == replicas_declared(declared) == 2
        deleted = kubectl(
            toolchain, second_cluster, "delete", "-f", str(DEPLOY / "install.yaml"), "--wait"
        )
        assert deleted.returncode == 0, deleted.stderr

        async def ns_gone() -> bool:
            try:
                await kube.get("v1", "Namespace", "argocd")
            except NotFound:
                return True
            return False

        await eventually(ns_gone, "the argocd namespace to be deleted", 120)


# -- the controller as its pod runs it -------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[SmartHttpServer, GitRepo]]:
    base = tmp_path / "served"
    repo = GitRepo(base / "apps")
    server = SmartHttpServer(base)
    yield server, repo
    server.stop()


def _pod_container(replicas: int) -> dict[str, Any]:
    [sts] = [
        o
        for o in controller_objects(ComponentOptions(replicas=replicas))
        if o["kind"] == "StatefulSet"
    ]
    return dict(sts["spec"]["template"]["spec"]["containers"][0])


async def test_the_controller_runs_in_cluster_as_its_pod(
    installed: KubeClient,
    toolchain: Toolchain,
    cluster: LocalCluster,
    tmp_path: Path,
    served: tuple[SmartHttpServer, GitRepo],
) -> None:
    kube = installed
    for obj in controller_rbac("argocd"):
        await kube.apply(obj)
    account = service_account(
        toolchain, cluster, "gitward-application-controller", tmp_path / "serviceaccount"
    )
    server, repo = served
    name, target = unique("incluster"), unique("ic")
    repo.commit({"app/cm.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\n"})
    pod_name = "gitward-application-controller-1"
    argv = pod_argv(
        _pod_container(replicas=2), cluster=cluster, toolchain=toolchain, account=account,
        scratch=tmp_path, listen="127.0.0.1:0", pod_name=pod_name,
    )  # fmt: skip
    log = (tmp_path / "controller.log").open("w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)  # noqa: ASYNC220
    app = {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "source": {"repoURL": server.url(repo), "path": "app"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": target},
            "syncPolicy": {"automated": {}, "syncOptions": ["CreateNamespace=true"]},
        },
    }
    try:
        await kube.apply(app)

        async def synced() -> bool:
            try:
                await kube.get("v1", "ConfigMap", name, target)
            except NotFound:
                return False
            return True

        await eventually(synced, "the in-cluster controller to sync the app", 90)
        lease_holders = [
            (lease.get("spec") or {}).get("holderIdentity", "")
            for lease in await kube.list("coordination.k8s.io/v1", "Lease", "argocd")
        ]
        assert any(pod_name in holder for holder in lease_holders), lease_holders
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
        log.close()
        with contextlib.suppress(NotFound):
            await kube.delete(API, "Application", name, "argocd")


async def test_kubeconform_accepts_the_manifests_under_the_servers_own_schemas(
    installed: KubeClient, toolchain: Toolchain, tmp_path: Path
) -> None:
    schemas = tmp_path / "schemas"

    async def crds_published() -> bool:
        # A CRD's OpenAPI reaches /openapi/v3 a moment after it is Established.
        index = await installed.get_path("/openapi/v3")
        return "apis/argoproj.io/v1alpha1" in index.get("paths", {})

    await eventually(crds_published, "argoproj.io in the server's OpenAPI v3", 30)
    assert await export(installed, schemas) > 100
    location = f"{schemas}/{TEMPLATE}"
    rendered = run(
        str(toolchain.binary("helm")), "template", "gitward", str(DEPLOY / "chart"),
        "--namespace", "argocd", "--kube-version", "1.36.3",
        "--set", "controller.replicas=3", "--include-crds",
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    (tmp_path / "chart.yaml").write_text(rendered.stdout)
    check = [
        str(toolchain.binary("kubeconform")),
        "-strict",
        "-summary",
        "-schema-location",
        location,
    ]
    for path in (DEPLOY / "install.yaml", tmp_path / "chart.yaml"):
        done = run(*check, str(path))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Invalid: 0, Errors: 0, Skipped: 0" in done.stdout, done.stdout
    # ... and it would have said so: a misspelt field fails the same check.
    broken = (DEPLOY / "install.yaml").read_text().replace("serviceName:", "serviceNmae:")
    (tmp_path / "broken.yaml").write_text(broken)
    done = run(*check, str(tmp_path / "broken.yaml"))
    assert done.returncode != 0
    assert "serviceNmae" in done.stdout
