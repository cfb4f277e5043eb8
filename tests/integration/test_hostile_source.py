"""Hostile repository URLs against real git: none reaches a program, an option or a cache.

Before the URL policy, ``--upload-pack=<script>`` reached ``git ls-remote`` as an
option and a ``file://`` URL into gitward's own mirror cache rendered another tenant's
private repository without credentials.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from gitward.source import GitSource, RepoURLPolicy, RepoURLRefused
from tests.support.git import GitDaemon, GitRepo


@pytest.fixture
def repo(git_repo: Callable[[str], GitRepo]) -> GitRepo:
    r = git_repo("private")
    r.commit({"app/secret.yaml": "kind: ConfigMap\ndata: {token: s3cret}\n"}, "first")
    return r


def marker_script(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "pwned"
    script = tmp_path / "evil.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, marker


async def test_a_url_that_is_an_option_never_runs_a_program(tmp_path: Path) -> None:
    script, marker = marker_script(tmp_path)
    source = GitSource(tmp_path / "cache", policy=RepoURLPolicy.create(["/"], environ=False))
    for url in (f"--upload-pack={script}", f"-u{script}"):
        with pytest.raises(RepoURLRefused, match=r"starts with '-'"):
            await source.resolve(url, "main")
    assert not marker.exists()


async def test_transports_that_run_programs_are_refused(tmp_path: Path) -> None:
    _, marker = marker_script(tmp_path)
    source = GitSource(tmp_path / "cache", policy=RepoURLPolicy.create(["/"], environ=False))
    for url in (f"ext::sh -c touch% {marker}", f"ext::sh%20-c%20touch%20{marker}", "fd::3"):
        with pytest.raises(RepoURLRefused):
            await source.resolve(url, "main")
    # and if such a URL reached git some other way, git itself would refuse the transport:
    with pytest.raises(RepoURLRefused, match="scheme 'ext'"):
        source.runner.policy.check("ext://sh")
    assert not marker.exists()


async def test_local_repositories_are_refused_by_default(tmp_path: Path, repo: GitRepo) -> None:
    source = GitSource(tmp_path / "cache", policy=RepoURLPolicy.create(environ=False))
    for url in (repo.url, str(repo.path)):
        with pytest.raises(RepoURLRefused, match=r"local repositories .* are off"):
            await source.resolve(url, "main")


async def test_allow_listed_local_repositories_work(tmp_path: Path, repo: GitRepo) -> None:
    policy = RepoURLPolicy.create([str(repo.path.parent)], environ=False)
    source = GitSource(tmp_path / "cache", policy=policy)
    async with source.checkout(repo.url, "main") as tree:
        assert (tree.path / "app" / "secret.yaml").is_file()


async def test_the_mirror_and_tree_cache_are_never_a_source(
    tmp_path: Path, repo: GitRepo, git_daemon: GitDaemon
) -> None:
    """Tenant A's private repository was fetched (with A's credentials) into the cache;
    tenant B points a file:// URL at the cache and must get nothing, even with the whole
    filesystem allow-listed."""
    cache = tmp_path / "cache"
    tenant_a = GitSource(cache, policy=RepoURLPolicy.create(environ=False))
    async with tenant_a.checkout(git_daemon.url(repo), "main"):
        pass
    [mirror] = (cache / "mirrors").glob("*.git")
    [tree] = [p for p in (cache / "trees").rglob("*") if (p / "app").is_dir()]
    tenant_b = GitSource(cache, policy=RepoURLPolicy.create(["/"], environ=False))
    for url in (mirror.as_uri(), str(mirror), str(tree), f"file://{cache}/../cache/mirrors"):
        with pytest.raises(RepoURLRefused, match="inside gitward's own cache"):
            await tenant_b.resolve(url, "main")
