"""The three matchers generators use: Go's ``path.Match``, git's pathspecs, label selectors.

- Git directory generators match each directory with Go's ``path.Match``:
  ``*`` and ``?`` never cross ``/``, ``[...]`` (``^`` negates) and ``\\`` escapes.
- Git file generators list files as ``git ls-files -- PATTERN`` does (Argo CD's
  default): ``*`` crosses ``/``, and a pattern without wildcards names a file or
  a directory prefix.
- Selectors (``selector`` on a generator, ``clusters.selector``) are Kubernetes
  label selectors, without Kubernetes' limits on values, as Argo CD applies them.

Patterns come from users: they are translated into RE2 expressions, which match
in linear time whatever the pattern, so no pattern can stall the controller.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import re2

from gitward.model.errors import ConfigError


class PatternError(ConfigError):
    """A pattern Go's ``path.Match`` (or git) would refuse as malformed."""


def _escape(ch: str) -> str:
    return "\\" + ch if not ch.isalnum() else ch


def _char_class(pattern: str, i: int, negators: str, strict: bool) -> tuple[str, int]:
    """``[...]`` at ``i`` as an RE2 class, and the index after it.

    ``strict`` is Go's grammar: a range character may not be an unescaped ``-``
    or ``]`` (so ``[]a]`` and ``[-a]`` are malformed); otherwise a leading ``]``
    is literal, as in git.
    """
    j = i + 1
    negate = j < len(pattern) and pattern[j] in negators
    if negate:
        j += 1
    parts: list[str] = []
    first = True
    while True:
        if j >= len(pattern):
            raise PatternError(f"pattern {pattern!r}: unclosed '['")
        ch = pattern[j]
        if ch == "]" and not (first and not strict):
            if first:
                raise PatternError(f"pattern {pattern!r}: empty character class")
            j += 1
            break
        if strict and ch == "-":
            raise PatternError(f"pattern {pattern!r}: '-' must be escaped in a class")
        first = False
        if ch == "\\":
            j += 1
            if j >= len(pattern):
                raise PatternError(f"pattern {pattern!r}: ends with an escape")
            ch = pattern[j]
        lo = ch
        j += 1
        if j + 1 < len(pattern) and pattern[j] == "-" and pattern[j + 1] != "]":
            hi = pattern[j + 1]
            if hi == "\\":
                if j + 2 >= len(pattern):
                    raise PatternError(f"pattern {pattern!r}: ends with an escape")
                hi = pattern[j + 2]
                j += 1
            if hi < lo:
                raise PatternError(f"pattern {pattern!r}: bad range {lo}-{hi}")
            parts.append(f"{_escape(lo)}-{_escape(hi)}")
            j += 2
        else:
            parts.append(_escape(lo))
    return ("[^" if negate else "[") + "".join(parts) + "]", j


def _translate(pattern: str, *, cross_slash: bool, negators: str, strict: bool) -> str:
    star, one = (".*", ".") if cross_slash else ("[^/]*", "[^/]")
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            while i < len(pattern) and pattern[i] == "*":
                i += 1
            out.append(star)
            continue
        if ch == "?":
            out.append(one)
        elif ch == "[":
            regex, i = _char_class(pattern, i, negators, strict)
            out.append(regex)
            continue
        elif ch == "\\":
            i += 1
            if i >= len(pattern):
                raise PatternError(f"pattern {pattern!r}: ends with an escape")
            out.append(_escape(pattern[i]))
        else:
            out.append(_escape(ch))
        i += 1
    return "(?s)" + "".join(out)


@functools.lru_cache(maxsize=1024)
def _go_path(pattern: str) -> Any:
    return re2.compile(_translate(pattern, cross_slash=False, negators="^", strict=True))


@functools.lru_cache(maxsize=1024)
def _git_pathspec(pattern: str) -> Any:
    return re2.compile(_translate(pattern, cross_slash=True, negators="!^", strict=False))


def path_match(pattern: str, name: str) -> bool:
    """Go's ``path.Match(pattern, name)``; raises :class:`PatternError` for a bad pattern."""
    return _go_path(pattern).fullmatch(name) is not None


_WILDCARDS = frozenset("*?[\\")


def pathspec_match(pattern: str, path: str) -> bool:
    """Whether ``git ls-files -- pattern`` lists ``path`` (a file path relative to the root)."""
    pattern = pattern.lstrip("/") if pattern.startswith("/") else pattern
    if pattern.startswith("./"):
        pattern = pattern[2:]
    if not any(c in _WILDCARDS for c in pattern):
        stem = pattern.rstrip("/")
        return path == stem or path.startswith(stem + "/") or not stem
    return _git_pathspec(pattern).fullmatch(path) is not None


# -- label selectors -------------------------------------------------------------------------


def _requirement(expr: Mapping[str, Any], labels: Mapping[str, str], where: str) -> bool:
    key = expr.get("key")
    operator = expr.get("operator")
    values = expr.get("values") or []
    if not isinstance(key, str) or not key:
        raise ConfigError(f"{where}: matchExpressions: key is required")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{where}: matchExpressions {key}: values must be strings")
    if operator == "In":
        if not values:
            raise ConfigError(f"{where}: matchExpressions {key}: In needs values")
        return key in labels and labels[key] in values
    if operator == "NotIn":
        if not values:
            raise ConfigError(f"{where}: matchExpressions {key}: NotIn needs values")
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    raise ConfigError(
        f"{where}: matchExpressions {key}: operator {operator!r} "
        "(expected In, NotIn, Exists or DoesNotExist)"
    )


def check_selector(selector: Any, where: str) -> dict[str, Any]:
    """``selector`` as a mapping with well-formed parts; :class:`ConfigError` otherwise."""
    if selector is None:
        return {}
    if not isinstance(selector, dict):
        raise ConfigError(f"{where}: expected a label selector mapping")
    labels = selector.get("matchLabels") or {}
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise ConfigError(f"{where}: matchLabels must map strings to strings")
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list) or not all(isinstance(e, dict) for e in expressions):
        raise ConfigError(f"{where}: matchExpressions must be a list of mappings")
    for expr in expressions:
        _requirement(expr, {}, where)  # raises on a malformed requirement
    return selector


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str], where: str) -> bool:
    """Whether ``labels`` satisfy every ``matchLabels`` pair and ``matchExpressions`` entry."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_requirement(e, labels, where) for e in selector.get("matchExpressions") or [])


def selector_is_empty(selector: Mapping[str, Any] | None) -> bool:
    return not selector or (
        not selector.get("matchLabels") and not selector.get("matchExpressions")
    )
