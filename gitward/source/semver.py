"""Semantic versions and the constraint syntax Argo CD accepts as ``targetRevision``.

Argo CD resolves a ``targetRevision`` such as ``v1.2.*``, ``~1.2`` or
``>=1.0.0 <2.0.0`` to the highest tag that satisfies it (Masterminds/semver
rules). This module implements that grammar without a dependency:

- comparators ``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=`` (a space after the
  operator is allowed), ANDed by spaces or commas, ORed by ``||``;
- wildcards ``x``, ``X``, ``*`` and partial versions (``1.2`` means ``1.2.x``);
- ``~1.2.3`` (>=1.2.3 <1.3.0), ``~1`` (>=1 <2), ``^1.2.3`` (>=1.2.3 <2.0.0),
  ``^0.2.3`` (<0.3.0), ``^0.0.3`` (<0.0.4); hyphen ranges ``1.2 - 1.4.5``;
- an optional ``v`` prefix on both versions and constraints.

Pre-release versions match only a constraint that itself names a pre-release,
so ``^1.0.0`` never picks ``1.5.0-rc.1``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

_VERSION = re.compile(
    r"^[vV]?(?P<major>\d+)(?:\.(?P<minor>\d+))?(?:\.(?P<patch>\d+))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?$"
)
_PARTIAL = re.compile(
    r"^[vV]?(?P<major>\d+|[xX*])(?:\.(?P<minor>\d+|[xX*]))?(?:\.(?P<patch>\d+|[xX*]))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)
_COMPARATOR = re.compile(r"^(?P<op>!=|>=|=>|<=|=<|~>|>|<|=|~|\^)?\s*(?P<ver>\S+)$")
_HYPHEN = re.compile(r"(\S+)\s+-\s+(\S+)")
_OP_SPACE = re.compile(r"(!=|>=|=>|<=|=<|~>|>|<|=|~|\^)\s+")


@dataclass(frozen=True)
class Version:
    """A parsed version; ``original`` is the text it came from (a tag name, say)."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    original: str = ""

    def key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        """Sort key with SemVer precedence: a pre-release sorts before its release."""
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: Version) -> bool:
        return self.key() < other.key()

    def __le__(self, other: Version) -> bool:
        return self.key() <= other.key()


def parse_version(text: str) -> Version | None:
    """``v1.2.3-rc.1+build`` → Version; ``1.2`` → 1.2.0; None for anything else."""
    match = _VERSION.match(text.strip())
    if not match:
        return None
    pre = tuple(match["pre"].split(".")) if match["pre"] else ()
    return Version(
        int(match["major"]), int(match["minor"] or 0), int(match["patch"] or 0), pre, text
    )


@dataclass(frozen=True)
class _Partial:
    """A version that may stop early or contain wildcards: None means "any"."""

    major: int | None
    minor: int | None
    patch: int | None
    prerelease: tuple[str, ...]

    @property
    def exact(self) -> bool:
        return self.patch is not None

    def lower(self) -> Version:
        return Version(self.major or 0, self.minor or 0, self.patch or 0, self.prerelease)

    def upper(self) -> Version | None:
        """First version past the range this partial names; None when unbounded."""
        if self.major is None:
            return None
        if self.minor is None:
            return Version(self.major + 1, 0, 0, ("0",))
        if self.patch is None:
            return Version(self.major, self.minor + 1, 0, ("0",))
        return None


def _parse_partial(text: str) -> _Partial | None:
    match = _PARTIAL.match(text)
    if not match:
        return None
    parts: list[int | None] = []
    for name in ("major", "minor", "patch"):
        value = match[name]
        parts.append(None if value is None or value in "xX*" else int(value))
    # Anything after a wildcard is a wildcard too: 1.x.3 means 1.x.
    for i in range(1, 3):
        if parts[i - 1] is None:
            parts[i] = None
    pre = tuple(match["pre"].split(".")) if match["pre"] else ()
    return _Partial(parts[0], parts[1], parts[2], pre)


Check = Callable[[Version], bool]


def _range(low: Version | None, high: Version | None, high_inclusive: bool = False) -> Check:
    def check(v: Version) -> bool:
        if low is not None and v < low:
            return False
        if high is None:
            return True
        return v <= high if high_inclusive else v < high

    return check


def _comparator(op: str, p: _Partial) -> Check:
    low, high = p.lower(), p.upper()
    if op in ("", "="):
        if p.major is None:
            return _range(None, None)
        return _range(low, low, True) if p.exact else _range(low, high)
    if op == "!=":
        inside = _comparator("=", p)
        return lambda v: not inside(v)
    if op == ">":
        return (lambda v: low < v) if p.exact else _range(high, None)
    if op in (">=", "=>"):
        return _range(low, None)
    if op == "<":
        return _range(None, low)
    if op in ("<=", "=<"):
        return _range(None, low, True) if p.exact else _range(None, high)
    if op in ("~", "~>"):
        if p.major is None:
            return _range(None, None)
        if p.minor is None:
            return _range(low, Version(p.major + 1, 0, 0, ("0",)))
        return _range(low, Version(p.major, p.minor + 1, 0, ("0",)))
    # op == "^": the left-most non-zero component may not change.
    if p.major is None:
        return _range(None, None)
    if p.major > 0 or p.minor is None:
        return _range(low, Version(p.major + 1, 0, 0, ("0",)))
    if p.minor > 0 or p.patch is None:
        return _range(low, Version(0, p.minor + 1, 0, ("0",)))
    return _range(low, Version(0, 0, p.patch + 1, ("0",)))


@dataclass(frozen=True)
class Constraint:
    """A parsed constraint: alternatives (``||``) of comparator conjunctions."""

    text: str
    alternatives: tuple[tuple[tuple[Check, ...], bool], ...]

    def allows(self, version: Version) -> bool:
        for checks, allow_pre in self.alternatives:
            if version.prerelease and not allow_pre:
                continue
            if all(check(version) for check in checks):
                return True
        return False

    def best(self, candidates: Iterable[tuple[str, T]]) -> tuple[Version, T] | None:
        """The highest ``(version, value)`` whose name satisfies the constraint."""
        found: tuple[Version, T] | None = None
        for name, value in candidates:
            version = parse_version(name)
            if version is None or not self.allows(version):
                continue
            if found is None or found[0] < version:
                found = (version, value)
        return found


def _parse_alternative(text: str) -> tuple[tuple[Check, ...], bool] | None:
    checks: list[Check] = []
    allow_pre = False
    text = _OP_SPACE.sub(r"\1", text.replace(",", " "))
    hyphens = _HYPHEN.findall(text)
    text = _HYPHEN.sub(" ", text)
    for a, b in hyphens:
        lo, hi = _parse_partial(a), _parse_partial(b)
        if lo is None or hi is None:
            return None
        allow_pre = allow_pre or bool(lo.prerelease or hi.prerelease)
        checks.append(
            _range(lo.lower(), hi.lower(), True) if hi.exact else _range(lo.lower(), hi.upper())
        )
    for token in text.split():
        match = _COMPARATOR.match(token)
        partial = _parse_partial(match["ver"]) if match else None
        if match is None or partial is None:
            return None
        allow_pre = allow_pre or bool(partial.prerelease)
        checks.append(_comparator(match["op"] or "", partial))
    return (tuple(checks), allow_pre) if checks else None


def parse_constraint(text: str) -> Constraint | None:
    """Parse ``text`` as a constraint; None when it is not one (a branch name, say)."""
    alternatives = []
    for part in text.split("||"):
        alternative = _parse_alternative(part.strip())
        if alternative is None:
            return None
        alternatives.append(alternative)
    return Constraint(text, tuple(alternatives))
