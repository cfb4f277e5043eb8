"""The git fixtures serve real repositories over file://, git:// and smart HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.git import GitDaemon, GitRepo, SmartHttpServer, git


def _ls_remote(url: str, *extra: str) -> dict[str, str]:
    out = git(*extra, "ls-remote", url)
    return {ref: sha for sha, ref in (line.split("\t") for line in out.splitlines())}


@pytest.fixture
def repo(git_repo: Callable[[str], GitRepo]) -> GitRepo:
    r = git_repo("manifests")
    r.commit({"dev/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\n"}, "first")
    r.branch("staging")
    r.tag("v1.0.0")
    return r


def test_file_url_sees_branches_and_tags(repo: GitRepo) -> None:
    refs = _ls_remote(repo.url)
    assert refs["refs/heads/main"] == repo.head()
    assert refs["refs/heads/staging"] == repo.head()
    assert refs["refs/tags/v1.0.0"] == repo.head()


def test_git_daemon_serves_new_commits(repo: GitRepo, git_daemon: GitDaemon) -> None:
    url = git_daemon.url(repo)
    assert _ls_remote(url)["refs/heads/main"] == repo.head()
    moved = repo.commit({"dev/configmap.yaml": None}, "remove")
    assert _ls_remote(url)["refs/heads/main"] == moved


def test_smart_http_clone(
    repo: GitRepo, git_http: Callable[[str | None], SmartHttpServer], tmp_path: Path
) -> None:
    server = git_http(None)
    target = tmp_path / "clone"
    git("clone", "--quiet", server.url(repo), str(target))
    assert (target / "dev" / "configmap.yaml").is_file()
    assert any("git-upload-pack" in r for r in server.requests)


def test_smart_http_token_is_required(
    repo: GitRepo, git_http: Callable[[str | None], SmartHttpServer]
) -> None:
    token = "s3cr3t-token"
    server = git_http(token)
    with pytest.raises(RuntimeError, match=r"Authentication failed|could not read Username"):
        _ls_remote(server.url(repo))
    header = f"http.extraHeader=Authorization: Bearer {token}"
    assert _ls_remote(server.url(repo), "-c", header)["refs/heads/main"] == repo.head()
