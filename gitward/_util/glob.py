"""Glob patterns as Argo CD matches them (gobwas/glob), in linear time.

Argo CD compiles ``directory.include``/``exclude`` with *no* separators, so ``*``
matches across ``/`` (``*.yaml`` matches ``sub/x.yaml``); AppProject
``sourceRepos`` are compiled with ``/`` as separator, so there ``*`` stops at a
``/`` and ``**`` does not. ``?`` is any one character (not a separator);
``[abc]``, ``[a-z]`` and ``[!abc]`` are character classes; ``{a,b}`` lists
alternatives that may themselves hold patterns; ``\\`` escapes. The pattern
must match the whole text.

Patterns are written by whoever writes the Application and are matched
against every file name of the repository, so matching must take linear
time: a backtracking engine needs 17 s for ``'*a' * 10 + '*.json'`` against a
40-character name (and doubles with each ``*a``). The translation targets
RE2 (google-re2), an automaton without backtracking; every literal character
is written as ``\\x{...}`` so no user text is ever regex syntax.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

#: Longest pattern accepted (Argo CD's examples are a few dozen characters).
MAX_PATTERN = 1024
#: Deepest ``{...}`` nesting accepted.
MAX_BRACE_DEPTH = 16
_OPTIONS = re2.Options()
_OPTIONS.dot_nl = True
_OPTIONS.log_errors = False
_OPTIONS.never_capture = True


class GlobSyntaxError(ValueError):
    """A pattern gobwas/glob would refuse to compile (or one too long to accept).

    Callers turn it into their own error naming the field the pattern came from.
    """


class Glob:
    """A compiled pattern: :meth:`fullmatch` in time linear in the path's length."""

    def __init__(self, pattern: str, regex: Any) -> None:
        self.pattern = pattern
        self._regex = regex

    def fullmatch(self, path: str) -> bool:
        try:
            return self._regex.fullmatch(path) is not None
        except UnicodeEncodeError:
            # A file name that is not UTF-8 (os.fsdecode's surrogates): compare it the
            # way Go ranges over such a string, one U+FFFD per undecodable byte.
            fixed = path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            return self._regex.fullmatch(fixed) is not None


@functools.lru_cache(maxsize=4096)
def compile_glob(pattern: str, separators: str = "") -> Glob:
    """The compiled form of ``pattern``; raises :class:`GlobSyntaxError`.

    With ``separators``, ``*`` and ``?`` do not match them and ``**`` does.
    """
    if len(pattern) > MAX_PATTERN:
        raise GlobSyntaxError(f"longer than {MAX_PATTERN} characters")
    regex, end = _translate(pattern, 0, depth=0, separators=separators)
    if end != len(pattern):
        raise GlobSyntaxError(f"unexpected {pattern[end]!r} at position {end}")
    try:
        return Glob(pattern, re2.compile(regex, _OPTIONS))
    except re2.error as exc:  # e.g. too large for RE2's memory budget
        raise GlobSyntaxError(f"cannot be compiled: {exc}") from None


def glob_match(pattern: str, path: str, separators: str = "") -> bool:
    """Whether the whole of ``path`` matches ``pattern``."""
    return compile_glob(pattern, separators).fullmatch(path)


def _literal(ch: str) -> str:
    """``ch`` as an RE2 literal: letters and digits as they are, anything else by code point."""
    if ch.isascii() and ch.isalnum():
        return ch
    return f"\\x{{{ord(ch):X}}}"


def _translate(pattern: str, i: int, *, depth: int, separators: str) -> tuple[str, int]:
    """Translate from ``i`` up to the end, or to a ``,``/``}`` that ends a brace alternative."""
    not_sep = "[^" + "".join(_literal(c) for c in separators) + "]" if separators else "."
    out: list[str] = []
    n = len(pattern)
    in_braces = depth > 0
    while i < n:
        ch = pattern[i]
        if in_braces and ch in ",}":
            break
        if ch == "\\":
            if i + 1 >= n:
                raise GlobSyntaxError("pattern ends with an escape character")
            out.append(_literal(pattern[i + 1]))
            i += 2
        elif ch == "*":
            start = i
            while i < n and pattern[i] == "*":
                i += 1
            out.append(".*" if i - start > 1 else f"{not_sep}*")
        elif ch == "?":
            out.append(not_sep)
            i += 1
        elif ch == "[":
            regex, i = _char_class(pattern, i)
            out.append(regex)
        elif ch == "{":
            if depth >= MAX_BRACE_DEPTH:
                raise GlobSyntaxError(f"'{{' nested deeper than {MAX_BRACE_DEPTH}")
            alternatives: list[str] = []
            i += 1
            while True:
                alt, i = _translate(pattern, i, depth=depth + 1, separators=separators)
                alternatives.append(alt)
                if i >= n:
                    raise GlobSyntaxError("unclosed '{'")
                if pattern[i] == "}":
                    i += 1
                    break
                i += 1  # the ','
            out.append("(?:" + "|".join(alternatives) + ")")
        elif ch == "}" and not in_braces:
            raise GlobSyntaxError("unmatched '}'")
        else:
            out.append(_literal(ch))
            i += 1
    return "".join(out), i


def _char_class(pattern: str, i: int) -> tuple[str, int]:
    """``[...]`` starting at ``i``: the regex class and the index after ``]``."""
    close = pattern.find("]", i + 1)
    if close == -1:
        raise GlobSyntaxError("unclosed '['")
    body = pattern[i + 1 : close]
    negate = body.startswith("!")
    if negate:
        body = body[1:]
    if not body:
        raise GlobSyntaxError("empty character class")
    parts: list[str] = []
    j = 0
    while j < len(body):
        if j + 2 < len(body) and body[j + 1] == "-":
            lo, hi = body[j], body[j + 2]
            if lo > hi:
                raise GlobSyntaxError(f"bad range {lo}-{hi}")
            parts.append(f"{_literal(lo)}-{_literal(hi)}")
            j += 3
        else:
            parts.append(_literal(body[j]))
            j += 1
    return ("[^" if negate else "[") + "".join(parts) + "]", close + 1
