"""``gitward appset``: generate a file's Applications without a cluster; create, list, delete."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import yaml

from gitward.cluster import KubeClient, NotFound
from gitward.localkube import Toolchain
from tests.support.apps import configmap, unique, yaml_docs
from tests.support.brief import gitward
from tests.support.git import GitRepo
from tests.support.poll import eventually

API = "argoproj.io/v1alpha1"


def set_file(path: Path, name: str, repo: GitRepo, go_template: bool = False) -> Path:
    spec: dict = {
        "generators": [
            {"git": {"repoURL": repo.url, "revision": "main", "directories": [{"path": "apps/*"}]}}
        ],
        "template": {
            "metadata": {"name": f"{name}-{{{{path.basename}}}}"},
            "spec": {
                "project": "default",
                "source": {"repoURL": repo.url, "path": "{{path}}"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
            },
        },
    }
    if go_template:
        spec["goTemplate"] = True
        spec["template"]["metadata"]["name"] = f"{name}-" + "{{ .path.basename | upper | lower }}"
        spec["template"]["spec"]["source"]["path"] = "{{ .path.path }}"
    doc = {"apiVersion": API, "kind": "ApplicationSet", "metadata": {"name": name}, "spec": spec}
    path.write_text(yaml.safe_dump(doc))
    return path


def test_generate_prints_the_apps_a_file_would_make_without_a_cluster(
    tmp_path: Path, git_repo: Callable[[str], GitRepo], toolchain: Toolchain
) -> None:
    repo = git_repo("gen")
    repo.commit({f"apps/{d}/cm.yaml": yaml_docs(configmap(d)) for d in ("web", "db")})
    nowhere = tmp_path / "no-kubeconfig"  # no cluster is contacted for git generators
    for go in (False, True):
        file = set_file(tmp_path / f"set-{go}.yaml", "gen", repo, go_template=go)
        result = gitward(nowhere, "appset", "generate", "-f", str(file), "-o", "json")
        assert result.returncode == 0, result.stdout + result.stderr
        apps = json.loads(result.stdout)
        assert [a["metadata"]["name"] for a in apps] == ["gen-db", "gen-web"]
        assert apps[0]["spec"]["source"]["path"] == "apps/db"
        assert apps[0]["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]


def test_generate_fails_naming_the_generator(tmp_path: Path) -> None:
    bad = tmp_path / "missing-repo"
    file = tmp_path / "set.yaml"
    file.write_text(
        yaml.safe_dump(
            {
                "apiVersion": API,
                "kind": "ApplicationSet",
                "metadata": {"name": "bad"},
                "spec": {
                    "generators": [
                        {"git": {"repoURL": bad.as_uri(), "directories": [{"path": "*"}]}}
                    ],
                    "template": {"metadata": {"name": "{{path}}"}, "spec": {}},
                },
            }
        )
    )
    result = gitward(tmp_path / "no-kubeconfig", "appset", "generate", "-f", str(file))
    assert result.returncode == 2
    assert "spec.generators[0].git" in result.stderr
    assert result.stdout == ""


async def test_create_list_get_and_delete(
    installed: KubeClient, kubeconfig: Path, tmp_path: Path, git_repo: Callable[[str], GitRepo]
) -> None:
    name = unique("cli")
    repo = git_repo("cli")
    repo.commit({"apps/web/cm.yaml": yaml_docs(configmap("web"))})
    file = set_file(tmp_path / "set.yaml", name, repo)
    created = gitward(kubeconfig, "appset", "create", "-f", str(file))
    assert created.returncode == 0, created.stderr
    assert f"applicationset '{name}' created" in created.stdout
    again = gitward(kubeconfig, "appset", "create", "-f", str(file))
    assert f"applicationset '{name}' unchanged" in again.stdout
    listed = gitward(kubeconfig, "appset", "list", "-o", "name")
    assert name in listed.stdout.split()
    shown = gitward(kubeconfig, "appset", "get", name, "-o", "json")
    assert json.loads(shown.stdout)["spec"]["generators"][0]["git"]["repoURL"] == repo.url
    nothing = gitward(kubeconfig, "appset", "approve", name)
    assert nothing.returncode == 2
    assert "holds no deletion" in nothing.stderr
    deleted = gitward(kubeconfig, "appset", "delete", name)
    assert deleted.returncode == 0, deleted.stderr

    async def gone() -> bool:
        try:
            await installed.get(API, "ApplicationSet", name, "argocd")
        except NotFound:
            return True
        return False

    await eventually(gone, "the ApplicationSet to be deleted")
