"""argocd-cm / argocd-secret read as Argo CD reads them; hostile values spoil only their account."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitward.model.errors import ConfigError
from gitward.server.auth.accounts import (
    DEFAULT_SESSION_DURATION,
    format_mtime,
    parse_mtime,
    parse_settings,
    parse_tokens,
)


def cm(**data: str) -> dict[str, Any]:
    return {"metadata": {"name": "argocd-cm"}, "data": data}


def secret(**data: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "argocd-secret"},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


LOGIN = {"accounts.alice": "login"}
TOKENS = "accounts.alice.tokens"


def test_admin_is_built_in_with_login_only() -> None:
    s = parse_settings(None, None)
    admin = s.accounts["admin"]
    assert admin.enabled
    assert admin.capabilities == ("login",)
    assert not admin.error
    assert s.session_duration == DEFAULT_SESSION_DURATION
    assert s.secret_key == b""


def test_accounts_capabilities_enabled_passwords_and_tokens() -> None:
    tokens = [{"id": "ci", "iat": 1700000000}, {"id": "old", "iat": 1600000000, "exp": 1600003600}]
    s = parse_settings(
        cm(
            **{
                "accounts.alice": "login, apiKey, teleport",
                "accounts.bob": "apiKey",
                "accounts.bob.enabled": "false",
                "admin.enabled": "false",
                "users.session.duration": "1h30m",
            }
        ),
        secret(
            **{
                "accounts.alice.password": "$2a$10$hash",
                "accounts.alice.passwordMtime": "2024-01-02T03:04:05Z",
                "accounts.alice.tokens": json.dumps(tokens),
                "server.secretkey": "k3y",
            }
        ),
    )
    alice, bob = s.accounts["alice"], s.accounts["bob"]
    assert alice.capabilities == ("login", "apiKey")  # unknown capabilities are ignored
    assert alice.password_hash == "$2a$10$hash"
    assert alice.password_mtime == 1704164645.0
    assert [t.id for t in alice.tokens] == ["ci", "old"]
    assert alice.tokens[1].expires_at == 1600003600
    assert not bob.enabled
    assert bob.capabilities == ("apiKey",)
    assert not s.accounts["admin"].enabled
    assert s.session_duration == 5400.0
    assert s.secret_key == b"k3y"


@pytest.mark.parametrize(
    ("cm_data", "secret_data", "key"),
    [
        ({**LOGIN, "accounts.alice.enabled": "maybe"}, {}, "accounts.alice.enabled"),
        (LOGIN, {TOKENS: "{not json"}, TOKENS),
        (LOGIN, {TOKENS: '{"id": 1}'}, TOKENS),
        (LOGIN, {TOKENS: '[{"id": 5}]'}, f"{TOKENS}[0].id"),
        (LOGIN, {TOKENS: '[{"id": "a", "iat": "x"}]'}, f"{TOKENS}[0].iat"),
        (LOGIN, {"accounts.alice.passwordMtime": "yesterday"}, "accounts.alice.passwordMtime"),
    ],
)  # fmt: skip
def test_a_bad_value_spoils_only_its_account_and_names_the_key(
    cm_data: dict[str, str], secret_data: dict[str, str], key: str
) -> None:
    s = parse_settings(cm(**cm_data), secret(**secret_data))
    assert key in s.accounts["alice"].error
    assert not s.accounts["admin"].error


def test_bad_settings_outside_accounts_are_problems_not_crashes() -> None:
    s = parse_settings(
        cm(**{"users.session.duration": "forever", "accounts.a.b.c": "login"}), secret()
    )
    assert any("users.session.duration" in p for p in s.problems)
    assert s.session_duration == DEFAULT_SESSION_DURATION
    assert "a" not in s.accounts  # four-part keys are not accounts


def test_a_secret_that_is_not_base64_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"data\.admin\.password"):
        parse_settings(None, {"data": {"admin.password": "%%%"}})


def test_oidc_config_is_read_as_a_seam() -> None:
    s = parse_settings(cm(**{"oidc.config": "name: Okta\nissuer: https://okta.example\n"}), None)
    assert s.oidc is not None
    assert s.oidc.name == "Okta"
    bad = parse_settings(cm(**{"oidc.config": "[unclosed"}), None)
    assert bad.oidc is None
    assert any("oidc.config" in p for p in bad.problems)


def test_mtime_round_trips() -> None:
    assert format_mtime(1704164645) == "2024-01-02T03:04:05Z"
    text = format_mtime(1704164645.25)
    assert text == "2024-01-02T03:04:05.250000Z"
    assert parse_mtime(text, "k") == 1704164645.25


_TEXT = st.text(max_size=40)
_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_TEXT, _VALUE.map(json.dumps)))
def test_tokens_parser_accepts_or_names_the_key(text: str) -> None:
    try:
        tokens = parse_tokens(text, "accounts.x.tokens")
    except ConfigError as exc:
        message = str(exc)
        assert "accounts.x.tokens" in message
        return
    for t in tokens:
        assert isinstance(t.id, str)
        assert t.id
        assert t.issued_at >= 0
        assert t.expires_at >= 0


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=30), st.text(max_size=30), max_size=8))
def test_any_configmap_data_parses_without_crashing(data: dict[str, str]) -> None:
    s = parse_settings(cm(**data), secret(**data))
    assert "admin" in s.accounts
    for account in s.accounts.values():
        assert "." not in account.name
