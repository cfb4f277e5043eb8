"""The one redaction helper: credentials masked, everything else kept, in linear time."""

from __future__ import annotations

import time

import pytest

from gitward._util.redact import redact, redact_tree, redact_userinfo
from gitward.model.errors import ConfigError, GitwardError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fetch https://bot:t0k@host/x failed", "fetch https://***@host/x failed"),
        ("https://ghp_abc@github.com/o/r", "https://***@github.com/o/r"),
        ("ssh://git@host/repo", "ssh://***@host/repo"),
        ('{"url": "http://u:p@h/r"}', '{"url": "http://***@h/r"}'),
        ("Authorization: Bearer abcdef123", "Authorization: Bearer ***"),
        ("sent a bearer token", "sent a bearer token"),
        ("password=hunter2 next", "password=*** next"),
        ("no secrets here: user@example.com", "no secrets here: user@example.com"),
        (
            "key: -----BEGIN RSA PRIVATE KEY-----\nMII\n-----END RSA PRIVATE KEY----- end",
            "key: [private key redacted] end",
        ),
    ],
)
def test_credentials_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_literal_secrets_are_masked_longest_first() -> None:
    assert redact("a s3cr3t-long b s3cr3t", ["s3cr3t", "s3cr3t-long"]) == "a *** b ***"


def test_error_messages_keep_field_names() -> None:
    assert str(ConfigError("data.password: not valid base64")) == (
        "data.password: not valid base64"
    )
    assert str(GitwardError("git fetch https://x:tok@h/r: failed")) == (
        "git fetch https://***@h/r: failed"
    )


def test_trees_are_copied_with_user_info_masked() -> None:
    tree = {"spec": {"source": {"repoURL": "https://a:b@h/r"}, "n": [1, "http://t@h"]}}
    assert redact_tree(tree) == {
        "spec": {"source": {"repoURL": "https://***@h/r"}, "n": [1, "http://***@h"]}
    }
    assert tree["spec"]["source"]["repoURL"] == "https://a:b@h/r"


@pytest.mark.parametrize(
    "text",
    [
        "a" * 1_000_000,
        "http:" * 200_000 + "@",
        "password" * 100_000,
        "bearer " * 100_000,
        "a://" * 250_000 + "@",
    ],
)
def test_pathological_text_takes_linear_time(text: str) -> None:
    started = time.perf_counter()
    redact(text)
    redact_userinfo(text)
    assert time.perf_counter() - started < 2.0
