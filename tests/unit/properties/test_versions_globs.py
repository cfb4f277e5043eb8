"""Semver versions and ranges, refs and include/exclude globs: total, and linear in time."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from gitward._util.glob import _translate
from gitward.model.errors import GitwardError
from gitward.render.globmatch import compile_glob, glob_match
from gitward.source.refs import RefMap, match_revision, parse_ls_remote
from gitward.source.semver import parse_constraint, parse_version
from tests.unit.properties.strategies import joined, repeated, seconds

SEMVER_FRAGMENTS = [
    "v", "1", "0", "9" * 30, ".", "-", "+", "x", "*", "~", "^", ">=", "<=", "=>", "!=", ">",
    "<", "=", "||", ",", " ", " - ", "rc", "alpha.1", "\t", "\u0661",
]  # fmt: skip
versions = st.one_of(joined(SEMVER_FRAGMENTS, 20), repeated(SEMVER_FRAGMENTS, 6000))


@given(versions, st.lists(versions, max_size=8))
@example("1" * 20_000, ["v1" + "0" * 5000])
@example(">=1 " * 5000, ["v" + "9" * 4400 + ".0.0"])
@example("1.2 - " * 3000, ["1.2.3-" + "1" * 300])
def test_versions_and_ranges_are_total_and_fast(text: str, tags: list[str]) -> None:
    assert seconds(lambda: parse_version(text)) < 0.5
    assert seconds(lambda: parse_constraint(text)) < 0.5
    constraint = parse_constraint(text)
    if constraint is not None:
        assert seconds(lambda: constraint.best((t, t) for t in tags)) < 0.5


REF_FRAGMENTS = ["refs/heads/", "refs/tags/", "^{}", "\t", "\n", "HEAD", "a" * 40, "0" * 40, "main"]


@given(joined(REF_FRAGMENTS, 20), versions)
def test_ls_remote_listings_and_revisions_are_total(listing: str, revision: str) -> None:
    refs = parse_ls_remote(listing)
    match_revision(refs, revision)
    match_revision(RefMap({"refs/tags/v1.0.0": "a" * 40, "HEAD": "b" * 40}), revision)


GLOB_FRAGMENTS = [
    "*",
    "?",
    "[",
    "]",
    "!",
    "-",
    "{",
    "}",
    ",",
    "\\",
    "a",
    "b",
    ".",
    "/",
    "é",
    "(",
    "|",
]
globs = st.one_of(joined(GLOB_FRAGMENTS, 20), repeated(["*a", "{a,", "[a-", "\\"], 600))
paths = st.one_of(st.text(max_size=20), repeated(["a", "a/", ".json"], 5000))


@given(globs, paths)
@example("*a" * 10 + "*.json", "a" * 40)
@example("{" * 40 + "a" + "}" * 40, "a")
@example("*.yaml", "x\udcff.yaml")
def test_globs_compile_or_fail_typed_and_match_in_linear_time(pattern: str, path: str) -> None:
    try:
        compiled = compile_glob(pattern)
    except GitwardError:
        return
    assert seconds(lambda: compiled.fullmatch(path)) < 0.5


def _python_regex(pattern: str) -> str:
    """The same translation for Python's engine (RE2 writes literals as \\x{...})."""
    regex, _ = _translate(pattern, 0, depth=0, separators="")
    return re.sub(r"\\x\{([0-9A-F]+)\}", lambda m: re.escape(chr(int(m[1], 16))), regex)


@given(joined(GLOB_FRAGMENTS, 6), st.text(alphabet="ab./é-,{}*", max_size=8))
def test_re2_agrees_with_a_backtracking_engine_on_small_inputs(pattern: str, path: str) -> None:
    try:
        compile_glob(pattern)
    except GitwardError:
        return
    expected = re.fullmatch(_python_regex(pattern), path, re.DOTALL) is not None
    assert glob_match(pattern, path) is expected
