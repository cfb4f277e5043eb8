"""From ``git ls-remote`` output and a ``targetRevision`` to a commit SHA.

Pure functions: :func:`parse_ls_remote` turns the listing into a :class:`RefMap`
(annotated tags already peeled to their commits) and :func:`match_revision`
applies Argo CD's rules, in this order:

1. empty or ``HEAD`` → the remote's ``HEAD``;
2. a full 40-hex SHA → itself (no lookup: a commit need not be any ref's tip);
3. a ref name, in git's own precedence: ``refs/<rev>``, ``refs/tags/<rev>``,
   ``refs/heads/<rev>`` (so ``v1.0`` may be a tag or a branch);
4. a semver constraint → the highest matching tag (``v`` prefix optional);
5. 4-39 hex digits → a short SHA, which only a fetched mirror can expand
   (:data:`NEEDS_MIRROR` tells the caller to do that).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gitward.source.semver import parse_constraint

FULL_SHA = re.compile(r"^[0-9a-fA-F]{40}$")
SHORT_SHA = re.compile(r"^[0-9a-fA-F]{4,39}$")

#: Returned by :func:`match_revision` for a short SHA: expand it in the mirror.
NEEDS_MIRROR = "short-sha"


@dataclass(frozen=True)
class RefMap:
    """Every ref the remote advertised, each mapped to the commit it points at."""

    refs: dict[str, str] = field(default_factory=dict)

    def tags(self) -> dict[str, str]:
        prefix = "refs/tags/"
        return {
            name[len(prefix) :]: sha for name, sha in self.refs.items() if name.startswith(prefix)
        }


def parse_ls_remote(text: str) -> RefMap:
    """Parse ``<sha>\\t<ref>`` lines; a tag's ``^{}`` line (its commit) overrides the tag."""
    refs: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for line in text.splitlines():
        sha, _, name = line.partition("\t")
        if not name or not FULL_SHA.match(sha):
            continue
        if name.endswith("^{}"):
            peeled[name[:-3]] = sha.lower()
        else:
            refs[name] = sha.lower()
    refs.update(peeled)
    return RefMap(refs)


@dataclass(frozen=True)
class Match:
    """How a revision was resolved: the SHA (or :data:`NEEDS_MIRROR`) and what matched."""

    sha: str
    kind: str  # "head", "sha", "ref", "semver", "short-sha"
    ref: str = ""


def match_revision(refs: RefMap, revision: str) -> Match | None:
    """Resolve ``revision`` against ``refs``; None when nothing matches."""
    rev = revision.strip()
    if rev in ("", "HEAD"):
        sha = refs.refs.get("HEAD")
        return Match(sha, "head", "HEAD") if sha else None
    if FULL_SHA.match(rev):
        return Match(rev.lower(), "sha")
    for name in (rev, f"refs/{rev}", f"refs/tags/{rev}", f"refs/heads/{rev}"):
        if name.startswith("refs/") and name in refs.refs:
            return Match(refs.refs[name], "ref", name)
    constraint = parse_constraint(rev)
    if constraint is not None:
        best = constraint.best(refs.tags().items())
        if best is not None:
            return Match(best[1], "semver", f"refs/tags/{best[0].original}")
    if SHORT_SHA.match(rev):
        return Match(NEEDS_MIRROR, "short-sha")
    return None
