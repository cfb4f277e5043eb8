"""Argo CD's default template mode: ``{{ key }}`` replaced by a string parameter.

The rules of valyala/fasttemplate as Argo CD drives it:

- a string is templated only when some ``{{`` is followed by ``}}`` on the same
  line (Go's ``.*{{.*}}.*``); any other string is left exactly as written;
- a templated string is split at every ``{{``; each must be closed by a later
  ``}}``, or the template is invalid;
- the tag between them, trimmed, names a parameter; a string parameter replaces
  the whole ``{{...}}``, and an unknown key (or a non-string value) leaves the
  tag verbatim, untrimmed.

Map keys are templated as well as values, as Argo CD does. Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.model.errors import ConfigError


class FastTemplateError(ConfigError):
    """A ``{{`` without its ``}}`` in a string that is templated."""


def _templated(text: str) -> bool:
    """Go's ``.*{{.*}}.*`` (``.`` stops at a newline), in linear time."""
    for line in text.split("\n"):
        start = line.find("{{")
        if start >= 0 and line.find("}}", start + 2) >= 0:
            return True
    return False


def replace(text: str, params: Mapping[str, Any]) -> str:
    """``text`` with every ``{{ key }}`` of a known string parameter replaced."""
    if "{{" not in text or not _templated(text):
        return text
    out: list[str] = []
    rest = text
    while True:
        start = rest.find("{{")
        if start < 0:
            out.append(rest)
            break
        out.append(rest[:start])
        rest = rest[start + 2 :]
        end = rest.find("}}")
        if end < 0:
            raise FastTemplateError(
                f"invalid template: cannot find end tag='}}}}' in the template={text!r} "
                f"starting from {rest!r}"
            )
        tag, rest = rest[:end], rest[end + 2 :]
        key = tag.strip()
        value = params.get(key) if key else None
        out.append(value if isinstance(value, str) else "{{" + tag + "}}")
    return "".join(out)


def render_tree(node: Any, params: Mapping[str, Any]) -> Any:
    """A copy of a JSON-shaped tree with every string (and map key) templated."""
    if isinstance(node, str):
        return replace(node, params)
    if isinstance(node, list):
        return [render_tree(item, params) for item in node]
    if isinstance(node, dict):
        return {
            replace(k, params): render_tree(v, params) for k, v in node.items() if v is not None
        }
    return node
