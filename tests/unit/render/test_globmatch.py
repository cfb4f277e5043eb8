"""Argo CD's include/exclude globs: gobwas/glob without separators."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from gitward.render.globmatch import GlobSyntaxError, glob_match


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.yaml", "a.yaml", True),
        ("*.yaml", "sub/a.yaml", True),  # no separators: '*' crosses '/'
        ("*.yaml", "a.yml", False),
        ("{*.yml,*.yaml}", "a.yml", True),
        ("{*.yml,*.yaml}", "a.json", False),
        ("sub/*", "sub/deep/a.yaml", True),
        ("config?.json", "config1.json", True),
        ("config?.json", "config12.json", False),
        ("[ab]*.yaml", "b.yaml", True),
        ("[!ab]*.yaml", "b.yaml", False),
        ("[!ab]*.yaml", "c.yaml", True),
        ("[a-c].yaml", "b.yaml", True),
        ("{prod/*,shared/{db,cache}.yaml}", "shared/cache.yaml", True),
        ("{prod/*,shared/{db,cache}.yaml}", "shared/web.yaml", False),
        ("**/*.yaml", "a/b/c.yaml", True),
        (r"weird\*.yaml", "weird*.yaml", True),
        (r"weird\*.yaml", "weirdx.yaml", False),
        ("deployment.yaml", "deployment.yaml", True),
        ("deployment.yaml", "sub/deployment.yaml", False),  # whole-path match
        ("a.b", "axb", False),  # '.' is literal
    ],
)
def test_matches_like_argo_cd(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected


@pytest.mark.parametrize("pattern", ["[abc", "{a,b", "a}", "x\\", "[]"])
def test_malformed_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(GlobSyntaxError):
        glob_match(pattern, "x")


def _seconds(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


@pytest.mark.parametrize("stars", [10, 50, 200])
def test_pathological_patterns_match_in_linear_time(stars: int) -> None:
    # A backtracking engine needed 17 s for 10 stars against a 40-character name.
    pattern = "*a" * stars + "*.json"
    assert _seconds(lambda: glob_match(pattern, "a" * 40)) < 0.5
    assert _seconds(lambda: glob_match(pattern, "a" * 5000 + ".yaml")) < 0.5
    assert glob_match(pattern, "a" * stars + ".json")
    assert not glob_match(pattern, "a" * (stars - 1) + ".json")


def test_nested_and_long_patterns_are_refused_not_crashing() -> None:
    with pytest.raises(GlobSyntaxError, match="nested deeper"):
        glob_match("{" * 400 + "a" + "}" * 400, "a")
    with pytest.raises(GlobSyntaxError, match="longer than"):
        glob_match("a" * 2000, "a")


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("(a|b)+.yaml", "(a|b)+.yaml", True),  # regex syntax is literal text
        ("(a|b)+.yaml", "a.yaml", False),
        ("é?.yaml", "éx.yaml", True),
        ("a b.yaml", "a b.yaml", True),
        ("*.yaml", "bad\udcff.yaml", True),  # a name that is not UTF-8
        ("?.yaml", "\udcff.yaml", True),
        ("[^a].yaml", "^.yaml", True),
    ],
)
def test_literal_text_and_odd_names(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected
