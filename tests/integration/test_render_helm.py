"""Helm sources rendered by the real helm binary from the project's toolchain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitward.localkube import Toolchain
from gitward.model import parse_source
from gitward.render import (
    ManifestParseError,
    PathError,
    RenderEnv,
    RenderTools,
    ToolFailed,
    UnsupportedSource,
    detect,
    render,
)
from tests.support.trees import snapshot, write_tree

SHA = "fedcba9876543210fedcba9876543210fedcba98"

CHART = {
    "charts/web/Chart.yaml": (
        "apiVersion: v2\nname: web\nversion: 0.1.0\n"
        "dependencies:\n- name: cache\n  version: 0.1.0\n"
    ),
    "charts/web/values.yaml": (
        "replicas: 1\nimage: {repository: nginx, tag: '1.25'}\nport: '80'\n"
        "settings: {}\ncache: {enabled: true}\n"
    ),
    "charts/web/values-dev.yaml": "replicas: 1\nsettings: {env: dev}\n",
    "charts/web/values-prod.yaml": "replicas: 3\nimage: {tag: '1.27'}\nsettings: {env: prod}\n",
    "charts/web/files/banner.txt": "hello from a file\n",
    "charts/web/crds/widget.yaml": (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata:\n  name: widgets.example.com\n"
    ),
    "charts/web/templates/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec:
      containers:
      - name: web
        image: {{ .Values.image.repository }}:{{ .Values.image.tag }}
""",
    "charts/web/templates/configmap.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
data:
  port: {{ .Values.port | quote }}
  port-kind: {{ kindOf .Values.port | quote }}
  kube-version: {{ .Capabilities.KubeVersion.Version | quote }}
  has-widgets: {{ .Capabilities.APIVersions.Has "example.com/v1/Widget" | quote }}
  {{- range $k, $v := .Values.settings }}
  {{ $k }}: {{ $v | quote }}
  {{- end }}
  {{- with .Values.banner }}
  banner: {{ . | quote }}
  {{- end }}
""",
    "charts/web/charts/cache/Chart.yaml": "apiVersion: v2\nname: cache\nversion: 0.1.0\n",
    "charts/web/charts/cache/templates/svc.yaml": (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-cache\n"
        "spec: {ports: [{port: 6379}]}\n"
    ),
}


@pytest.fixture
def tools(toolchain: Toolchain) -> RenderTools:
    return RenderTools(kustomize=toolchain.binary("kustomize"), helm=toolchain.binary("helm"))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "repo", CHART)


ENV = RenderEnv(
    app_name="shop",
    app_namespace="shop-ns",
    revision=SHA,
    repo_url="https://example.com/shop.git",
    source_path="charts/web",
    kube_version="v1.29.4",
    api_versions=("example.com/v1/Widget",),
)


async def run(
    repo: Path, tools: RenderTools, helm: dict[str, Any] | None = None, path: str = "charts/web"
) -> dict[str, dict[str, Any]]:
    source: dict[str, Any] = {"repoURL": "https://example.com/shop.git", "path": path}
    if helm is not None:
        source["helm"] = helm
    objs = await render(repo, parse_source(source), ENV, tools)
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in objs}


async def test_chart_with_vendored_dependency_and_argo_defaults(
    repo: Path, tools: RenderTools
) -> None:
    before = snapshot(repo)
    assert detect(repo / "charts/web", parse_source({"repoURL": "u"})) == "helm"
    objs = await run(repo, tools)
    assert set(objs) == {
        "CustomResourceDefinition/widgets.example.com",  # --include-crds by default
        "Deployment/shop",  # release name defaults to the app name
        "ConfigMap/shop-settings",
        "Service/shop-cache",  # from the dependency vendored in charts/
    }
    deploy = objs["Deployment/shop"]
    assert deploy["metadata"]["namespace"] == "shop-ns"  # the destination namespace
    cm = objs["ConfigMap/shop-settings"]["data"]
    assert cm["kube-version"] == "v1.29.4"
    assert cm["has-widgets"] == "true"
    assert snapshot(repo) == before


@pytest.mark.parametrize(
    ("value_files", "replicas", "image", "env"),
    [
        (["values-dev.yaml"], 1, "nginx:1.25", "dev"),
        (["values-prod.yaml"], 3, "nginx:1.27", "prod"),
        (["values-prod.yaml", "values-dev.yaml"], 1, "nginx:1.27", "dev"),  # later files win
        (["/charts/web/values-prod.yaml"], 3, "nginx:1.27", "prod"),  # leading / = repo root
    ],
)
async def test_value_files_per_environment(
    repo: Path,
    tools: RenderTools,
    value_files: list[str],
    replicas: int,
    image: str,
    env: str,
) -> None:
    objs = await run(repo, tools, {"valueFiles": value_files})
    container = objs["Deployment/shop"]["spec"]["template"]["spec"]["containers"][0]
    assert objs["Deployment/shop"]["spec"]["replicas"] == replicas
    assert container["image"] == image
    assert objs["ConfigMap/shop-settings"]["data"]["env"] == env


async def test_parameters_values_object_and_release_options(repo: Path, tools: RenderTools) -> None:
    objs = await run(
        repo,
        tools,
        {
            "releaseName": "storefront",
            "namespace": "custom-ns",
            "valueFiles": ["values-prod.yaml"],
            "values": "replicas: 9\nsettings: {from: values}\n",
            "valuesObject": {"replicas": 4, "settings": {"from": "valuesObject"}},
            "parameters": [
                {"name": "image.tag", "value": "$ARGOCD_APP_REVISION_SHORT"},
                {"name": "settings.list", "value": "a,b"},
                {"name": "port", "value": "8080", "forceString": True},
            ],
            "fileParameters": [{"name": "banner", "path": "files/banner.txt"}],
            "skipCrds": True,
            "kubeVersion": "1.31.0",
        },
    )
    assert "CustomResourceDefinition/widgets.example.com" not in objs
    deploy = objs["Deployment/storefront"]
    assert deploy["metadata"]["namespace"] == "custom-ns"
    assert deploy["spec"]["replicas"] == 4  # valuesObject wins over values, after value files
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:fedcba9"
    data = objs["ConfigMap/storefront-settings"]["data"]
    assert data["from"] == "valuesObject"
    assert data["list"] == "a,b"  # Argo CD escapes the comma so --set keeps one string
    assert (data["port"], data["port-kind"]) == ("8080", "string")
    assert data["banner"] == "hello from a file\n"
    assert data["kube-version"] == "v1.31.0"


async def test_missing_value_files(repo: Path, tools: RenderTools) -> None:
    with pytest.raises(PathError, match=r"valueFiles\[1\] 'values-qa.yaml': charts/web/values-qa"):
        await run(repo, tools, {"valueFiles": ["values-dev.yaml", "values-qa.yaml"]})
    objs = await run(
        repo,
        tools,
        {"valueFiles": ["values-qa.yaml", "values-prod.yaml"], "ignoreMissingValueFiles": True},
    )
    assert objs["Deployment/shop"]["spec"]["replicas"] == 3


@pytest.mark.parametrize(
    ("value_file", "error", "message"),
    [
        ("../../../etc/passwd", PathError, "leads outside the repository"),
        ("https://example.com/values.yaml", UnsupportedSource, "is a URL"),
        (
            "$values/env/prod.yaml",
            UnsupportedSource,
            r"refers to source \$values, which is not a ref source",
        ),
    ],
)
async def test_value_files_stay_in_the_repository(
    repo: Path, tools: RenderTools, value_file: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await run(repo, tools, {"valueFiles": [value_file]})


async def test_ref_value_files_read_the_ref_tree_and_stay_inside_it(
    repo: Path, tools: RenderTools, tmp_path: Path
) -> None:
    values = tmp_path / "values-repo"
    write_tree(values, {"prod/values.yaml": "replicas: 5\n"})
    (tmp_path / "outside.yaml").write_text("replicas: 9\n")
    source = {"repoURL": "https://example.com/shop.git", "path": "charts/web"}
    good = parse_source({**source, "helm": {"valueFiles": ["$values/prod/values.yaml"]}})
    objs = await render(repo, good, ENV, tools, refs={"values": values})
    (deployment,) = [o for o in objs if o["kind"] == "Deployment"]
    assert deployment["spec"]["replicas"] == 5
    bad = parse_source({**source, "helm": {"valueFiles": ["$values/../outside.yaml"]}})
    with pytest.raises(PathError, match="leads outside the repository"):
        await render(repo, bad, ENV, tools, refs={"values": values})


async def test_missing_local_dependency_is_built_in_a_copy(repo: Path, tools: RenderTools) -> None:
    write_tree(
        repo,
        {
            "charts/api/Chart.yaml": (
                "apiVersion: v2\nname: api\nversion: 0.2.0\ndependencies:\n"
                "- name: common\n  version: 1.0.0\n  repository: file://../common\n"
            ),
            "charts/api/templates/cm.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-api\n"
            ),
            "charts/common/Chart.yaml": "apiVersion: v2\nname: common\nversion: 1.0.0\n",
            "charts/common/templates/sa.yaml": (
                "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ .Release.Name }}-sa\n"
            ),
        },
    )
    before = snapshot(repo)
    objs = await run(repo, tools, path="charts/api")
    assert set(objs) == {"ConfigMap/shop-api", "ServiceAccount/shop-sa"}
    assert snapshot(repo) == before  # no charts/ or Chart.lock written into the tree


async def test_missing_remote_dependency_is_refused_without_network(
    repo: Path, tools: RenderTools
) -> None:
    write_tree(
        repo,
        {
            "charts/db/Chart.yaml": (
                "apiVersion: v2\nname: db\nversion: 0.1.0\ndependencies:\n- name: postgresql\n"
                "  version: 12.0.0\n  repository: https://charts.example.com\n"
            ),
        },
    )
    with pytest.raises(UnsupportedSource, match=r"dependency 'postgresql' .* does not download"):
        await run(repo, tools, path="charts/db")


async def test_template_failure_reports_helm_stderr(repo: Path, tools: RenderTools) -> None:
    write_tree(
        repo,
        {"charts/web/templates/needs.yaml": '{{ required "dbHost is required" .Values.dbHost }}\n'},
    )
    with pytest.raises(ToolFailed) as info:
        await run(repo, tools)
    message = str(info.value)
    assert message.startswith("charts/web: helm template charts/web failed (exit 1)")
    assert "dbHost is required" in message


async def test_non_object_output_names_the_template(repo: Path, tools: RenderTools) -> None:
    write_tree(repo, {"charts/web/templates/oops.yaml": "metadata:\n  name: no-kind\n"})
    with pytest.raises(ManifestParseError, match=r"\(web/templates/oops\.yaml\): document \d+"):
        await run(repo, tools)


async def test_chart_without_templates_renders_nothing(repo: Path, tools: RenderTools) -> None:
    write_tree(repo, {"charts/empty/Chart.yaml": "apiVersion: v2\nname: empty\nversion: 0.1.0\n"})
    assert await run(repo, tools, path="charts/empty") == {}
