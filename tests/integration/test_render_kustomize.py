"""Kustomize sources rendered by the real kustomize binary from the project's toolchain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitward.localkube import Toolchain
from gitward.model import parse_source
from gitward.render import (
    RemoteBaseRefused,
    RenderEnv,
    RenderTools,
    ToolFailed,
    ToolMissing,
    detect,
    render,
)
from tests.support.trees import snapshot, write_tree

SHA = "0123456789abcdef0123456789abcdef01234567"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
"""

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""

TREE = {
    "base/kustomization.yaml": "resources: [deployment.yaml, service.yaml]\n"
    "labels:\n- pairs: {app.kubernetes.io/part-of: shop}\n",
    "base/deployment.yaml": DEPLOYMENT,
    "base/service.yaml": SERVICE,
    "overlays/dev/kustomization.yaml": "resources: [../../base]\nnamePrefix: dev-\n"
    "namespace: dev\n",
    "overlays/staging/kustomization.yaml": "resources: [../../base]\nnamePrefix: staging-\n"
    "namespace: staging\nimages:\n- name: nginx\n  newTag: '1.26'\n"
    "replicas:\n- name: web\n  count: 2\n",
    "overlays/production/kustomization.yml": "resources: [../../base]\nnamePrefix: prod-\n"
    "namespace: production\nimages:\n- name: nginx\n  newName: registry.example.com/nginx\n"
    "  newTag: '1.27'\nreplicas:\n- name: web\n  count: 5\n"
    "configMapGenerator:\n- name: settings\n  literals: [LOG_LEVEL=warn]\n",
    "components/monitoring/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\n"
    "kind: Component\ncommonAnnotations:\n  monitoring: enabled\n",
}


@pytest.fixture
def tools(toolchain: Toolchain) -> RenderTools:
    return RenderTools(kustomize=toolchain.binary("kustomize"), helm=toolchain.binary("helm"))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "repo", TREE)


def env_for(path: str) -> RenderEnv:
    return RenderEnv(
        app_name="shop-web",
        app_namespace="argocd-target",
        revision=SHA,
        repo_url="https://example.com/shop.git",
        source_path=path,
        target_revision="main",
    )


async def run(repo: Path, tools: RenderTools, path: str, **source: Any) -> list[dict[str, Any]]:
    spec = parse_source({"repoURL": "https://example.com/shop.git", "path": path, **source})
    return await render(repo, spec, env_for(path), tools)


def by_kind(objs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in objs}


@pytest.mark.parametrize(
    ("overlay", "prefix", "namespace", "image", "replicas"),
    [
        ("dev", "dev-", "dev", "nginx:1.25", 1),
        ("staging", "staging-", "staging", "nginx:1.26", 2),
        ("production", "prod-", "production", "registry.example.com/nginx:1.27", 5),
    ],
)
async def test_overlays_render_their_environment(
    repo: Path,
    tools: RenderTools,
    overlay: str,
    prefix: str,
    namespace: str,
    image: str,
    replicas: int,
) -> None:
    path = f"overlays/{overlay}"
    assert detect(repo / path, parse_source({"repoURL": "u"})) == "kustomize"
    objs = by_kind(await run(repo, tools, path))
    deploy = objs["Deployment"]
    assert deploy["metadata"]["name"] == f"{prefix}web"
    assert deploy["metadata"]["namespace"] == namespace
    assert deploy["metadata"]["labels"] == {"app.kubernetes.io/part-of": "shop"}
    assert deploy["spec"]["replicas"] == replicas
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == image
    assert objs["Service"]["metadata"]["name"] == f"{prefix}web"


async def test_application_kustomize_options_edit_a_copy_like_argo(
    repo: Path, tools: RenderTools
) -> None:
    before = snapshot(repo)
    objs = await run(
        repo,
        tools,
        "overlays/staging",
        kustomize={
            "namePrefix": "argo-",
            "nameSuffix": "-v2",
            "images": ["nginx=mirror.example.com/nginx:${ARGOCD_APP_REVISION_SHORT}"],
            "commonLabels": {"team": "checkout", "app-name": "$ARGOCD_APP_NAME"},
            "commonAnnotations": {"owner": "$ARGOCD_APP_NAME"},
            "namespace": "override",
            "replicas": [{"name": "web", "count": 7}],
            "patches": [
                {
                    "target": {"kind": "Service", "name": "web"},
                    "patch": "- op: replace\n  path: /spec/ports/0/port\n  value: 8080\n",
                }
            ],
            "components": ["../../components/monitoring"],
        },
    )
    assert snapshot(repo) == before
    o = by_kind(objs)
    deploy, service = o["Deployment"], o["Service"]
    # `kustomize edit set nameprefix` replaces the overlay's own prefix, as in Argo CD
    assert deploy["metadata"]["name"] == "argo-web-v2"
    assert deploy["metadata"]["namespace"] == "override"
    assert deploy["spec"]["replicas"] == 7
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "mirror.example.com/nginx:0123456"
    assert deploy["metadata"]["labels"]["team"] == "checkout"
    assert deploy["metadata"]["labels"]["app-name"] == "shop-web"
    assert deploy["spec"]["selector"]["matchLabels"]["team"] == "checkout"
    # annotations are taken literally unless commonAnnotationsEnvsubst is set
    assert deploy["metadata"]["annotations"]["owner"] == "$ARGOCD_APP_NAME"
    assert deploy["metadata"]["annotations"]["monitoring"] == "enabled"
    assert service["spec"]["ports"][0]["port"] == 8080


async def test_annotation_envsubst_and_kustomization_yml(repo: Path, tools: RenderTools) -> None:
    objs = await run(
        repo,
        tools,
        "overlays/production",
        kustomize={
            "commonAnnotations": {"revision": "${ARGOCD_APP_REVISION}"},
            "commonAnnotationsEnvsubst": True,
            "patches": [
                {
                    "target": {"kind": "ConfigMap"},
                    "patch": "- op: add\n  path: /data/EXTRA\n  value: 'on'\n",
                }
            ],
        },
    )
    o = by_kind(objs)
    assert o["Deployment"]["metadata"]["annotations"]["revision"] == SHA
    assert o["ConfigMap"]["data"] == {"LOG_LEVEL": "warn", "EXTRA": "on"}


async def test_remote_bases_are_refused_before_kustomize_runs(
    repo: Path, tools: RenderTools
) -> None:
    write_tree(
        repo,
        {
            "overlays/remote/kustomization.yaml": "resources:\n- ../../base\n"
            "- github.com/example/platform//base?ref=v1.0.0\n",
            "overlays/https/kustomization.yaml": "resources: [../nested]\n",
            "overlays/nested/kustomization.yaml": "resources:\n"
            "- https://raw.githubusercontent.com/example/x/main/cm.yaml\n",
        },
    )
    with pytest.raises(RemoteBaseRefused) as info:
        await run(repo, tools, "overlays/remote")
    assert info.value.kustomization == "overlays/remote/kustomization.yaml"
    assert "github.com/example/platform//base?ref=v1.0.0" in str(info.value)
    with pytest.raises(RemoteBaseRefused, match=r"overlays/nested/kustomization\.yaml: resources"):
        await run(repo, tools, "overlays/https")


async def test_kustomize_failure_reports_command_and_stderr(repo: Path, tools: RenderTools) -> None:
    write_tree(
        repo, {"overlays/broken/kustomization.yaml": "resources: [../../base, missing.yaml]\n"}
    )
    with pytest.raises(ToolFailed) as info:
        await run(repo, tools, "overlays/broken")
    message = str(info.value)
    assert message.startswith("overlays/broken: kustomize build overlays/broken failed (exit 1)")
    assert "missing.yaml" in message
    assert info.value.returncode == 1


async def test_missing_kustomize_says_how_to_get_it(repo: Path) -> None:
    with pytest.raises(ToolMissing, match=r"kustomize is needed .* run `make toolchain`"):
        await run(repo, RenderTools(kustomize=None, helm=None), "overlays/dev")


async def test_empty_kustomization_renders_nothing(repo: Path, tools: RenderTools) -> None:
    write_tree(repo, {"overlays/empty/kustomization.yaml": "resources: []\n"})
    assert await run(repo, tools, "overlays/empty") == []
