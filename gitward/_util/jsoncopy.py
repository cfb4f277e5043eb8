"""A deep copy for JSON-shaped data (dicts, lists, scalars): what objects are here.

``copy.deepcopy`` handles any Python object, keeps a memo of everything it has
seen and dispatches per type; Kubernetes objects are trees of dicts, lists and
immutable scalars, which a plain recursion copies several times faster. The
comparison copies every live object on every refresh, so this is a hot path.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def json_copy(value: T) -> T:
    """A deep copy of ``value``, a tree of dicts and lists with immutable leaves."""
    return _copy(value)  # type: ignore[no-any-return]


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
