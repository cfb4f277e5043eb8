"""``gitward image set`` against real git: CI's "update the manifest" step, commit and push,
races between pushers, an Application's repository behind credentials, and bad input."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitward.cluster import KubeClient, NotFound
from tests.support.apps import unique
from tests.support.brief import gitward
from tests.support.git import GIT_ENV, GitRepo, SmartHttpServer, git

API = "argoproj.io/v1alpha1"
TOKEN = "ghp_ImageSetPushToken000111"

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: {name}
        image: ghcr.io/org/{name}:1.0.0   # CI bumps this
"""


def image_set(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitward.cli", "image", "set", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
    )


@pytest.fixture
def origin(git_repo: Callable[[str], GitRepo]) -> GitRepo:
    repo = git_repo("gitops")
    repo.commit(
        {"dev/web.yaml": DEPLOY.format(name="web"), "dev/api.yaml": DEPLOY.format(name="api")},
        "initial",
    )
    return repo


def clone(origin: GitRepo, dest: Path) -> Path:
    git("clone", "--quiet", origin.url, str(dest))
    return dest


def show(repo: GitRepo, path: str) -> str:
    return git("show", f"main:{path}", cwd=repo.path)


def test_ci_sets_the_tag_commits_and_pushes(origin: GitRepo, tmp_path: Path) -> None:
    work = clone(origin, tmp_path / "ci")
    done = image_set("--path", str(work / "dev"), "ghcr.io/org/web:1.1.0", "--push", "-o", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["pushed"] is True
    assert result["edits"] == [
        {
            "file": "dev/web.yaml",
            "image": "ghcr.io/org/web",
            "old": "ghcr.io/org/web:1.0.0",
            "new": "ghcr.io/org/web:1.1.0",
        }
    ]
    assert origin.head("main") == result["commit"]
    diff = git("show", "--format=%s", "--unified=0", "main", cwd=origin.path)
    assert "ghcr.io/org/web: ghcr.io/org/web:1.0.0 -> ghcr.io/org/web:1.1.0" in diff
    changed = [line for line in diff.splitlines() if line.startswith(("+ ", "- ", "+\t", "-\t"))]
    assert changed == [
        "-        image: ghcr.io/org/web:1.0.0   # CI bumps this",
        "+        image: ghcr.io/org/web:1.1.0   # CI bumps this",
    ]


def test_a_lost_race_is_reapplied_on_the_new_tip(origin: GitRepo, tmp_path: Path) -> None:
    first, second = clone(origin, tmp_path / "a"), clone(origin, tmp_path / "b")
    assert (
        image_set("--path", str(first / "dev"), "ghcr.io/org/web:2.0.0", "--push").returncode == 0
    )
    # `second` is now behind: its push is refused, so it starts again from the new tip.
    late = image_set("--path", str(second / "dev"), "ghcr.io/org/api:3.0.0", "--push", "-o", "json")
    assert late.returncode == 0, late.stderr
    assert json.loads(late.stdout)["attempts"] == 2
    assert "ghcr.io/org/web:2.0.0" in show(origin, "dev/web.yaml")
    assert "ghcr.io/org/api:3.0.0" in show(origin, "dev/api.yaml")


async def test_concurrent_pushers_lose_no_update(origin: GitRepo, tmp_path: Path) -> None:
    names = ["web", "api"] + [f"svc{i}" for i in range(4)]
    origin.commit({f"dev/{n}.yaml": DEPLOY.format(name=n) for n in names[2:]}, "more services")
    # A bare remote, as a Git host has: pushes race for the ref, not for a work tree.
    bare = tmp_path / "remote.git"
    git("clone", "--quiet", "--bare", origin.url, str(bare))
    clones = [tmp_path / n for n in names]
    for work in clones:
        git("clone", "--quiet", bare.as_uri(), str(work))

    async def run(work: Path, name: str) -> int:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gitward.cli", "image", "set", "--path", str(work / "dev"),
            f"ghcr.io/org/{name}:9.9.9", "--push",
            env={**os.environ, **GIT_ENV},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        return proc.returncode

    await asyncio.gather(*(run(c, n) for c, n in zip(clones, names, strict=True)))
    for name in names:
        text = git("show", f"main:dev/{name}.yaml", cwd=bare)
        assert f"ghcr.io/org/{name}:9.9.9" in text, name
    log = git("log", "--format=%s", "main", cwd=bare).splitlines()
    assert len([line for line in log if line.startswith("gitward image set")]) == len(names)


def test_bad_input_changes_nothing(origin: GitRepo, tmp_path: Path) -> None:
    work = clone(origin, tmp_path / "ci")
    before = origin.head("main")
    missing = image_set("--path", str(work / "dev"), "ghcr.io/org/nope:1", "--push")
    assert missing.returncode == 2
    assert "ghcr.io/org/nope: not found" in missing.stderr
    bad = image_set("--path", str(work / "dev"), "ghcr.io/org/web:-bad", "--push")
    assert bad.returncode == 2
    assert "is not a valid tag" in bad.stderr
    (work / "dev" / "broken.yaml").write_text("image: [1,\n")
    git("add", ".", cwd=work)
    git("commit", "-qm", "broken file", cwd=work)
    broken = image_set("--path", str(work / "dev"), "ghcr.io/org/web:5", "--push")
    assert broken.returncode == 2
    assert "dev/broken.yaml:2" in broken.stderr
    dirty = clone(origin, tmp_path / "dirty")
    (dirty / "dev" / "web.yaml").write_text("edited by hand\n")
    refused = image_set("--path", str(dirty / "dev"), "ghcr.io/org/api:5", "--push")
    assert refused.returncode == 2
    assert "uncommitted changes" in refused.stderr
    assert origin.head("main") == before


# -- through an Application, with the installation's credentials ------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[SmartHttpServer, GitRepo]]:
    base = tmp_path / "served"
    repo = GitRepo(base / "shop")
    repo.commit(
        {
            "overlays/dev/kustomization.yaml": "resources: [web.yaml]\n"
            "images:\n- name: ghcr.io/org/web\n  newTag: 1.0.0\n",
            "overlays/dev/web.yaml": DEPLOY.format(name="web"),
        },
        "initial",
    )
    server = SmartHttpServer(base, TOKEN)
    yield server, repo
    server.stop()


async def test_an_application_is_updated_with_its_repository_credentials(
    installed: KubeClient, kubeconfig: Path, served: tuple[SmartHttpServer, GitRepo]
) -> None:
    server, repo = served
    name, secret = unique("img"), unique("repo")
    await installed.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": secret,
                "namespace": "argocd",
                "labels": {"argocd.argoproj.io/secret-type": "repository"},
            },
            "stringData": {"url": server.url(repo), "username": "ci", "password": TOKEN},
        }
    )
    await installed.apply(
        {
            "apiVersion": API,
            "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {
                "source": {
                    "repoURL": server.url(repo),
                    "path": "overlays/dev",
                    "targetRevision": "main",
                },
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
            },
        }
    )
    try:
        done = gitward(kubeconfig, "image", "set", name, "ghcr.io/org/web:1.5.0", "--push")
        assert done.returncode == 0, done.stderr
        assert TOKEN not in done.stdout + done.stderr
        assert "newTag: 1.5.0" in git("show", "main:overlays/dev/kustomization.yaml", cwd=repo.path)
        unknown = gitward(kubeconfig, "image", "set", "no-such-app", "x:1", "--push")
        assert unknown.returncode == 2
        assert "application 'no-such-app' not found" in unknown.stderr
    finally:
        for kind, api, obj in (("Application", API, name), ("Secret", "v1", secret)):
            with contextlib.suppress(NotFound):
                await installed.delete(api, kind, obj, "argocd")


def test_the_write_back_file_is_what_the_render_deploys(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "wb")
    repo.commit(
        {
            "overlays/dev/kustomization.yaml": "resources: [web.yaml]\n",
            "overlays/dev/web.yaml": DEPLOY.format(name="web"),
        },
        "initial",
    )
    work = clone(repo, tmp_path / "ci")
    done = image_set(
        "--path", str(work / "overlays/dev"), "--kind", "write-back", "--app-name", "shop",
        "ghcr.io/org/web:7.0.0", "--push",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "overlays/dev/.argocd-source-shop.yaml" in done.stdout
    app_file = tmp_path / "app.yaml"
    app_file.write_text(
        json.dumps(
            {
                "apiVersion": API,
                "kind": "Application",
                "metadata": {"name": "shop", "namespace": "argocd"},
                "spec": {
                    "source": {"repoURL": repo.url, "path": "overlays/dev"},
                    "destination": {"server": "https://kubernetes.default.svc"},
                },
            }
        )
    )
    rendered = subprocess.run(
        [sys.executable, "-m", "gitward.cli", "render", "-f", str(app_file), "-o", "json"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    [deploy] = json.loads(rendered.stdout)
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/org/web:7.0.0"
