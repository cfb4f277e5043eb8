"""The repository URL policy: which URLs reach git, with what transports."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.source.policy import (
    LOCAL_REPOSITORIES_ENV,
    RepoURLPolicy,
    RepoURLRefused,
    split_paths,
)

NETWORK = "https:http:ssh:git"


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/org/repo.git",
        "http://127.0.0.1:8080/repo",
        "https://bot:token@git.example.com/org/repo",
        "ssh://git@github.com/org/repo.git",
        "git@github.com:org/repo.git",
        "github.com:org/repo",
        "git://127.0.0.1:9418/repo",
        "git+ssh://git@host/repo",
        "https://[::1]:8443/repo",
    ],
)
def test_network_urls_are_allowed_with_network_transports_only(url: str) -> None:
    assert RepoURLPolicy.create(environ=False).check(url) == NETWORK


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "empty"),
        ("--upload-pack=/tmp/x", "starts with '-'"),
        ("-oProxyCommand=x", "starts with '-'"),
        ("ext::sh -c 'touch x'", "whitespace or control"),
        ("ext::sh%20-c%20x", "not a URL gitward fetches"),
        ("fd::3", "not a URL gitward fetches"),
        ("ftp://example.com/repo", "scheme 'ftp'"),
        ("https:///repo", "names no host"),
        ("ssh://-oProxyCommand=x/repo", "host starts with '-'"),
        ("-host:repo", "starts with '-'"),
        ("http://]", "not a valid URL"),
        ("https://host:99999/repo", "not a valid URL"),
        ("https://host/repo\n", "whitespace or control"),
        ("https://host/re\x00po", "whitespace or control"),
        ("https://h/" + "a" * 3000, "longer than"),
        ("file://otherhost/srv/repo", "must not name a host"),
        ("repo-without-scheme", "not a URL gitward fetches"),
    ],
)
def test_refused_urls_say_why(url: str, reason: str) -> None:
    with pytest.raises(RepoURLRefused) as info:
        RepoURLPolicy.create(["/"], environ=False).check(url)
    assert reason in str(info.value)


def test_credentials_never_appear_in_the_refusal() -> None:
    with pytest.raises(RepoURLRefused) as info:
        RepoURLPolicy.create(environ=False).check("ftp://bot:hunter2@example.com/repo")
    assert "hunter2" not in str(info.value)


def test_local_repositories_need_an_allow_listed_directory(tmp_path: Path) -> None:
    repo = tmp_path / "srv" / "repo"
    repo.mkdir(parents=True)
    off = RepoURLPolicy.create(environ=False)
    with pytest.raises(RepoURLRefused, match="local repositories"):
        off.check(repo.as_uri())
    on = RepoURLPolicy.create([str(tmp_path / "srv")], environ=False)
    assert on.check(repo.as_uri()) == "file"
    assert on.check(str(repo)) == "file"
    with pytest.raises(RepoURLRefused, match="local repositories"):
        on.check(f"file://{tmp_path}/srv/../elsewhere")
    (tmp_path / "srv" / "escape").symlink_to(tmp_path)
    with pytest.raises(RepoURLRefused, match="local repositories"):
        on.check(str(tmp_path / "srv" / "escape" / "other"))


def test_caches_are_refused_even_when_allow_listed(tmp_path: Path) -> None:
    policy = RepoURLPolicy.create(["/"], environ=False).with_forbidden(tmp_path / "cache")
    with pytest.raises(RepoURLRefused, match="own cache"):
        policy.check((tmp_path / "cache" / "mirrors" / "x.git").as_uri())


def test_the_environment_variable_adds_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LOCAL_REPOSITORIES_ENV, f"{tmp_path}/a:{tmp_path}/b")
    policy = RepoURLPolicy.create()
    assert policy.check(f"{tmp_path}/b/repo") == "file"
    with pytest.raises(RepoURLRefused):
        RepoURLPolicy.create(environ=False).check(f"{tmp_path}/b/repo")


def test_relative_allow_list_entries_are_a_config_error() -> None:
    with pytest.raises(Exception, match="not an absolute directory path"):
        RepoURLPolicy.create(["srv/git"], environ=False)


def test_lists_split_on_newlines_commas_and_colons() -> None:
    assert split_paths("/a\n/b, /c:/d\n\n") == ("/a", "/b", "/c", "/d")
