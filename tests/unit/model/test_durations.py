"""The one duration reader: Go's form, bare seconds, days where asked, and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.model.durations import (
    MAX_TEXT,
    DurationError,
    format_duration,
    parse_duration,
)
from gitward.model.errors import ConfigError

UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def test_go_form_and_bare_seconds() -> None:
    assert parse_duration("1m30s") == 90.0
    assert parse_duration("250ms") == 0.25
    assert parse_duration("1.5h") == 5400.0
    assert parse_duration(".5s") == 0.5
    assert parse_duration("7") == 7.0
    assert parse_duration("0.5") == 0.5
    assert parse_duration(" 2m\n") == 120.0


def test_days_only_where_asked() -> None:
    assert parse_duration("30d", "--since", days=True) == 30 * 86400.0
    with pytest.raises(DurationError, match=r"^--since: not a duration: '30d'"):
        parse_duration("30d", "--since")


@pytest.mark.parametrize("text", ["soon", "", "-5s", "+1m", "5 s", "1d", "1x", "s", "1m-2s", "∞"])
def test_refusals_name_the_field(text: str) -> None:
    with pytest.raises(DurationError, match=r"^spec\.x: "):
        parse_duration(text, "spec.x")


def test_the_error_is_gitwards_and_a_value_error() -> None:
    with pytest.raises(ConfigError, match="not a duration"):
        parse_duration("soon")
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")


def test_long_text_is_refused_before_matching() -> None:
    with pytest.raises(DurationError, match="longer than"):
        parse_duration("1s" * MAX_TEXT)


@given(st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(sorted(UNITS))), min_size=1,
                max_size=6))  # fmt: skip
def test_go_durations_sum_their_parts(parts: list[tuple[int, str]]) -> None:
    text = "".join(f"{n}{unit}" for n, unit in parts)
    if len(text) > MAX_TEXT:
        return
    expected = sum(n * UNITS[unit] for n, unit in parts)
    assert parse_duration(text) == pytest.approx(expected)


@given(st.integers(0, 10**7))
def test_format_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.integers(0, 10**9))
def test_bare_integers_are_seconds(seconds: int) -> None:
    assert parse_duration(str(seconds)) == float(seconds)


@given(st.text(max_size=80))
def test_any_text_parses_or_raises_a_duration_error(text: str) -> None:
    error = ""
    try:
        value = parse_duration(text, "f")
    except DurationError as exc:
        error = str(exc)
    if error:
        assert error.startswith("f: ")
    else:
        assert value >= 0
