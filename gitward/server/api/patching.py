"""A PATCH body's ``patch`` applied to an Application in memory: JSON merge or JSON patch.

The result is then read like any update body (only spec and metadata survive,
and it is validated), so a patch can do no more than a PUT could. JSON Patch
is python-json-patch's (RFC 6902); a merge patch is RFC 7386's few lines.
"""

from __future__ import annotations

import json
from typing import Any

import jsonpatch
import jsonpointer

from gitward._util.jsoncopy import json_copy
from gitward.server.errors import InvalidArgument

MAX_OPS = 1000


def merge(target: Any, patch: Any) -> Any:
    """RFC 7386: ``patch`` merged into ``target`` (null removes a key); ``target`` is kept."""
    if not isinstance(patch, dict):
        return json_copy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


def apply(obj: dict[str, Any], patch: Any, patch_type: Any) -> Any:
    """``obj`` with ``patch`` (a JSON text) applied as ``patch_type`` (merge or json)."""
    if not isinstance(patch, str):
        raise InvalidArgument("patch: expected the patch as a JSON string")
    kind = patch_type if patch_type not in (None, "") else "json"
    if kind not in ("merge", "json"):
        raise InvalidArgument("patchType: expected merge or json")
    try:
        document = json.loads(patch)
    except ValueError as exc:
        raise InvalidArgument(f"patch: not valid JSON ({str(exc)[:80]})") from None
    if kind == "merge":
        if not isinstance(document, dict):
            raise InvalidArgument("patch: a merge patch is a JSON object")
        return merge(obj, document)
    if not isinstance(document, list) or len(document) > MAX_OPS:
        raise InvalidArgument(f"patch: a JSON patch is a list of at most {MAX_OPS} operations")
    try:
        return jsonpatch.JsonPatch(document).apply(json_copy(obj))
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise InvalidArgument(f"patch: {str(exc)[:200]}") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise InvalidArgument(f"patch: cannot be applied ({type(exc).__name__})") from None
