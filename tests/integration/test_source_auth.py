"""Token-protected repositories: credentials work, their absence is clear, secrets never leak."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitward.source import (
    AuthenticationFailed,
    CredentialStore,
    GitSource,
    RepoCredentials,
    UnknownRevision,
    gitcmd,
)
from tests.support.git import GitRepo, SmartHttpServer

TOKEN = "tok-9f8e7d6c5b4a-secret"


@pytest.fixture
def repo(git_repo: Callable[[str], GitRepo]) -> GitRepo:
    r = git_repo("private")
    r.commit({"prod/deploy.yaml": "kind: Deployment\n"}, "first")
    return r


@pytest.fixture
def server(git_http: Callable[[str | None], SmartHttpServer]) -> SmartHttpServer:
    return git_http(TOKEN)


@pytest.fixture
def source(tmp_path: Path) -> GitSource:
    return GitSource(tmp_path / "cache", timeout=30, ls_remote_timeout=15)


@pytest.fixture
def argv_log(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every argv gitward starts git with (recorded, then really run)."""
    seen: list[list[str]] = []
    real = asyncio.create_subprocess_exec

    async def record(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        seen.append([str(a) for a in args])
        return await real(*args, **kwargs)

    monkeypatch.setattr(gitcmd.asyncio, "create_subprocess_exec", record)
    return seen


def _assert_clean(text: str) -> None:
    assert TOKEN not in text
    assert "wrong-token-value" not in text


@pytest.mark.parametrize(
    "creds",
    [
        RepoCredentials("", username="bot", password=TOKEN),
        RepoCredentials("", password=TOKEN),
        RepoCredentials("", bearer_token=TOKEN),
    ],
    ids=["basic", "password-only", "bearer"],
)
async def test_token_repo_works_with_credentials(
    repo: GitRepo,
    server: SmartHttpServer,
    source: GitSource,
    creds: RepoCredentials,
    argv_log: list[list[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="gitward")
    async with source.checkout(server.url(repo), "main", creds) as tree:
        assert tree.sha == repo.head()
        assert (tree.path / "prod" / "deploy.yaml").is_file()
    assert argv_log
    _assert_clean(repr(argv_log))
    _assert_clean(caplog.text)
    mirror_config = (source.mirror(server.url(repo)).path / "config").read_text()
    _assert_clean(mirror_config)


async def test_without_credentials_the_error_says_so(
    repo: GitRepo, server: SmartHttpServer, source: GitSource
) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        await source.resolve(server.url(repo), "main")
    message = str(caught.value)
    assert server.url(repo) in message
    assert "no credentials are configured" in message


async def test_failures_with_a_token_never_show_it(
    repo: GitRepo,
    server: SmartHttpServer,
    source: GitSource,
    argv_log: list[list[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="gitward")
    url = server.url(repo)
    wrong = RepoCredentials(url, username="bot", password="wrong-token-value")
    with pytest.raises(AuthenticationFailed, match="were rejected") as rejected:
        await source.resolve(url, "main", wrong)
    good = RepoCredentials(url, username="bot", password=TOKEN)
    with pytest.raises(UnknownRevision) as unknown:
        await source.resolve(url, "no-such-branch", good)
    with pytest.raises(UnknownRevision) as missing:
        await source.fetch(url, "1" * 40, good)
    in_url = url.replace("http://", f"http://bot:{TOKEN}@")
    with pytest.raises(UnknownRevision) as via_url:
        await source.resolve(in_url, "no-such-branch")
    assert await source.resolve(in_url, "main") == repo.head()  # user-info moved out of argv
    for exc in (rejected.value, unknown.value, missing.value, via_url.value):
        _assert_clean(str(exc))
        _assert_clean(repr(exc))
    _assert_clean(caplog.text)
    _assert_clean(repr(argv_log))


async def test_repo_creds_template_by_prefix(
    repo: GitRepo, server: SmartHttpServer, source: GitSource
) -> None:
    base = f"http://127.0.0.1:{server.port}/"
    store = CredentialStore.from_secrets(
        [
            {
                "metadata": {
                    "name": "org-creds",
                    "labels": {"argocd.argoproj.io/secret-type": "repo-creds"},
                },
                "stringData": {"url": base, "username": "bot", "password": TOKEN},
            },
            {
                "metadata": {
                    "name": "elsewhere",
                    "labels": {"argocd.argoproj.io/secret-type": "repo-creds"},
                },
                "stringData": {"url": "http://127.0.0.2/", "password": "other"},
            },
        ]
    )
    url = server.url(repo)
    creds = store.lookup(url)
    assert creds is not None
    async with source.checkout(url, "main", creds) as tree:
        assert tree.sha == repo.head()
