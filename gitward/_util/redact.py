"""One way to keep credentials out of every message: logs, errors, conditions, Events, metrics.

Anything that can carry text from a user or a tool passes through :func:`redact`
before it leaves gitward: URL user-info (``https://bot:TOKEN@host`` → ``https://***@host``),
``Authorization`` headers and bearer tokens, ``password=``/``token=``/``secret=``
pairs, PEM private keys, and any literal secret the caller knows of. The patterns
run on RE2 (linear time whatever the text), stop at quotes and backslashes so a
JSON line stays valid JSON, and the function never raises.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import re2

MASK = "***"

#: A value runs to whitespace, a quote, a backslash or a separator: it never eats JSON syntax.
_VALUE = r"[^\s\"'\\&,;}\]]+"
_USERINFO = re2.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s\"'\\]+@")
_AUTH_HEADER = re2.compile(
    r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)(?:(bearer|basic|token|digest)\s+)?" + _VALUE
)
_BEARER = re2.compile(r"(?i)\b(bearer)\s+([A-Za-z0-9._~+/=-]{4,})")
_CREDENTIAL_NAMES = r"[\w.-]*(?:password|passwd|secret|token|api[_-]?key)"
_KEY_VALUE = re2.compile(rf"(?i)\b({_CREDENTIAL_NAMES})([\"']?\s*[=:]\s*[\"']?)" + _VALUE)
#: Field names whose whole value is a secret (for structured logs and dict dumps).
SECRET_NAME = re2.compile(rf"(?i){_CREDENTIAL_NAMES}|authorization")
_PRIVATE_KEY = re2.compile(
    r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\z)"
)


def _auth_header(match: Any) -> str:
    scheme = f"{match.group(2)} " if match.group(2) else ""
    return f"{match.group(1)}{scheme}{MASK}"


def _bearer(match: Any) -> str:
    if match.group(2).lower() == "token":  # the prose "bearer token", not a credential
        return str(match.group(0))
    return f"{match.group(1)} {MASK}"


def redact_userinfo(text: str) -> str:
    """``text`` with the user-info of every URL in it masked (``scheme://***@host``)."""
    if "@" not in text:
        return text
    return str(_USERINFO.sub(r"\1***@", text))


def redact(text: str, secrets: Iterable[str] = (), *, pairs: bool = True) -> str:
    """``text`` with credentials masked; ``secrets`` are literal values to mask as well.

    ``pairs=False`` leaves ``password: ...``-shaped text alone: error messages name
    fields that way (``data.password: not valid base64``) and the guess would hide
    what is wrong; everything with the shape of a credential is still masked.
    """
    try:
        for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
            text = text.replace(secret, MASK)
        if "PRIVATE KEY" in text:
            text = _PRIVATE_KEY.sub("[private key redacted]", text)
        text = redact_userinfo(text)
        lowered = text.lower()
        if "authorization" in lowered:
            text = _AUTH_HEADER.sub(_auth_header, text)
        if "bearer" in lowered:
            text = _BEARER.sub(_bearer, text)
        if pairs and any(word in lowered for word in ("pass", "secret", "token", "key")):
            text = _KEY_VALUE.sub(rf"\1\2{MASK}", text)
    except Exception:  # a redactor that raises would lose the message; mask it all instead
        return "[message withheld: it could not be checked for credentials]"
    return text


def redact_tree(value: Any) -> Any:
    """A copy of a JSON-like tree with URL user-info masked in every string (for printing)."""
    if isinstance(value, str):
        return redact_userinfo(value) if "://" in value else value
    if isinstance(value, dict):
        return {k: redact_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_tree(v) for v in value]
    return value
