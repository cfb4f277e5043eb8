"""Revision matching against an ls-remote listing, in Argo CD's order."""

from __future__ import annotations

import pytest

from gitward.source.refs import NEEDS_MIRROR, RefMap, match_revision, parse_ls_remote

A, B, C, D, E = ("a" * 40, "b" * 40, "c" * 40, "d" * 40, "e" * 40)

LISTING = f"""{A}\tHEAD
{A}\trefs/heads/main
{B}\trefs/heads/staging
{C}\trefs/heads/v1.0
{D}\trefs/tags/v1.0
{E}\trefs/tags/annotated
{B}\trefs/tags/annotated^{{}}
{C}\trefs/tags/v1.2.0
{D}\trefs/tags/v1.10.0
{E}\trefs/tags/v2.0.0-rc.1
{A}\trefs/pull/7/head
garbage line
"""


@pytest.fixture
def refs() -> RefMap:
    return parse_ls_remote(LISTING)


def test_annotated_tags_are_peeled(refs: RefMap) -> None:
    assert refs.refs["refs/tags/annotated"] == B
    assert "refs/tags/annotated^{}" not in refs.refs


@pytest.mark.parametrize(
    ("revision", "sha", "kind"),
    [
        ("", A, "head"),
        ("HEAD", A, "head"),
        ("main", A, "ref"),
        ("staging", B, "ref"),
        ("refs/heads/staging", B, "ref"),
        ("heads/staging", B, "ref"),
        ("annotated", B, "ref"),
        ("v1.0", D, "ref"),  # git's precedence: a tag before a branch of the same name
        ("refs/heads/v1.0", C, "ref"),
        ("pull/7/head", A, "ref"),
        ("v1.*", D, "semver"),  # v1.10.0 > v1.2.0: numeric, not lexical
        ("~1.2", C, "semver"),
        ("F" * 40, "f" * 40, "sha"),
        ("abc1234", NEEDS_MIRROR, "short-sha"),
    ],
)
def test_match(refs: RefMap, revision: str, sha: str, kind: str) -> None:
    match = match_revision(refs, revision)
    assert match is not None
    assert (match.sha, match.kind) == (sha, kind)


@pytest.mark.parametrize("revision", ["nope", "feature/x", "^3.0.0", "abc"])
def test_no_match(refs: RefMap, revision: str) -> None:
    assert match_revision(refs, revision) is None


def test_head_missing() -> None:
    assert match_revision(parse_ls_remote(f"{A}\trefs/heads/main\n"), "HEAD") is None
