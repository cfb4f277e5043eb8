"""JSON decoding that does not stop at Python's recursion limit.

The API server accepts objects nested up to 10,000 levels (its decoder's limit), but
``json.loads`` raises ``RecursionError`` past about 1,000: one Application with a deep
``valuesObject`` made every list of Applications undecodable, so the controller's watch
died and ``gitward app list`` crashed. :func:`loads` uses the C decoder and, only when
that runs out of recursion, decodes the same text again with an explicit stack.

What to do with a deep object is the caller's business (an Application's spec is
refused by its parser, naming the field); decoding it keeps every other object usable.
"""

from __future__ import annotations

import json
import json.decoder
import re
from collections.abc import Callable
from typing import Any

#: The C string scanner json.loads uses (escapes, surrogates, control characters as it does).
scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?")
_CONSTANTS: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "NaN": float("nan"),
    "Infinity": float("inf"),
    "-Infinity": float("-inf"),
}


def loads(text: str) -> Any:
    """``json.loads(text)``, also for documents nested deeper than the recursion limit.

    Raises ``json.JSONDecodeError`` (a ``ValueError``) for text that is not JSON, like
    ``json.loads``.
    """
    try:
        return json.loads(text)
    except RecursionError:
        return loads_iteratively(text)


def _skip(text: str, at: int) -> int:
    match = _WS.match(text, at)
    return match.end() if match else at


def _key(text: str, at: int) -> tuple[str, int]:
    """A member name and its colon at ``at``; the index after them (and the spaces)."""
    if text[at : at + 1] != '"':
        raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, at)
    key, at = scanstring(text, at + 1)
    at = _skip(text, at)
    if text[at : at + 1] != ":":
        raise json.JSONDecodeError("Expecting ':' delimiter", text, at)
    return key, _skip(text, at + 1)


def _scalar(text: str, at: int) -> tuple[Any, int]:
    """A string, number or constant at ``at``; the index after it."""
    if text[at : at + 1] == '"':
        return scanstring(text, at + 1)
    for word, value in _CONSTANTS.items():
        if text.startswith(word, at):
            return value, at + len(word)
    match = _NUMBER.match(text, at)
    if match is None:
        raise json.JSONDecodeError("Expecting value", text, at)
    integer, fraction, exponent = match.groups()
    if fraction or exponent:
        return float(integer + (fraction or "") + (exponent or "")), match.end()
    return int(integer), match.end()


def loads_iteratively(text: str) -> Any:
    """Decode ``text`` with an explicit stack: any depth, at pure-Python speed."""
    stack: list[list[Any] | dict[str, Any]] = []
    keys: list[str] = []  # the pending member name of each open object, in order
    at = _skip(text, 0)
    while True:
        # A value starts at ``at``: open a container, or read a scalar.
        opener = text[at : at + 1]
        if opener in ("{", "["):
            at = _skip(text, at + 1)
            closer = "}" if opener == "{" else "]"
            if text[at : at + 1] == closer:
                value: Any = {} if opener == "{" else []
                at += 1
            else:
                if opener == "{":
                    key, at = _key(text, at)
                    keys.append(key)
                    stack.append({})
                else:
                    stack.append([])
                continue
        else:
            value, at = _scalar(text, at)
        # Put the value into its container; close every container that ends here.
        while True:
            at = _skip(text, at)
            if not stack:
                if at != len(text):
                    raise json.JSONDecodeError("Extra data", text, at)
                return value
            top = stack[-1]
            if isinstance(top, list):
                top.append(value)
            else:
                top[keys[-1]] = value
            delimiter = text[at : at + 1]
            if delimiter == ",":
                at = _skip(text, at + 1)
                if isinstance(top, dict):
                    keys[-1], at = _key(text, at)
                break  # the next value of ``top`` starts at ``at``
            if delimiter != ("]" if isinstance(top, list) else "}"):
                raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
            at += 1
            value = stack.pop()
            if isinstance(value, dict):
                keys.pop()
