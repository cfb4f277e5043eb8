"""Server-side apply field sets (``managedFields[].fieldsV1``) as paths over plain dicts.

The API server records, per field manager, which fields it owns, in a compact
trie: ``f:name`` is a map key, ``k:{"name":"web"}`` a list item identified by
its key fields, ``v:<json>`` a set member, ``i:<n>`` a list index and ``.`` the
node itself. gitward reads these to answer two questions without a round trip:
does the live object still carry a field gitward applied that Git no longer
declares (a removal), and which fields belong to managers whose changes the
user asked to ignore (``managedFieldsManagers``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

#: One step of a path: ("f", key) | ("k", {key fields}) | ("v", value) | ("i", index)
Step = tuple[str, Any]
Path = tuple[Step, ...]


def _step(key: Any) -> Step | None:
    """One trie key as a step; None for a key the API server never writes."""
    if not isinstance(key, str):
        return None
    kind, sep, rest = key.partition(":")
    if not sep:
        return None
    if kind == "f":
        return (kind, rest)
    if kind == "i":
        if rest.isascii() and rest.isdigit() and len(rest) <= 18:
            return (kind, int(rest))
        return None
    if kind in ("k", "v"):
        try:
            value = json.loads(rest)
        except (ValueError, RecursionError):
            return None
        if kind == "k" and not isinstance(value, dict):
            return None
        return (kind, value)
    return None


def leaf_paths(fields: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every owned path that ends in a leaf (a scalar, or a whole owned node).

    ``fieldsV1`` comes from the live object; a key that is not the API server's
    syntax (``k:{bad``, ``i:x``) is skipped rather than trusted, and the walk is
    iterative so that a deep object cannot exhaust the stack.
    """
    stack: list[tuple[Any, Path]] = [(fields, prefix)]
    while stack:
        node, path = stack.pop()
        children: list[tuple[Any, Path]] = []
        if isinstance(node, dict):
            for key, child in node.items():
                step = _step(key) if key != "." else None
                if step is not None:
                    children.append((child or {}, (*path, step)))
        if not children:
            yield path
            continue
        stack.extend(reversed(children))


def _item_matches(item: Any, key_fields: dict[str, Any], lenient: bool = False) -> bool:
    """``item`` has ``key_fields``; with ``lenient``, absent key fields also match.

    The server defaults some list-map keys (a port's ``protocol: TCP``), so the
    live key names a field the manifest never wrote; looking the item up in a
    manifest must tolerate that.
    """
    if not isinstance(item, dict):
        return False
    return all(item.get(k) == v or (lenient and k not in item) for k, v in key_fields.items())


def _child(node: Any, step: Step, lenient: bool = False) -> tuple[bool, Any]:
    kind, value = step
    if kind == "f":
        if isinstance(node, dict) and value in node:
            return True, node[value]
        return False, None
    if kind == "k":
        if isinstance(node, list):
            for item in node:
                if _item_matches(item, value):
                    return True, item
            if lenient:
                for item in node:
                    if _item_matches(item, value, lenient=True):
                        return True, item
        return False, None
    if kind == "v":
        return (isinstance(node, list) and value in node), value
    if kind == "i":
        if isinstance(node, list) and 0 <= value < len(node):
            return True, node[value]
        return False, None
    return False, None


def has_path(obj: Any, path: Path, lenient: bool = False) -> bool:
    """True when ``obj`` contains ``path`` (``lenient``: list keys may lack defaulted fields)."""
    node = obj
    for step in path:
        found, node = _child(node, step, lenient)
        if not found:
            return False
    return True


def remove_path(obj: Any, path: Path) -> None:
    """Delete ``path`` from ``obj`` in place, if it is there."""
    if not path:
        return
    node = obj
    for step in path[:-1]:
        found, node = _child(node, step)
        if not found:
            return
    kind, value = path[-1]
    if kind == "f" and isinstance(node, dict):
        node.pop(value, None)
    elif kind == "k" and isinstance(node, list):
        node[:] = [item for item in node if not _item_matches(item, value)]
    elif kind == "v" and isinstance(node, list):
        node[:] = [item for item in node if item != value]
    elif kind == "i" and isinstance(node, list) and 0 <= value < len(node):
        del node[value]


def format_path(path: Path) -> str:
    """A readable dotted path, e.g. ``spec.template.spec.containers[name=web].image``."""
    parts: list[str] = []
    for kind, value in path:
        if kind == "f":
            parts.append(f".{value}" if parts else str(value))
        elif kind == "k":
            parts.append("[" + ",".join(f"{k}={v}" for k, v in value.items()) + "]")
        elif kind == "v":
            parts.append(f"[{json.dumps(value)}]")
        else:
            parts.append(f"[{value}]")
    return "".join(parts)


def owned_by(live: dict[str, Any], manager: str, operation: str | None = None) -> list[Path]:
    """Leaf paths owned by ``manager`` (optionally only its ``Apply`` or ``Update`` entry)."""
    paths: list[Path] = []
    meta = live.get("metadata")
    entries = meta.get("managedFields") if isinstance(meta, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("manager") != manager:
            continue
        if operation and entry.get("operation") != operation:
            continue
        if entry.get("subresource"):  # status is never part of the desired state
            continue
        paths.extend(leaf_paths(entry.get("fieldsV1") or {}))
    return paths
