"""Request body fields of the auth routes: any JSON value is accepted or refused by name."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitward.server.auth.requests import seconds_field, string_field, token_id_field
from gitward.server.errors import InvalidArgument

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=400, deadline=None)
@given(_JSON)
def test_fields_accept_or_name_themselves(value: Any) -> None:
    body = json.loads(json.dumps({"expiresIn": value, "id": value, "name": value}))
    for parse, key in ((seconds_field, "expiresIn"), (string_field, "name")):
        try:
            parse(body, key)
        except InvalidArgument as exc:
            assert str(exc).startswith(key)  # noqa: PT017 - input either parses or names the field
    try:
        token_id = token_id_field(body)
    except InvalidArgument as exc:
        assert str(exc).startswith("id")  # noqa: PT017 - input either parses or names the field
    else:
        assert token_id
        assert token_id.isprintable()


@pytest.mark.parametrize(
    ("value", "expected"), [(3600, 3600), ("3600", 3600), (" 60 ", 60), (0, 0), (None, None)]
)
def test_seconds_as_number_or_int64_string(value: Any, expected: int | None) -> None:
    if expected is None:
        with pytest.raises(InvalidArgument, match="expiresIn"):
            seconds_field({"expiresIn": value}, "expiresIn")
    else:
        assert seconds_field({"expiresIn": value}, "expiresIn") == expected


def test_unicode_digits_and_negative_counts_are_refused() -> None:
    for value in ("²", "-5", -5, True, 1.5, "1e3"):
        with pytest.raises(InvalidArgument, match="expiresIn"):
            seconds_field({"expiresIn": value}, "expiresIn")
