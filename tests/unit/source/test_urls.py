"""URL normalisation: one key per repository, whatever spelling the user wrote."""

from __future__ import annotations

import pytest

from gitward.model.repourl import normalize_prefix, normalize_url, redact_url, same_repo, url_slug


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://GitHub.com/Org/Repo.git", "https://github.com/Org/Repo"),
        ("https://github.com/org/repo/", "https://github.com/org/repo"),
        ("https://github.com/org/repo.git/", "https://github.com/org/repo"),
        ("HTTPS://github.com:443/org/repo", "https://github.com/org/repo"),
        ("http://127.0.0.1:8080/org/repo", "http://127.0.0.1:8080/org/repo"),
        ("https://user:secret@github.com/org/repo", "https://github.com/org/repo"),
        ("git@github.com:org/repo.git", "ssh://git@github.com/org/repo"),
        ("git@GitHub.com:org/repo", "ssh://git@github.com/org/repo"),
        ("ssh://git@github.com:22/org/repo.git", "ssh://git@github.com/org/repo"),
        ("ssh://git@host:2222/org/repo", "ssh://git@host:2222/org/repo"),
        ("file:///tmp/repos/app/", "file:///tmp/repos/app"),
        ("/srv/git/app.git", "/srv/git/app"),
    ],
)
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_scp_like_and_ssh_url_are_one_key() -> None:
    assert normalize_url("git@github.com:org/repo") == normalize_url(
        "ssh://git@github.com/org/repo.git"
    )


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://github.com/org/repo", "git@github.com:org/repo.git", True),
        ("https://github.com/org/repo.git", "ssh://git@GITHUB.com/org/repo/", True),
        ("https://github.com/org/repo", "https://gitlab.com/org/repo", False),
        ("https://github.com/org/repo", "https://github.com/org/other", False),
        ("http://127.0.0.1:8080/r", "http://127.0.0.1:9090/r", True),
    ],
)
def test_same_repo(a: str, b: str, same: bool) -> None:
    assert same_repo(a, b) is same


def test_prefix_keeps_its_trailing_slash() -> None:
    assert normalize_prefix("https://GitHub.com/org/") == "https://github.com/org/"
    assert normalize_prefix("git@github.com:org/") == "ssh://git@github.com/org/"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:tok3n@github.com/o/r", "https://***@github.com/o/r"),
        ("https://ghp_tok3n@github.com/o/r", "https://***@github.com/o/r"),
        ("ssh://git@github.com/o/r", "ssh://git@github.com/o/r"),
        ("ssh://git:pw@github.com/o/r", "ssh://git:***@github.com/o/r"),
        ("https://github.com/o/r", "https://github.com/o/r"),
        ("git@github.com:o/r", "git@github.com:o/r"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_slug_is_a_safe_directory_name() -> None:
    slug = url_slug("https://user:pw@github.com/org/my repo.git")
    assert slug == "github.com_org_my_repo"
    assert "pw" not in slug


@pytest.mark.parametrize(
    "url", ["http://]", "http://[", "https://bot:tok3n@[::1/x", "ssh://git@[x/y"]
)
def test_urls_urlsplit_refuses_are_handled_not_raised(url: str) -> None:
    assert normalize_url(url).startswith(url.split(":")[0])
    assert "tok3n" not in redact_url(url)
    assert same_repo(url, url)
    assert url_slug(url)
