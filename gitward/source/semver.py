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

Both sides are hostile input (a ``targetRevision``, a repository's tag list),
so matching is linear: the expressions run on RE2 (google-re2), hyphen ranges
are found by splitting into words, and lengths are bounded. A version
component must fit in 64 bits, as in Masterminds/semver (which parses them as
``uint64``): a tag ``v1`` followed by 5,000 zeros is not a version, rather
than an integer Python refuses to convert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import re2

T = TypeVar("T")

#: Longest version (a tag name) and constraint (a targetRevision) considered at all.
MAX_VERSION_LENGTH = 256
MAX_CONSTRAINT_LENGTH = 1024
_MAX_COMPONENT = 2**64 - 1

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_VERSION: Any = re2.compile(
    r"^[vV]?(?P<major>[0-9]+)(?:\.(?P<minor>[0-9]+))?(?:\.(?P<patch>[0-9]+))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?$",
    _OPTIONS,
)
_PARTIAL: Any = re2.compile(
    r"^[vV]?(?P<major>[0-9]+|[xX*])(?:\.(?P<minor>[0-9]+|[xX*]))?(?:\.(?P<patch>[0-9]+|[xX*]))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$",
    _OPTIONS,
)
_COMPARATOR: Any = re2.compile(r"^(?P<op>!=|>=|=>|<=|=<|~>|>|<|=|~|\^)?(?P<ver>\S+)$", _OPTIONS)
_OPS = ("!=", ">=", "=>", "<=", "=<", "~>", ">", "<", "=", "~", "^")


def _component(text: str | None) -> int | None:
    """A numeric component, or None when absent or beyond 64 bits."""
    if text is None:
        return None
    if len(text) > 20:
        return None
    value = int(text)
    return value if value <= _MAX_COMPONENT else None


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
    stripped = text.strip()
    if len(stripped) > MAX_VERSION_LENGTH:
        return None
    match = _VERSION.match(stripped)
    if not match:
        return None
    major, minor, patch = (_component(match.group(k) or "0") for k in ("major", "minor", "patch"))
    if major is None or minor is None or patch is None:
        return None
    pre = tuple(match.group("pre").split(".")) if match.group("pre") else ()
    return Version(major, minor, patch, pre, text)


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
    if len(text) > MAX_VERSION_LENGTH:
        return None
    match = _PARTIAL.match(text)
    if not match:
        return None
    parts: list[int | None] = []
    for name in ("major", "minor", "patch"):
        value = match.group(name)
        if value is None or value in "xX*":
            parts.append(None)
            continue
        number = _component(value)
        if number is None:
            return None
        parts.append(number)
    # Anything after a wildcard is a wildcard too: 1.x.3 means 1.x.
    for i in range(1, 3):
        if parts[i - 1] is None:
            parts[i] = None
    pre = tuple(match.group("pre").split(".")) if match.group("pre") else ()
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


def _words(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Hyphen ranges ``(a, b)`` and the remaining comparator words of one alternative.

    Commas separate like spaces, and an operator may stand apart from its
    version (``>= 1.2``): it is joined to the next word.
    """
    words = text.replace(",", " ").split()
    joined: list[str] = []
    for word in words:
        if joined and joined[-1] in _OPS:
            joined[-1] += word
        else:
            joined.append(word)
    hyphens: list[tuple[str, str]] = []
    rest: list[str] = []
    k = 0
    while k < len(joined):
        if k + 2 < len(joined) and joined[k + 1] == "-":
            hyphens.append((joined[k], joined[k + 2]))
            k += 3
        else:
            rest.append(joined[k])
            k += 1
    return hyphens, rest


def _parse_alternative(text: str) -> tuple[tuple[Check, ...], bool] | None:
    checks: list[Check] = []
    allow_pre = False
    hyphens, words = _words(text)
    for a, b in hyphens:
        lo, hi = _parse_partial(a), _parse_partial(b)
        if lo is None or hi is None:
            return None
        allow_pre = allow_pre or bool(lo.prerelease or hi.prerelease)
        checks.append(
            _range(lo.lower(), hi.lower(), True) if hi.exact else _range(lo.lower(), hi.upper())
        )
    for token in words:
        match = _COMPARATOR.match(token)
        partial = _parse_partial(match.group("ver")) if match else None
        if match is None or partial is None:
            return None
        allow_pre = allow_pre or bool(partial.prerelease)
        checks.append(_comparator(match.group("op") or "", partial))
    return (tuple(checks), allow_pre) if checks else None


def parse_constraint(text: str) -> Constraint | None:
    """Parse ``text`` as a constraint; None when it is not one (a branch name, say)."""
    if len(text) > MAX_CONSTRAINT_LENGTH:
        return None
    alternatives = []
    for part in text.split("||"):
        alternative = _parse_alternative(part.strip())
        if alternative is None:
            return None
        alternatives.append(alternative)
    return Constraint(text, tuple(alternatives))
