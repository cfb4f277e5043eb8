"""Checks a ``jqPathExpressions`` entry before any jq ever sees it.

The expression comes from whoever writes the Application, and gitward runs it
inside a fixed program, ``del(EXPR)``. Two things must hold for that to be safe:

- EXPR is *one* expression: its brackets balance and close in order, it has
  no comment (``#`` would swallow the closing parenthesis), no top-level
  ``;`` and no definitions, so the text cannot end ``del(`` early and start a
  program of its own (``.a) | $ENV | (.b``).
- EXPR names no builtin that reaches outside the object: the environment
  (``$ENV``, ``env``), further inputs (``input``, ``inputs``, ``input_filename``),
  modules and their search path (``import``, ``include``, ``modulemeta``,
  ``get_search_list``), the process (``halt``, ``halt_error``, ``debug``,
  ``stderr``). These are refused by name, *before* jq compiles anything:
  compiling ``include "x";`` already reads files.

What is left is jq's pure language over the one input, which the evaluator
(gitward.sandbox.jqrun) still runs in a separate process with an empty
environment, resource limits and a timeout, because a pure program can still
loop or allocate without end. A field called like a forbidden builtin is
fine (``.spec.containers[].env``, ``."env"``); the bare name is not, even as
an object key (write ``{"env": 1}``).
"""

from __future__ import annotations

import functools
import re

import jq

#: Longest expression accepted; Argo CD's examples are a few dozen characters.
MAX_LENGTH = 4096
#: Deepest bracket nesting accepted (jq's own parser recurses per level).
MAX_DEPTH = 64

FORBIDDEN_NAMES = frozenset(
    {
        "env",
        "input",
        "inputs",
        "input_filename",
        "input_line_number",
        "debug",
        "stderr",
        "halt",
        "halt_error",
        "import",
        "include",
        "modulemeta",
        "get_search_list",
        "get_jq_origin",
        "get_prog_origin",
        "getpath_search",
        "def",
        "$ENV",
        "$__prog_args",
    }
)

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*")
_CLOSING = {")": "(", "]": "[", "}": "{"}


class JqExpressionError(ValueError):
    """Why an expression is refused (the caller adds which field it was)."""


def check_shape(expr: str) -> None:
    """Raise :class:`JqExpressionError` unless ``expr`` is one bracket-balanced expression.

    A small scanner over jq's lexical structure: string literals (with ``\\(...)``
    interpolations, whose code is scanned as code), brackets, names and variables.
    """
    if not expr.strip():
        raise JqExpressionError("empty expression")
    if len(expr) > MAX_LENGTH:
        raise JqExpressionError(f"longer than {MAX_LENGTH} characters")
    if any(ord(c) < 32 and c not in "\t\n\r" for c in expr):
        raise JqExpressionError("control characters are not allowed")
    stack: list[str] = []  # open brackets; '"' inside a string; '\\(' inside an interpolation
    i, n = 0, len(expr)
    previous = ""  # the last significant character, to tell `.name` from `name`
    while i < n:
        ch = expr[i]
        if stack and stack[-1] == '"':
            if ch == "\\" and expr[i + 1 : i + 2] == "(":
                stack.append("\\(")
                i, previous = i + 2, "("
            elif ch == "\\":
                i += 2
            else:
                if ch == '"':
                    stack.pop()
                    previous = '"'
                i += 1
            continue
        if ch in " \t\r\n":
            i += 1
            continue
        if ch == "#":
            raise JqExpressionError("comments are not allowed")
        if ch in '([{"':
            stack.append(ch)
            if len(stack) > MAX_DEPTH:
                raise JqExpressionError(f"nested deeper than {MAX_DEPTH} brackets")
            i, previous = i + 1, ch
            continue
        if ch in ")]}":
            opener = stack.pop() if stack else ""
            if not (opener == _CLOSING[ch] or (ch == ")" and opener == "\\(")):
                raise JqExpressionError(f"unbalanced {ch!r} at position {i}")
            i, previous = i + 1, ch
            continue
        if ch == ";" and not stack:
            raise JqExpressionError(f"';' outside brackets at position {i}")
        if ch == "$":
            match = _IDENT.match(expr, i + 1)
            name = "$" + (match.group(0) if match else "")
            if name in FORBIDDEN_NAMES:
                raise JqExpressionError(f"{name} is not allowed")
            i, previous = (match.end() if match else i + 1), "a"
            continue
        match = _IDENT.match(expr, i) if (ch.isalpha() or ch == "_") else None
        if match is None:
            i, previous = i + 1, ch
            continue
        word = match.group(0)
        if previous != "." or expr[i - 1] != ".":  # `.env` is a field, not a call
            parts = word.split("::")
            if any(part in FORBIDDEN_NAMES for part in parts):
                raise JqExpressionError(f"{word} is not allowed")
            if len(parts) > 1:
                raise JqExpressionError(f"{word}: modules are not allowed")
        i, previous = match.end(), "a"
    if '"' in stack:
        raise JqExpressionError("unterminated string")
    if stack:
        raise JqExpressionError(f"unclosed {stack[-1]!r}")


@functools.lru_cache(maxsize=1024)
def check_expression(expr: str) -> None:
    """Refuse ``expr`` unless it is one safe path expression that jq compiles.

    Raises :class:`JqExpressionError`. The shape and name checks run first, so
    jq's compiler never sees text that could make it read a file.
    """
    check_shape(expr)
    for program in (expr, f"del({expr})"):
        try:
            jq.compile(program)
        except ValueError as exc:
            lines = [line for line in str(exc).splitlines() if line.strip()]
            raise JqExpressionError(lines[0] if lines else "does not compile") from None
