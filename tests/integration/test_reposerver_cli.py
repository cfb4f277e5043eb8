"""``gitward render`` as a user runs it: a subprocess, an Application file, real git and tools."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.localkube import Toolchain
from tests.integration.test_reposerver_service import ENV_REPO_FILES, configmap
from tests.support.brief import brief_repo
from tests.support.git import GitRepo, SmartHttpServer

TOKEN = "cli-token-3c2b1a-secret"


def app_doc(name: str, repo_url: str, path: str, revision: str = "HEAD", extra: str = "") -> str:
    return f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd
spec:
  project: default
  source:
    repoURL: {repo_url}
    targetRevision: {revision}
    path: {path}
{extra}  destination:
    server: https://kubernetes.default.svc
    namespace: {name}
"""


@pytest.fixture
def run(tmp_path: Path, toolchain: Toolchain) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``gitward render ...`` in a subprocess, with its own repository cache."""
    del toolchain  # built: the CLI finds kustomize and helm there

    def go(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "GITWARD_REPO_CACHE": str(tmp_path / "repo-cache")}
        return subprocess.run(
            [sys.executable, "-m", "gitward.cli", "render", *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=180,
            env=env,
        )

    return go


def kinds_and_names(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(f"{o['kind']}/{o['metadata']['name']}" for o in objects)


@pytest.fixture
def repo(git_repo: Callable[[str], GitRepo]) -> GitRepo:
    r = git_repo("envs")
    r.commit(ENV_REPO_FILES, "every layout")
    return r


def test_the_briefs_layout_renders_dev(
    git_repo: Callable[[str], GitRepo], run: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    repo = git_repo("brief")
    app_file = brief_repo(repo)
    result = run("-f", str(app_file))
    assert result.returncode == 0, result.stderr
    objects = list(yaml.safe_load_all(result.stdout))
    assert kinds_and_names(objects) == [
        "ConfigMap/myapp-config",
        "Deployment/myapp",
        "Service/myapp",
    ]
    as_json = run("-f", str(app_file), "-o", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == objects


def test_kustomize_and_helm_environments_from_one_file(
    repo: GitRepo, tmp_path: Path, run: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    helm = "    helm:\n      valueFiles:\n      - values-prod.yaml\n"
    app_file = tmp_path / "apps.yaml"
    app_file.write_text(
        "---\n".join(
            [
                app_doc("kust-dev", repo.url, "kustomize/overlays/dev"),
                app_doc("kust-prod", repo.url, "kustomize/overlays/prod"),
                app_doc("helm-prod", repo.url, "helm/app", extra=helm),
            ]
        )
    )
    several = run("-f", str(app_file))
    assert several.returncode != 0
    assert "3 Applications (kust-dev, kust-prod, helm-prod); pick one with --app" in several.stderr
    assert several.stdout == ""

    prod = run("-f", str(app_file), "--app", "kust-prod", "-o", "json")
    assert prod.returncode == 0, prod.stderr
    assert kinds_and_names(json.loads(prod.stdout)) == ["ConfigMap/prod-settings"]

    chart = run("-f", str(app_file), "--app", "helm-prod", "-o", "json")
    assert chart.returncode == 0, chart.stderr
    [colour] = json.loads(chart.stdout)
    assert colour["metadata"] == {"name": "helm-prod-colour", "namespace": "helm-prod"}
    assert colour["data"] == {"colour": "red", "replicas": "3"}


def test_branch_environments_and_an_unknown_revision(
    repo: GitRepo, tmp_path: Path, run: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    for env in ("dev", "staging"):
        repo.branch(env, "main")
        repo.checkout(env)
        repo.commit({"dev/cm.yaml": configmap("plain", env)}, f"{env} config")
    repo.checkout("main")
    repo.commit({"dev/cm.yaml": configmap("plain", "main")}, "main config")
    app_file = tmp_path / "app.yaml"
    app_file.write_text(app_doc("web", repo.url, "dev", revision="dev"))

    def configmap_value(*args: str) -> str:
        result = run("-f", str(app_file), "-o", "json", *args)
        assert result.returncode == 0, result.stderr
        return str(
            next(o for o in json.loads(result.stdout) if o["kind"] == "ConfigMap")["data"]["v"]
        )

    assert configmap_value() == "dev"
    assert configmap_value("--revision", "staging") == "staging"

    unknown = run("-f", str(app_file), "--revision", "no-such-branch")
    assert unknown.returncode != 0
    assert unknown.stdout == ""
    lines = unknown.stderr.strip().splitlines()
    assert len(lines) == 1, unknown.stderr
    assert "unknown revision 'no-such-branch'" in lines[0]
    assert repo.url in lines[0]


def test_token_protected_repository_with_repo_creds(
    repo: GitRepo,
    git_http: Callable[[str | None], SmartHttpServer],
    tmp_path: Path,
    run: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    server = git_http(TOKEN)
    url = server.url(repo)
    app_file = tmp_path / "app.yaml"
    app_file.write_text(app_doc("private", url, "dev"))
    creds = tmp_path / "creds.yaml"
    creds.write_text(
        f"- url: http://127.0.0.1:{server.port}/\n  secretType: repo-creds\n"
        f"  username: bot\n  password: {TOKEN}\n"
    )

    without = run("-f", str(app_file))
    assert without.returncode != 0
    assert "authentication required: no credentials are configured" in without.stderr
    assert url in without.stderr

    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(f"- url: {url}\n  password: wrong-{TOKEN[::-1]}\n")
    rejected = run("-f", str(app_file), "--repo-creds", str(wrong))
    assert rejected.returncode != 0
    assert "were rejected" in rejected.stderr

    works = run("-f", str(app_file), "--repo-creds", str(creds))
    assert works.returncode == 0, works.stderr
    assert kinds_and_names(list(yaml.safe_load_all(works.stdout))) == [
        "ConfigMap/plain",
        "Service/web",
    ]
    for result in (without, rejected, works):
        assert TOKEN not in result.stdout + result.stderr
        assert TOKEN[::-1] not in result.stdout + result.stderr
