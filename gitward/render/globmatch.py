"""``directory.include``/``exclude`` globs: :mod:`gitward._util.glob` with no separators.

A bad pattern is a :class:`GlobSyntaxError`, a :class:`~gitward.model.errors.ConfigError`
(the pure matcher below the model layer raises a plain ``ValueError``).
"""

from __future__ import annotations

from gitward._util import glob as _glob
from gitward._util.glob import Glob
from gitward.model.errors import ConfigError


class GlobSyntaxError(ConfigError):
    """A pattern gobwas/glob would refuse to compile (or one too long to accept)."""


def compile_glob(pattern: str, separators: str = "") -> Glob:
    """The compiled form of ``pattern``; raises :class:`GlobSyntaxError`."""
    try:
        return _glob.compile_glob(pattern, separators)
    except _glob.GlobSyntaxError as exc:
        raise GlobSyntaxError(str(exc)) from None


def glob_match(pattern: str, path: str, separators: str = "") -> bool:
    """Whether the whole of ``path`` matches ``pattern``."""
    return compile_glob(pattern, separators).fullmatch(path)


__all__ = ["Glob", "GlobSyntaxError", "compile_glob", "glob_match"]
