"""Jsonnet directory sources, evaluated by the real go-jsonnet binary in its jail."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.cluster import KubeClient
from gitward.localkube import LocalCluster, Toolchain
from gitward.model import parse_source
from gitward.render import RenderEnv, RenderTools, ToolFailed, render
from gitward.render.errors import PathError
from gitward.render.jail import enforced
from tests.support.apps import app_json, unique
from tests.support.brief import gitward
from tests.support.git import GitRepo
from tests.support.trees import write_tree

ENV = RenderEnv("guestbook", "web", "c0ffee" * 6 + "abcd", "https://example.com/r.git", "app")

TREE = {
    "vendor/k.libsonnet": "{ cm(name, data):: {apiVersion: 'v1', kind: 'ConfigMap', "
    "metadata: {name: name}, data: data} }\n",
    "app/params.libsonnet": "{ replicas: 2 }\n",
    "app/a-plain.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n",
    "app/main.jsonnet": """\
local k = import 'k.libsonnet';
local params = import 'params.libsonnet';
function(replicas=params.replicas, tier='none')
  [
    k.cm('settings', {
      env: std.extVar('env'),
      app: std.extVar('app'),
      limits: std.toString(std.extVar('limits').cpu),
      replicas: std.toString(replicas),
      tier: tier,
    }),
    {apiVersion: 'v1', kind: 'List', items: [k.cm('from-list', {})]},
  ]
""",
}

JSONNET = {
    "extVars": [
        {"name": "env", "value": "prod"},
        {"name": "app", "value": "$ARGOCD_APP_NAME"},
        {"name": "limits", "value": "{cpu: 2}", "code": True},
    ],
    "tlas": [{"name": "replicas", "value": "3", "code": True}, {"name": "tier", "value": "web"}],
    "libs": ["vendor"],
}


@pytest.fixture
def tools(toolchain: Toolchain) -> RenderTools:
    return RenderTools(kustomize=None, helm=None, jsonnet=toolchain.binary("jsonnet"))


def _source(**directory: Any) -> Any:
    return parse_source(
        {"repoURL": "https://example.com/r.git", "path": "app", "directory": directory}
    )


async def test_ext_vars_tlas_libs_and_yaml_side_by_side(tmp_path: Path, tools: RenderTools) -> None:
    write_tree(tmp_path, TREE)
    objects = await render(tmp_path, _source(jsonnet=JSONNET), ENV, tools)
    assert [o["metadata"]["name"] for o in objects] == ["plain", "settings", "from-list"]
    assert objects[1]["data"] == {
        "env": "prod",
        "app": "guestbook",
        "limits": "2",
        "replicas": "3",
        "tier": "web",
    }


async def test_errors_name_the_file_and_line(tmp_path: Path, tools: RenderTools) -> None:
    write_tree(tmp_path, {**TREE, "app/main.jsonnet": "{\n  a: error 'broken here',\n}\n"})
    with pytest.raises(ToolFailed) as info:
        await render(tmp_path, _source(jsonnet=JSONNET), ENV, tools)
    assert "app/main.jsonnet:2" in str(info.value)
    assert "broken here" in str(info.value)
    assert str(tmp_path) not in str(info.value)


async def test_output_must_be_objects(tmp_path: Path, tools: RenderTools) -> None:
    write_tree(tmp_path, {"app/main.jsonnet": "[1, 2]\n"})
    with pytest.raises(Exception, match=r"app/main.jsonnet: items\[0\]: expected a Kubernetes"):
        await render(tmp_path, _source(), ENV, tools)


async def test_libs_outside_the_repository_are_refused(tmp_path: Path, tools: RenderTools) -> None:
    write_tree(tmp_path / "repo", TREE)
    with pytest.raises(PathError, match=r"libs\[0\] '../..' leads outside the repository"):
        await render(tmp_path / "repo", _source(jsonnet={"libs": ["../.."]}), ENV, tools)


async def test_the_jail_stops_reading_files_outside_the_repository(
    tmp_path: Path, tools: RenderTools
) -> None:
    if not enforced():
        pytest.fail("Landlock is not available on this kernel: the kernel path jail is off")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret\n")
    write_tree(
        tmp_path / "repo",
        {"app/main.jsonnet": f"{{apiVersion: 'v1', kind: 'ConfigMap', metadata: {{name: 'x'}}, "
         f"data: {{s: importstr '{secret}'}}}}\n"},
    )  # fmt: skip
    with pytest.raises(ToolFailed) as info:
        await render(tmp_path / "repo", _source(), ENV, tools)
    assert "top secret" not in str(info.value)
    assert "permission denied" in str(info.value).lower()


async def test_a_jsonnet_app_syncs(
    installed: KubeClient, cluster: LocalCluster, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    repo = git_repo("jsonnet")
    repo.commit(TREE)
    name, ns = unique("jsonnet"), unique("jsonnet")
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo.url, "path": "app", "directory": {"jsonnet": JSONNET}},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
            "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
        },
    }
    manifest = repo.path.parent / f"{name}.yaml"
    manifest.write_text(yaml.safe_dump(app))
    created = gitward(cluster.kubeconfig, "app", "create", "-f", str(manifest))
    assert created.returncode == 0, created.stderr
    synced = gitward(cluster.kubeconfig, "app", "sync", name)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    settings = await kube.get("v1", "ConfigMap", "settings", ns)
    assert settings["data"]["app"] == name
    assert settings["data"]["replicas"] == "3"
    assert app_json(cluster.kubeconfig, name)["status"]["sync"]["status"] == "Synced"
