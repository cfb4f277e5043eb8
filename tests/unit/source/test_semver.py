"""Semver constraints pick the highest matching tag, as Argo CD's targetRevision does."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from gitward.source.semver import parse_constraint, parse_version

TAGS = [
    "v0.0.3",
    "v0.0.4",
    "0.2.3",
    "0.2.9",
    "0.3.0",
    "v1.0.0",
    "v1.2.0",
    "v1.2.5",
    "v1.3.0",
    "1.5.0",
    "v2.0.0",
    "v2.1.0-rc.1",
    "release-3",
    "latest",
]


def best(constraint: str) -> str | None:
    parsed = parse_constraint(constraint)
    assert parsed is not None, constraint
    found = parsed.best((tag, tag) for tag in TAGS)
    return found[1] if found else None


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("v1.2.*", "v1.2.5"),
        ("1.2.*", "v1.2.5"),
        ("1.*", "1.5.0"),
        ("v1.x", "1.5.0"),
        ("*", "v2.0.0"),
        (">=1.0.0 <2.0.0", "1.5.0"),
        (">= 1.0, < 1.3", "v1.2.5"),
        ("~1.2", "v1.2.5"),
        ("~1.2.1", "v1.2.5"),
        ("~1", "1.5.0"),
        ("^1.2.0", "1.5.0"),
        ("^0.2.3", "0.2.9"),
        ("^0.0.3", "v0.0.3"),
        ("^0", "0.3.0"),
        ("1.2 - 1.3", "v1.3.0"),
        ("1.0.0 - 1.2.4", "v1.2.0"),
        (">1.2", "v2.0.0"),
        ("<=1.2", "v1.2.5"),
        ("<1.2.5", "v1.2.0"),
        ("!=2.0.0", "1.5.0"),
        ("v1.2.5", "v1.2.5"),
        ("=1.2", "v1.2.5"),
        ("1.2.5 || 0.0.3", "v1.2.5"),
        (">=2.1.0-rc.0", "v2.1.0-rc.1"),
        ("^3", None),
    ],
)
def test_highest_match(constraint: str, expected: str | None) -> None:
    assert best(constraint) == expected


def test_prereleases_need_a_prerelease_constraint() -> None:
    assert best(">=2.0.0") == "v2.0.0"
    assert best("^2.0.0") == "v2.0.0"


@pytest.mark.parametrize("text", ["main", "feature/x", "release-3", "", "1.2.3.4", ">= main"])
def test_branch_names_are_not_constraints(text: str) -> None:
    assert parse_constraint(text) is None


def test_version_precedence() -> None:
    order = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0", "1.0.1"]
    versions = [parse_version(v) for v in order]
    assert all(v is not None for v in versions)
    keys = [v.key() for v in versions if v is not None]
    assert keys == sorted(keys)


def test_partial_versions_fill_zeros() -> None:
    v = parse_version("v1.2")
    assert v is not None
    assert (v.major, v.minor, v.patch) == (1, 2, 0)
    assert parse_version("latest") is None


def _seconds(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


@pytest.mark.parametrize(
    "text",
    [
        "1" * 1000,  # one long word: the old hyphen-range regex was quadratic here
        "1" * 20_000,
        ">=1 " * 250,
        "1.2 - " * 150,
        "a" * 1000 + " - " + "b" * 1000,
        "||" * 500,
    ],
)
def test_long_target_revisions_parse_in_bounded_time(text: str) -> None:
    assert _seconds(lambda: parse_constraint(text)) < 0.2


def test_huge_version_numbers_are_not_versions() -> None:
    # Masterminds/semver reads components as uint64; Python's int() refuses > 4300 digits.
    assert parse_version("v1" + "0" * 5000) is None
    assert parse_version("18446744073709551616.0.0") is None
    assert parse_version("18446744073709551615.0.0") is not None
    assert parse_version("1.2.3-" + "1" * 300) is None  # longer than any tag we consider
    assert parse_version("\u0661.\u0662.\u0663") is None  # Arabic-Indic digits are not digits here
    parsed = parse_constraint(">=1.0.0")
    assert parsed is not None
    tags = [("v1" + "0" * 5000, "huge"), ("v" + "9" * 4400 + ".0.0", "huger"), ("v1.2.0", "ok")]
    assert _seconds(lambda: parsed.best(tags)) < 0.2
    found = parsed.best(tags)
    assert found is not None
    assert found[1] == "ok"
    assert parse_constraint("~" + "9" * 5000) is None
