"""argocd-cm keys gitward acts on: read strictly, defaults when absent."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.appstate.settings import IMPERSONATION_KEY, parse_settings
from gitward.model.errors import ConfigError


def test_impersonation_is_off_unless_set_to_true() -> None:
    assert parse_settings({}).impersonation is False
    assert parse_settings({IMPERSONATION_KEY: "true"}).impersonation is True
    assert parse_settings({IMPERSONATION_KEY: " False "}).impersonation is False


@given(st.text(max_size=20))
def test_any_other_value_is_a_named_error(raw: str) -> None:
    if raw.strip().lower() in ("true", "false", ""):
        return
    with pytest.raises(ConfigError, match=IMPERSONATION_KEY):
        parse_settings({IMPERSONATION_KEY: raw})
