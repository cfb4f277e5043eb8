"""Resolving targetRevisions against real repositories, and the ref-map cache."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gitward.source import AmbiguousRevision, GitSource, UnknownRevision
from tests.support.git import GIT_ENV, GitRepo, SmartHttpServer, git


@pytest.fixture
def repo(git_repo: Callable[[str], GitRepo]) -> GitRepo:
    r = git_repo("app")
    r.commit({"dev/cm.yaml": "kind: ConfigMap\n"}, "first")
    r.tag("v1.0.0")
    r.commit({"dev/cm.yaml": "kind: ConfigMap # 2\n"}, "second")
    r.tag("v1.2.0")
    r.tag("1.10.0")
    r.branch("staging")
    r.commit({"dev/cm.yaml": "kind: ConfigMap # 3\n"}, "third")
    git("tag", "-a", "v2.0.0", "-m", "release 2", cwd=r.path)
    r.tag("v2.1.0-rc.1")
    return r


@pytest.fixture
def source(tmp_path: Path) -> GitSource:
    return GitSource(tmp_path / "cache")


async def test_branches_tags_and_head(repo: GitRepo, source: GitSource) -> None:
    assert await source.resolve(repo.url, "main") == repo.head("main")
    assert await source.resolve(repo.url, "staging") == repo.head("staging")
    assert await source.resolve(repo.url, "HEAD") == repo.head("main")
    assert await source.resolve(repo.url, "") == repo.head("main")
    assert await source.resolve(repo.url, "v1.0.0") == repo.head("v1.0.0")
    assert await source.resolve(repo.url, "refs/heads/staging") == repo.head("staging")


async def test_annotated_tag_resolves_to_its_commit(repo: GitRepo, source: GitSource) -> None:
    tag_object = git("rev-parse", "v2.0.0", cwd=repo.path).strip()
    commit = repo.head("v2.0.0^{commit}")
    assert tag_object != commit
    assert await source.resolve(repo.url, "v2.0.0") == commit


async def test_full_sha_is_accepted_as_is(repo: GitRepo, source: GitSource) -> None:
    first = repo.head("v1.0.0")
    assert await source.resolve(repo.url, first.upper()) == first
    async with source.checkout(repo.url, first) as tree:
        assert (tree.path / "dev" / "cm.yaml").read_text() == "kind: ConfigMap\n"


@pytest.mark.parametrize(
    ("constraint", "tag"),
    [
        ("v1.*", "1.10.0"),
        ("1.2.*", "v1.2.0"),
        (">=1.0.0 <1.5.0", "v1.2.0"),
        ("~1.0", "v1.0.0"),
        ("^1.2.0", "1.10.0"),
        ("*", "v2.0.0"),
        (">=2.1.0-rc.0", "v2.1.0-rc.1"),
    ],
)
async def test_semver_constraints_pick_the_highest_tag(
    repo: GitRepo, source: GitSource, constraint: str, tag: str
) -> None:
    assert await source.resolve(repo.url, constraint) == repo.head(f"{tag}^{{commit}}")


async def test_short_sha_is_expanded_in_the_mirror(repo: GitRepo, source: GitSource) -> None:
    first = repo.head("v1.0.0")
    assert await source.resolve(repo.url, first[:8]) == first
    async with source.checkout(repo.url, first[:7]) as tree:
        assert tree.sha == first
        assert (tree.path / "dev" / "cm.yaml").read_text() == "kind: ConfigMap\n"


async def test_unknown_revisions_name_url_and_revision(repo: GitRepo, source: GitSource) -> None:
    with pytest.raises(UnknownRevision, match=r"app: unknown revision 'no-such-branch'"):
        await source.resolve(repo.url, "no-such-branch")
    with pytest.raises(UnknownRevision, match="'deadbeef'"):
        await source.resolve(repo.url, "deadbeef")
    with pytest.raises(UnknownRevision, match=re.escape("'^9.0.0'")):
        await source.resolve(repo.url, "^9.0.0")
    with pytest.raises(UnknownRevision, match="no such commit"):
        async with source.checkout(repo.url, "0123456789" * 4):
            pass


def _many_commits(repo: GitRepo, count: int) -> None:
    """``count`` empty commits on main in one ``git fast-import`` (fast enough for 1,500)."""
    lines = []
    for i in range(count):
        lines.append(f"commit refs/heads/main\ncommitter t <t@t> {1_700_000_000 + i} +0000\n")
        msg = f"c{i}\n"
        lines.append(f"data {len(msg)}\n{msg}")
        if i == 0:
            lines.append(f"from {repo.head()}\n")
        lines.append("\n")
    env = {**os.environ, **GIT_ENV}
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        input="".join(lines).encode(),
        cwd=repo.path,
        env=env,
        check=True,
    )
    git("reset", "--quiet", "--hard", "main", cwd=repo.path)


async def test_ambiguous_short_sha_is_an_error(repo: GitRepo, source: GitSource) -> None:
    _many_commits(repo, 1500)
    shas = git("rev-list", "main", cwd=repo.path).split()
    seen: dict[str, str] = {}
    prefix = ""
    for sha in shas:
        if sha[:4] in seen:
            prefix = sha[:4]
            break
        seen[sha[:4]] = sha
    assert prefix, "1,500 commits always share some 4-digit prefix"
    with pytest.raises(AmbiguousRevision, match=f"'{prefix}'.*several commits"):
        await source.resolve(repo.url, prefix)


async def test_moved_branch_is_seen_after_ttl_or_with_force(repo: GitRepo, tmp_path: Path) -> None:
    now = [1000.0]
    source = GitSource(tmp_path / "cache", ref_ttl=3.0, clock=lambda: now[0])
    before = await source.resolve(repo.url, "main")
    moved = repo.commit({"dev/new.yaml": "kind: Secret\n"}, "move main")
    assert await source.resolve(repo.url, "main") == before  # within the TTL: cached
    assert await source.resolve(repo.url, "main", force=True) == moved
    repo.commit({"dev/new.yaml": None}, "move again")
    now[0] += 3.1
    assert await source.resolve(repo.url, "main") == repo.head()
    assert source.stats_for(repo.url).ls_remote == 3


async def test_many_resolves_in_one_pass_cost_one_ls_remote(
    repo: GitRepo, git_http: Callable[[str | None], SmartHttpServer], source: GitSource
) -> None:
    server = git_http(None)
    url = server.url(repo)
    revisions = ["main", "staging", "v1.0.0", "v1.*", "HEAD", "v2.0.0"] * 5
    shas = await asyncio.gather(*(source.resolve(url, rev) for rev in revisions))
    assert shas[0] == repo.head()
    assert source.stats_for(url).ls_remote == 1
    assert source.stats_for(url + ".git/").ls_remote == 1  # one key per repository
    advertised = [r for r in server.requests if "info/refs" in r]
    assert len(advertised) == 1
