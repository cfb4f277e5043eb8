"""Argo CD's ``directory.include``/``exclude`` glob patterns, matched the way Argo CD does.

Argo CD compiles these with gobwas/glob and *no* path separators, so ``*``
matches across ``/`` (``*.yaml`` matches ``sub/x.yaml``); ``?`` is any one
character; ``[abc]``, ``[a-z]`` and ``[!abc]`` are character classes; ``{a,b}``
lists alternatives that may themselves hold patterns; ``\\`` escapes. The
pattern must match the whole path relative to the application directory.
"""

from __future__ import annotations

import functools
import re


class GlobSyntaxError(ValueError):
    """A pattern gobwas/glob would refuse to compile."""


@functools.lru_cache(maxsize=256)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """A regular expression equivalent to ``pattern``; raises :class:`GlobSyntaxError`."""
    regex, end = _translate(pattern, 0, in_braces=False)
    if end != len(pattern):
        raise GlobSyntaxError(f"unexpected {pattern[end]!r} at position {end}")
    return re.compile(regex, re.DOTALL)


def glob_match(pattern: str, path: str) -> bool:
    """Whether the whole of ``path`` matches ``pattern``."""
    return compile_glob(pattern).fullmatch(path) is not None


def _translate(pattern: str, i: int, *, in_braces: bool) -> tuple[str, int]:
    """Translate from ``i`` up to the end, or to a ``,``/``}`` that ends a brace alternative."""
    out: list[str] = []
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if in_braces and ch in ",}":
            break
        if ch == "\\":
            if i + 1 >= n:
                raise GlobSyntaxError("pattern ends with an escape character")
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif ch == "*":
            while i < n and pattern[i] == "*":
                i += 1
            out.append(".*")
        elif ch == "?":
            out.append(".")
            i += 1
        elif ch == "[":
            regex, i = _char_class(pattern, i)
            out.append(regex)
        elif ch == "{":
            alternatives: list[str] = []
            i += 1
            while True:
                alt, i = _translate(pattern, i, in_braces=True)
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
            out.append(re.escape(ch))
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
            parts.append(f"{re.escape(lo)}-{re.escape(hi)}")
            j += 3
        else:
            parts.append(re.escape(body[j]))
            j += 1
    return ("[^" if negate else "[") + "".join(parts) + "]", close + 1
