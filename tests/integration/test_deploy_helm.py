"""``deploy/chart`` through the real ``helm``: installed, upgraded and uninstalled on a fresh
control plane of its own (kwok nodes run the pods), healthy at each step under the
``restricted`` Pod Security level; and every value ``values.yaml`` documents lints, renders
and changes what it says it changes."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitward.cluster import KubeClient, NotFound
from gitward.install.deploy import restricted
from gitward.install.objects import namespace as namespace_object
from gitward.localkube import LocalCluster, Toolchain
from tests.support.installcheck import (
    describe,
    live_of,
    problems,
    replicas_declared,
    restricted_refuses_a_privileged_pod,
)
from tests.support.owncluster import own_cluster
from tests.support.poll import eventually

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "chart"
NS = "argocd"
KUBE_VERSION = "1.36.3"
Obj = dict[str, Any]


class Helm:
    """The toolchain's ``helm`` with its own configuration, cache and data directories."""

    def __init__(self, toolchain: Toolchain, home: Path, kubeconfig: Path | None = None) -> None:
        self.binary = str(toolchain.binary("helm"))
        self.kubeconfig = kubeconfig
        self.env = {
            **os.environ,
            "HOME": str(home),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        where = ["--kubeconfig", str(self.kubeconfig)] if self.kubeconfig else []
        return subprocess.run(
            [self.binary, *args, *where], capture_output=True, text=True, check=False,
            timeout=300, env=self.env,
        )  # fmt: skip

    def ok(self, *args: str) -> str:
        done = self(*args)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "WARNING" not in done.stderr.upper(), done.stderr
        return done.stdout


def docs(text: str) -> list[Obj]:
    return [d for d in yaml.safe_load_all(text) if d]


# -- install, upgrade, uninstall on a control plane of its own -------------------------------


@pytest.fixture(scope="module")
def helm_cluster(toolchain: Toolchain) -> Iterator[LocalCluster]:
    """A fresh control plane with one kwok node, for this module alone."""
    with own_cluster(toolchain, "helm") as cluster:
        yield cluster


@pytest.fixture
async def helm_kube(helm_cluster: LocalCluster) -> AsyncIterator[KubeClient]:
    async with await KubeClient.from_kubeconfig(str(helm_cluster.kubeconfig)) as kube:
        yield kube


async def _healthy(kube: KubeClient, declared: list[Obj], what: str) -> None:
    async def none_wrong() -> bool:
        return not await problems(kube, declared, NS)

    try:
        await eventually(none_wrong, what, 180)
    except AssertionError:
        raise AssertionError(f"{what}: {await problems(kube, declared, NS)}") from None


async def test_helm_install_upgrade_and_uninstall_of_the_chart(
    toolchain: Toolchain, helm_cluster: LocalCluster, helm_kube: KubeClient, tmp_path: Path
) -> None:
    kube = helm_kube
    helm = Helm(toolchain, tmp_path / "helm", helm_cluster.kubeconfig)
    # The release's namespace is the user's, labelled as install.yaml labels its own (Helm
    # does not own the namespace it installs into); the API server enforces the level.
    await kube.create(restricted(namespace_object(NS)))
    refusal = restricted_refuses_a_privileged_pod(toolchain, helm_cluster, NS)
    assert 'violates PodSecurity "restricted' in refusal, refusal

    helm.ok("install", "gitward", str(CHART), "--namespace", NS, "--wait", "--timeout", "180s")
    declared = docs(helm.ok("get", "manifest", "gitward", "--namespace", NS))
    crds = docs((CHART / "crds" / "crds.yaml").read_text())
    assert {o["kind"] for o in declared} >= {
        "StatefulSet", "Deployment", "Service", "ServiceAccount", "ClusterRole",
        "ClusterRoleBinding", "Role", "RoleBinding", "PodDisruptionBudget", "NetworkPolicy",
        "AppProject",
    }  # fmt: skip
    await _healthy(kube, crds + declared, "the chart's objects healthy after install")
    pods = await kube.list("v1", "Pod", NS)
    assert len(pods) == replicas_declared(declared) == 2  # one controller, one server

    # An upgrade with a changed value rolls out the new replica counts; the controller's
    # replicas learn the shard count.
    helm.ok(
        "upgrade", "gitward", str(CHART), "--namespace", NS, "--reuse-values",
        "--set", "controller.replicas=2", "--set", "server.replicas=2",
        "--wait", "--timeout", "180s",
    )  # fmt: skip
    upgraded = docs(helm.ok("get", "manifest", "gitward", "--namespace", NS))
    await _healthy(kube, crds + upgraded, "the chart's objects healthy after the upgrade")
    assert replicas_declared(upgraded) == 4
    assert len(await kube.list("v1", "Pod", NS)) == 4
    sts = await kube.get("apps/v1", "StatefulSet", "gitward-application-controller", NS)
    args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--shards") + 1] == "2"
    history = json.loads(helm.ok("history", "gitward", "--namespace", NS, "--output", "json"))
    assert [(h["revision"], h["status"]) for h in history] == [(1, "superseded"), (2, "deployed")]

    # Uninstalling removes what the release installed; the CRDs stay, as Helm keeps them
    # (deleting a CRD would delete every Application), and so does the user's namespace.
    helm.ok("uninstall", "gitward", "--namespace", NS, "--wait", "--timeout", "180s")

    async def left_over() -> list[str]:
        left = []
        for obj in upgraded:
            try:
                await live_of(kube, obj)
            except NotFound:
                continue
            left.append(describe(obj))
        return left + [describe(p) for p in await kube.list("v1", "Pod", NS)]

    async def all_gone() -> bool:
        return not await left_over()

    try:
        await eventually(all_gone, "every object of the release to be deleted", 120)
    except AssertionError:
        raise AssertionError(f"left after uninstall: {await left_over()}") from None
    assert await problems(kube, crds, NS) == []  # still there, still Established
    await kube.get("v1", "Namespace", NS)
    listed = json.loads(helm.ok("list", "--all-namespaces", "--all", "--output", "json"))
    assert listed == []


# -- every documented value lints, renders and does something --------------------------------

#: One changed value for every leaf of values.yaml, and what it must change in the render.
#: A value added to values.yaml without a line here fails the coverage test below.
CHANGES: dict[str, tuple[Any, str]] = {
    "image.repository": ("registry.local/gitward", "registry.local/gitward:0.1.0"),
    "image.tag": ("9.9.9", "ghcr.io/gitward/gitward:9.9.9"),
    "image.pullPolicy": ("Always", "imagePullPolicy: Always"),
    "controller.replicas": (3, '- --shards\n        - "3"'),
    "controller.resources.requests.cpu": ("333m", "cpu: 333m"),
    "controller.resources.requests.memory": ("333Mi", "memory: 333Mi"),
    "controller.resources.limits.memory": ("3Gi", "memory: 3Gi"),
    "server.enabled": (False, ""),
    "server.replicas": (3, "replicas: 3"),
    "server.insecure": (True, "- --insecure"),
    "server.extraArgs": (["--application-namespaces", "team-*"], '- "team-*"'),
    "server.rbac.resourceEdits": (True, "verbs: [update, patch, delete]"),
    "server.resources.requests.cpu": ("111m", "cpu: 111m"),
    "server.resources.requests.memory": ("111Mi", "memory: 111Mi"),
    "server.resources.limits.memory": ("1111Mi", "memory: 1111Mi"),
    "defaultProject": (False, ""),
    "networkPolicy.enabled": (False, ""),
    "metrics.serviceMonitor.enabled": (True, "kind: ServiceMonitor"),
}


def leaves(values: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(values, dict) and values:
        for key, value in values.items():
            yield from leaves(value, f"{prefix}{key}.")
    else:
        yield prefix.rstrip(".")


def test_every_documented_value_has_a_render_check() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert sorted(leaves(values)) == sorted(CHANGES)


@pytest.fixture(scope="module")
def default_render(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> str:
    helm = Helm(toolchain, tmp_path_factory.mktemp("helm-default"))
    return helm.ok("template", "gitward", str(CHART), "--namespace", NS,
                   "--kube-version", KUBE_VERSION)  # fmt: skip


@pytest.mark.parametrize("value", sorted(CHANGES))
def test_a_documented_value_lints_renders_and_changes_the_render(
    value: str, toolchain: Toolchain, tmp_path: Path, default_render: str
) -> None:
    setting, expected = CHANGES[value]
    helm = Helm(toolchain, tmp_path / "helm")
    flag = ["--set-json", f"{value}={json.dumps(setting)}"]
    helm.ok("lint", str(CHART), "--strict", "--kube-version", KUBE_VERSION, *flag)
    rendered = helm.ok("template", "gitward", str(CHART), "--namespace", NS,
                       "--kube-version", KUBE_VERSION, *flag)  # fmt: skip
    assert rendered != default_render, f"{value}={setting} changed nothing"
    if expected:
        assert expected in rendered
        assert expected not in default_render
    else:  # a switch turned off: fewer objects, every one of them still valid YAML
        assert len(docs(rendered)) < len(docs(default_render))


#: Values the schema (values.schema.json) refuses, and the field its error must name.
REFUSED = [
    ('controller.replicas="two"', "/controller/replicas"),
    ("controller.replicas=0", "/controller/replicas"),
    ('server.extraArgs="--x"', "/server/extraArgs"),
    ('image.tag="1.0 --set x"', "/image/tag"),
    ('image.repository="../../etc"', "/image/repository"),
    ('image.pullPolicy="Sometimes"', "/image/pullPolicy"),
    ('controller.resources.limits.memory="1Gi; rm"', "/controller/resources/limits/memory"),
    ("controler.replicas=2", "'controler' not allowed"),
    ("server.rbac.resourceEdit=true", "'resourceEdit' not allowed"),
]


@pytest.mark.parametrize(("bad", "named"), REFUSED)
def test_a_wrong_value_is_refused_naming_its_field(
    bad: str, named: str, toolchain: Toolchain, tmp_path: Path
) -> None:
    helm = Helm(toolchain, tmp_path / "helm")
    for verb in (["lint", str(CHART), "--strict"], ["template", "gitward", str(CHART)]):
        done = helm(*verb, "--kube-version", KUBE_VERSION, "--set-json", bad)
        assert done.returncode != 0, done.stdout
        assert named in done.stdout + done.stderr, done.stdout + done.stderr


# -- hostile values never become other YAML ---------------------------------------------------


def _server_args(rendered: str) -> list[str]:
    [deployment] = [o for o in docs(rendered) if o["kind"] == "Deployment"]
    args: list[str] = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return args


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    args=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=3),
    tag=st.text(min_size=1, max_size=20),
)
def test_any_text_in_a_value_is_refused_or_rendered_as_that_text(
    args: list[str], tag: str, toolchain: Toolchain, tmp_path: Path, default_render: str
) -> None:
    helm = Helm(toolchain, tmp_path / "helm")
    # Extra arguments are arbitrary text the operator means: each arrives as one argument.
    done = helm("template", "gitward", str(CHART), "--namespace", NS,
                "--kube-version", KUBE_VERSION, "--set-json",
                f"server.extraArgs={json.dumps(args)}")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _server_args(done.stdout)[-len(args) :] == args
    assert len(docs(done.stdout)) == len(docs(default_render))
    # An image tag is refused by the schema, naming the field, or is the image's tag.
    done = helm("template", "gitward", str(CHART), "--namespace", NS,
                "--kube-version", KUBE_VERSION, "--set-json",
                f"image.tag={json.dumps(tag)}")  # fmt: skip
    if done.returncode != 0:
        assert "/image/tag" in done.stderr, done.stderr
        return
    images = {
        c["image"]
        for o in docs(done.stdout)
        if o["kind"] in ("Deployment", "StatefulSet")
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    assert images == {f"ghcr.io/gitward/gitward:{tag}"}
