"""One string object per distinct key across the objects a process keeps for long.

``json.loads`` shares a repeated key within one document only: 50,000 cached live
objects and 10,000 Applications each carry their own ``"metadata"``, ``"name"``,
``"f:data"`` (the managedFields' keys are as many as the object's own). Rebuilt with
shared keys, a small ConfigMap with server-side-apply managedFields measured 5,080 ->
3,455 bytes (32 % less) for 44 us of CPU per object (``docs/controller.md``, Memory).
Only what is kept goes through here: the watch caches' tracked objects and the
controller's Applications.
"""

from __future__ import annotations

from typing import Any

#: Every key seen, by itself. Keys are few (field names, label and annotation names,
#: data keys); a key that is a generated name stays one string among many.
_KEYS: dict[str, str] = {}
#: Beyond this many keys no new one is remembered (a bound for hostile input).
LIMIT = 200_000


def _key(key: str) -> str:
    found = _KEYS.get(key)
    if found is not None:
        return found
    if len(_KEYS) < LIMIT:
        _KEYS[key] = key
    return key


def share_keys(obj: Any) -> Any:
    """``obj`` rebuilt with every dict key replaced by its shared copy (values as they are).

    Iterative, so an object nested as deep as the API server allows (10,000 levels)
    cannot exhaust Python's recursion limit.
    """
    if not isinstance(obj, dict | list):
        return obj
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(obj, root, 0)]
    while stack:
        value, parent, slot = stack.pop()
        if isinstance(value, dict):
            copy: dict[str, Any] = {}
            parent[slot] = copy
            for key, item in value.items():
                shared = _key(key) if isinstance(key, str) else key
                if isinstance(item, dict | list):
                    copy[shared] = None
                    stack.append((item, copy, shared))
                else:
                    copy[shared] = item
        elif isinstance(value, list):
            items: list[Any] = list(value)
            parent[slot] = items
            for index, item in enumerate(items):
                if isinstance(item, dict | list):
                    stack.append((item, items, index))
        else:
            parent[slot] = value
    return root[0]
