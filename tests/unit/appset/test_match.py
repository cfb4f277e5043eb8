"""Directory patterns match as Go's path.Match, file patterns as git's pathspecs."""

from __future__ import annotations

import contextlib
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.appset.match import (
    PatternError,
    check_selector,
    path_match,
    pathspec_match,
    selector_matches,
)
from gitward.model.errors import ConfigError

# What Go's path.Match returned (go1.26, recorded by hand): (pattern, name, matched or None=error).
GO_PATH_MATCH = [
    ("apps/*", "apps/a", True),
    ("apps/*", "apps/a/b", False),
    ("a[^x]b", "a/b", True),
    ("a?b", "a/b", False),
    ("[]a]", "]", None),
    ("[-a]", "-", None),
    ("a\\*", "a*", True),
    ("[a-c]x", "bx", True),
    ("[", "[", None),
    ("*", ".x", True),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), GO_PATH_MATCH)
def test_path_match_is_gos(pattern: str, name: str, expected: bool | None) -> None:
    if expected is None:
        with pytest.raises(PatternError):
            path_match(pattern, name)
    else:
        assert path_match(pattern, name) is expected


def test_pathspecs_cross_slashes_and_name_directory_prefixes() -> None:
    assert pathspec_match("envs/*/config.json", "envs/dev/config.json")
    assert pathspec_match("envs/*/config.json", "envs/a/b/config.json")  # git's * crosses /
    assert not pathspec_match("envs/*/config.json", "envs/dev/other.json")
    assert pathspec_match("envs", "envs/dev/config.json")
    assert pathspec_match("envs/dev/config.json", "envs/dev/config.json")
    assert not pathspec_match("env", "envs/dev/config.json")
    assert pathspec_match("**/*.yaml", "a/b.yaml")


@given(st.text(alphabet="*?[]^!\\-ab/", max_size=20), st.text(alphabet="ab/-[]", max_size=20))
def test_matchers_answer_or_raise_their_own_error(pattern: str, name: str) -> None:
    for matcher in (path_match, pathspec_match):
        with contextlib.suppress(PatternError):
            assert isinstance(matcher(pattern, name), bool)


def test_a_hostile_pattern_matches_in_linear_time() -> None:
    started = time.monotonic()
    assert not path_match("*a" * 200 + "b", "a" * 5000)
    assert not pathspec_match("*a" * 200 + "b", "a" * 5000)
    assert time.monotonic() - started < 1.0


def test_label_selectors() -> None:
    labels = {"env": "prod", "tier": "web"}
    assert selector_matches({"matchLabels": {"env": "prod"}}, labels, "x")
    assert not selector_matches({"matchLabels": {"env": "dev"}}, labels, "x")
    expr = {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "qa"]}]}
    assert selector_matches(expr, labels, "x")
    notin = {"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}
    assert selector_matches(notin, labels, "x")  # NotIn matches an absent key
    assert selector_matches(
        {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, labels, "x"
    )
    with pytest.raises(ConfigError, match="operator 'Near'"):
        check_selector({"matchExpressions": [{"key": "a", "operator": "Near"}]}, "spec.x")
