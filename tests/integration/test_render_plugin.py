"""Config management plugins (Argo CD's sidecar contract) run as jailed local processes."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.cluster import KubeClient, NotFound
from gitward.localkube import LocalCluster
from gitward.model import ApplicationSource, parse_source
from gitward.model.plugins import parse_plugins
from gitward.render import RenderEnv, RenderTools, ToolFailed, UnsupportedSource, render
from gitward.render.jail import enforced
from tests.support.apps import app_json, unique
from tests.support.brief import gitward
from tests.support.git import GitRepo
from tests.support.trees import write_tree

ENV = RenderEnv("plugged", "web", "ab" * 20, "https://example.com/r.git", "app")
NO_TOOLS = RenderTools(kustomize=None, helm=None)

GENERATE = """\
set -e
printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: from-plugin\\ndata:\\n'
printf '  app: "%s"\\n' "$ARGOCD_APP_NAME"
printf '  revision: "%s"\\n' "$ARGOCD_APP_REVISION_SHORT"
printf '  foo: "%s"\\n' "$ARGOCD_ENV_FOO"
printf '  replicas: "%s"\\n' "$PARAM_REPLICAS"
printf '  tag0: "%s"\\n' "$PARAM_TAGS_0"
printf '  team: "%s"\\n' "$PARAM_LABELS_TEAM"
printf '  init: "%s"\\n' "$(cat generated.txt)"
printf '  file: "%s"\\n' "$(cat data.txt)"
printf '  leaked: "%s"\\n' "$(env | grep -c GITWARD_TEST_SECRET || true)"
"""

PLUGINS = yaml.safe_dump_all(
    [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ConfigManagementPlugin",
            "metadata": {"name": "envsubst"},
            "spec": {
                "version": "v1.0",
                "init": {"command": ["sh", "-c"], "args": ["echo ready > generated.txt"]},
                "generate": {"command": ["sh", "-c"], "args": [GENERATE]},
                "discover": {"fileName": "./data.txt"},
            },
        },
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ConfigManagementPlugin",
            "metadata": {"name": "reader"},
            "spec": {
                "generate": {"command": ["sh", "-c", 'cat "$ARGOCD_ENV_FILE"']},
                "discover": {
                    "find": {"command": ["sh", "-c", "test -f read-me && echo yes || true"]}
                },
            },
        },
    ]
)

PLUGIN_SOURCE = {
    "name": "envsubst-v1.0",
    "env": [{"name": "FOO", "value": "app-$ARGOCD_APP_NAME"}],
    "parameters": [
        {"name": "replicas", "string": "3"},
        {"name": "tags", "array": ["blue", "green"]},
        {"name": "labels", "map": {"team": "web"}},
    ],
}


def _source(plugin: dict[str, Any]) -> ApplicationSource:
    return parse_source({"repoURL": "https://example.com/r.git", "path": "app", "plugin": plugin})


async def test_named_plugin_gets_argo_cds_environment(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app/data.txt": "hello"})
    os.environ["GITWARD_TEST_SECRET"] = "do-not-leak"
    try:
        objects = await render(
            tmp_path, _source(PLUGIN_SOURCE), ENV, NO_TOOLS, plugins=parse_plugins(PLUGINS)
        )
    finally:
        del os.environ["GITWARD_TEST_SECRET"]
    (cm,) = objects
    assert cm["data"] == {
        "app": "plugged",
        "revision": "abababa",
        "foo": "app-plugged",
        "replicas": "3",
        "tag0": "blue",
        "team": "web",
        "init": "ready",
        "file": "hello",
        "leaked": "0",
    }
    assert not (tmp_path / "app" / "generated.txt").exists()  # init wrote into a copy


async def test_discovery_by_file_name_and_by_command(tmp_path: Path) -> None:
    plugins = parse_plugins(PLUGINS)
    write_tree(tmp_path / "one", {"app/data.txt": "x"})
    objects = await render(tmp_path / "one", _source({}), ENV, NO_TOOLS, plugins=plugins)
    assert objects[0]["metadata"]["name"] == "from-plugin"
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: r}\n"
    write_tree(tmp_path / "two", {"app/read-me": "", "app/cm.yaml": cm})
    source = _source({"env": [{"name": "FILE", "value": "cm.yaml"}]})
    objects = await render(tmp_path / "two", source, ENV, NO_TOOLS, plugins=plugins)
    assert objects[0]["metadata"]["name"] == "r"
    write_tree(tmp_path / "none", {"app/x.txt": ""})
    with pytest.raises(UnsupportedSource, match="no config management plugin's discover rule"):
        await render(tmp_path / "none", _source({}), ENV, NO_TOOLS, plugins=plugins)


async def test_unknown_plugin_names_the_known_ones(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app/data.txt": ""})
    with pytest.raises(UnsupportedSource, match=r"'nope'.*known: envsubst-v1.0, reader"):
        await render(
            tmp_path, _source({"name": "nope"}), ENV, NO_TOOLS, plugins=parse_plugins(PLUGINS)
        )


async def test_the_jail_keeps_a_plugin_inside_the_repository(tmp_path: Path) -> None:
    if not enforced():
        pytest.fail("Landlock is not available on this kernel: the kernel path jail is off")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    write_tree(tmp_path / "repo", {"app/cm.yaml": ""})
    source = _source({"name": "reader", "env": [{"name": "FILE", "value": str(secret)}]})
    with pytest.raises(ToolFailed) as info:
        await render(tmp_path / "repo", source, ENV, NO_TOOLS, plugins=parse_plugins(PLUGINS))
    assert "top secret" not in str(info.value)
    assert "Permission denied" in str(info.value)


async def test_a_plugin_app_syncs(
    installed: KubeClient,
    cluster: LocalCluster,
    git_repo: Callable[[str], GitRepo],
    tmp_path: Path,
) -> None:
    kube = installed
    await kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm", "namespace": "argocd"},
            "data": {"gitward.configManagementPlugins": PLUGINS},
        },
        force=True,
    )
    try:
        repo = git_repo("plugin")
        repo.commit({"app/data.txt": "from git"})
        name, ns = unique("plugin"), unique("plugin")
        app = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {
                "project": "default",
                "source": {"repoURL": repo.url, "path": "app", "plugin": PLUGIN_SOURCE},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
                "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
            },
        }
        manifest = tmp_path / "app.yaml"
        manifest.write_text(yaml.safe_dump(app))
        created = gitward(cluster.kubeconfig, "app", "create", "-f", str(manifest))
        assert created.returncode == 0, created.stderr
        synced = gitward(cluster.kubeconfig, "app", "sync", name)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        cm = await kube.get("v1", "ConfigMap", "from-plugin", ns)
        assert cm["data"]["app"] == name
        assert cm["data"]["file"] == "from git"
        status = app_json(cluster.kubeconfig, name)["status"]
        assert status["sourceType"] == "Plugin"
        assert status["sync"]["status"] == "Synced"
    finally:
        with contextlib.suppress(NotFound):
            await kube.delete("v1", "ConfigMap", "argocd-cm", "argocd")
