"""How render runs tools: environment, isolation, deadlines, concurrency, versions."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from gitward.localkube import Toolchain
from gitward.model import parse_source
from gitward.render import RenderEnv, RenderTools, ToolTimeout, render

ENV = RenderEnv(
    app_name="shop",
    app_namespace="shop-ns",
    revision="0123456789abcdef0123456789abcdef01234567",
    repo_url="https://deploy:tok3n@example.com/shop.git",
    source_path="app",
    target_revision="main",
    kube_version="v1.30.1",
    api_versions=("apps/v1", "example.com/v1"),
)

#: Stands in for kustomize to show what a tool receives; it decides nothing about rendering.
ENV_PRINTER = """#!/bin/sh
cat <<EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: env}
data:
  ARGOCD_APP_NAME: "$ARGOCD_APP_NAME"
  ARGOCD_APP_NAMESPACE: "$ARGOCD_APP_NAMESPACE"
  ARGOCD_APP_REVISION: "$ARGOCD_APP_REVISION"
  ARGOCD_APP_REVISION_SHORT: "$ARGOCD_APP_REVISION_SHORT"
  ARGOCD_APP_SOURCE_PATH: "$ARGOCD_APP_SOURCE_PATH"
  ARGOCD_APP_SOURCE_REPO_URL: "$ARGOCD_APP_SOURCE_REPO_URL"
  ARGOCD_APP_SOURCE_TARGET_REVISION: "$ARGOCD_APP_SOURCE_TARGET_REVISION"
  KUBE_VERSION: "$KUBE_VERSION"
  KUBE_API_VERSIONS: "$KUBE_API_VERSIONS"
  HOME: "$HOME"
  HTTPS_PROXY: "$HTTPS_PROXY"
  LEAK: "${GITWARD_TEST_LEAK:-absent}"
  ARGS: "$*"
EOF
"""


def script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def kustomize_app(root: Path) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app" / "kustomization.yaml").write_text("resources: []\n")
    return root


SOURCE = parse_source({"repoURL": "https://example.com/shop.git", "path": "app"})


async def test_tools_get_the_build_environment_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITWARD_TEST_LEAK", "secret-from-the-caller")
    tools = RenderTools(kustomize=script(tmp_path / "kustomize", ENV_PRINTER), helm=None)
    repo = kustomize_app(tmp_path / "repo")
    [cm] = await render(repo, SOURCE, ENV, tools)
    data = cm["data"]
    assert data["ARGOCD_APP_NAME"] == "shop"
    assert data["ARGOCD_APP_NAMESPACE"] == "shop-ns"
    assert data["ARGOCD_APP_REVISION"] == ENV.revision
    assert data["ARGOCD_APP_REVISION_SHORT"] == "0123456"
    assert data["ARGOCD_APP_SOURCE_PATH"] == "app"
    assert data["ARGOCD_APP_SOURCE_REPO_URL"] == "https://example.com/shop.git"  # no token
    assert data["ARGOCD_APP_SOURCE_TARGET_REVISION"] == "main"
    assert data["KUBE_VERSION"] == "v1.30.1"
    assert data["KUBE_API_VERSIONS"] == "apps/v1,example.com/v1"
    assert data["LEAK"] == "absent"
    assert data["HTTPS_PROXY"] == "http://127.0.0.1:9"  # nothing a tool fetches leaves the host
    assert data["HOME"] != os.environ.get("HOME")
    assert not await asyncio.to_thread(os.path.exists, data["HOME"])  # temp home removed
    assert data["ARGS"] == f"build --load-restrictor=LoadRestrictionsRootOnly {repo / 'app'}"


async def test_a_hanging_tool_is_killed_at_the_deadline(tmp_path: Path) -> None:
    slow = script(tmp_path / "kustomize", "#!/bin/sh\nexec sleep 60\n")
    tools = RenderTools(kustomize=slow, helm=None, timeout=0.5)
    repo = kustomize_app(tmp_path / "repo")
    started = time.monotonic()
    with pytest.raises(ToolTimeout, match=r"app: kustomize build app timed out: no result after"):
        await render(repo, SOURCE, ENV, tools)
    assert time.monotonic() - started < 10


async def test_versions_come_from_the_tools(toolchain: Toolchain) -> None:
    tools = RenderTools(kustomize=toolchain.binary("kustomize"), helm=toolchain.binary("helm"))
    versions = await tools.versions()
    assert versions["kustomize"].startswith(toolchain.versions["kustomize"])
    assert versions["helm"].startswith(toolchain.versions["helm"])
    assert await tools.versions() == versions
    assert await RenderTools(kustomize=None, helm=None).versions() == {}


async def test_renders_run_concurrently_and_agree_with_sequential_runs(
    tmp_path: Path, toolchain: Toolchain
) -> None:
    tools = RenderTools(kustomize=toolchain.binary("kustomize"), helm=toolchain.binary("helm"))
    repo = tmp_path / "repo"
    for env_name in ("dev", "staging", "prod"):
        d = repo / "overlays" / env_name
        d.mkdir(parents=True)
        (d / "kustomization.yaml").write_text(f"resources: [../../base]\nnamePrefix: {env_name}-\n")
    (repo / "base").mkdir()
    (repo / "base" / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (repo / "base" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    (repo / "chart" / "templates").mkdir(parents=True)
    (repo / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: chart\nversion: 0.1.0\n")
    (repo / "chart" / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ .Release.Name }}'}\n"
    )
    specs: list[dict[str, Any]] = [
        {"path": "overlays/dev"},
        {"path": "overlays/staging", "kustomize": {"nameSuffix": "-x"}},
        {"path": "overlays/prod", "kustomize": {"namespace": "p"}},
        {"path": "chart"},
        {"path": "chart", "helm": {"releaseName": "other"}},
        {"path": "base", "directory": {"include": "*.yaml"}},
    ]
    sources = [parse_source({"repoURL": "https://example.com/r.git", **s}) for s in specs]
    sequential = [await render(repo, s, ENV, tools) for s in sources]
    concurrent = await asyncio.gather(*(render(repo, s, ENV, tools) for s in sources))
    assert list(concurrent) == sequential
    assert [o["metadata"]["name"] for objs in sequential for o in objs] == [
        "dev-c",
        "staging-c-x",
        "prod-c",
        "shop",
        "other",
        "c",
    ]
