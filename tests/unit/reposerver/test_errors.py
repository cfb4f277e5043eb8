"""The repo server's errors name the repository without its credentials."""

from __future__ import annotations

from gitward.reposerver.errors import EmptyRender


def test_an_empty_render_names_the_repository_without_its_token() -> None:
    err = EmptyRender("shop", "https://bot:tok3n-value@git.example.com/shop.git", "dev", "a" * 40)
    assert "tok3n-value" not in str(err)
    assert "https://***@git.example.com/shop.git" in str(err)
    assert err.repo_url == "https://***@git.example.com/shop.git"
