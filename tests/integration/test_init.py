"""``gitward init``: each layout renders with the real tools, passes the API server's
restricted Pod Security level, its workflow passes actionlint, its app's tests pass, and
``image set`` on it changes dev alone."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from gitward.cluster import KubeClient
from gitward.localkube import Toolchain
from tests.support.git import GIT_ENV, git

IMAGE = "ghcr.io/acme/shop"
DEV_PATH = {"plain": "dev", "kustomize": "overlays/dev", "helm": "chart"}
HELM_FLAGS = {"helm": ["--helm-values", "values-dev.yaml"]}


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitward.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
    )


def scaffold(tmp_path: Path, layout: str) -> Path:
    repo = tmp_path / "shop"
    repo.mkdir()
    git("init", "--quiet", "--initial-branch=main", str(repo))
    flags = {"plain": [], "kustomize": ["--kustomize"], "helm": ["--helm"]}[layout]
    done = cli("init", str(repo), "--name", "shop", "--repo-url", repo.as_uri(), "--image", IMAGE,
               *flags)  # fmt: skip
    assert done.returncode == 0, done.stderr
    git("add", "-A", cwd=repo)
    git("commit", "--quiet", "-m", "gitward init", cwd=repo)
    return repo


def render(repo: Path, env: str) -> list[dict[str, Any]]:
    done = cli("render", "-f", str(repo / "argocd" / f"application-{env}.yaml"), "-o", "json")
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def deployment(objs: list[dict[str, Any]]) -> dict[str, Any]:
    [found] = [o for o in objs if o["kind"] == "Deployment"]
    return found


@pytest.mark.parametrize("layout", ["plain", "kustomize", "helm"])
async def test_each_layout_is_a_working_gitops_repository(
    layout: str,
    tmp_path: Path,
    toolchain: Toolchain,
    kube: KubeClient,
) -> None:
    repo = scaffold(tmp_path, layout)
    lint = await asyncio.create_subprocess_exec(
        str(toolchain.binary("actionlint")), str(repo / ".github/workflows/ci.yml"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    lint_out, _ = await lint.communicate()
    assert lint.returncode == 0, lint_out.decode()
    tests = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "unittest", "-q", cwd=repo / "src",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    tests_out, _ = await tests.communicate()
    assert tests.returncode == 0, tests_out.decode()

    replicas = {}
    for env in ("dev", "staging", "production"):
        objs = render(repo, env)
        deploy = deployment(objs)
        assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == f"{IMAGE}:0.1.0"
        replicas[env] = deploy["spec"]["replicas"]
        await _server_accepts(kube, objs)
    assert replicas == {"dev": 1, "staging": 2, "production": 3}

    dev = DEV_PATH[layout]
    done = cli("image", "set", "--path", str(repo / dev), *HELM_FLAGS.get(layout, []),
               f"{IMAGE}:1.2.3", "--commit")  # fmt: skip
    assert done.returncode == 0, done.stderr
    image = deployment(render(repo, "dev"))["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"{IMAGE}:1.2.3"
    staging = deployment(render(repo, "staging"))["spec"]["template"]["spec"]["containers"][0]
    assert staging["image"] == f"{IMAGE}:0.1.0"


async def _server_accepts(kube: KubeClient, objs: list[dict[str, Any]]) -> None:
    """A server-side dry-run in a namespace that enforces the restricted Pod Security level."""
    ns = f"init-{uuid.uuid4().hex[:8]}"
    await kube.create(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": ns,
                "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
            },
        }
    )
    try:
        for obj in objs:
            obj = {**obj, "metadata": {**obj["metadata"], "namespace": ns}}
            await kube.apply(obj, dry_run=True)
    finally:
        await kube.delete("v1", "Namespace", ns, propagation="Background")


def test_existing_files_are_not_overwritten_without_force(tmp_path: Path) -> None:
    repo = scaffold(tmp_path, "plain")
    (repo / "Dockerfile").write_text("FROM scratch\n")
    again = cli("init", str(repo), "--name", "shop", "--repo-url", repo.as_uri())
    assert again.returncode == 2
    assert "would be overwritten" in again.stderr
    assert "Dockerfile" in again.stderr
    assert (repo / "Dockerfile").read_text() == "FROM scratch\n"
    forced = cli("init", str(repo), "--name", "shop", "--repo-url", repo.as_uri(), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "distroless" in (repo / "Dockerfile").read_text()


def test_bad_names_are_refused(tmp_path: Path) -> None:
    done = cli("init", str(tmp_path / "x"), "--name", "Bad_Name", "--repo-url", "https://h/r")
    assert done.returncode == 2
    assert "--name 'Bad_Name'" in done.stderr
    assert not (tmp_path / "x" / "Dockerfile").exists()
