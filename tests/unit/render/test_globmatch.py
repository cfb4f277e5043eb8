"""Argo CD's include/exclude globs: gobwas/glob without separators."""

from __future__ import annotations

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
