"""Client-side apply (``ServerSideApply=false``), as ``kubectl apply`` does it.

gitward applies server-side by default. Some users need the older model: the
previous configuration is kept in the ``kubectl.kubernetes.io/last-applied-
configuration`` annotation, and a three-way patch sets what the new
configuration says and removes what the previous one had but the new one
dropped — leaving fields others set alone. gitward sends it as a JSON merge
patch (lists are replaced whole, as kubectl does for custom resources); the
server re-applies its defaults, so an unchanged object stays unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from gitward.cluster import FIELD_MANAGER, KubeClient
from gitward.diff.normalize import LAST_APPLIED

Obj = dict[str, Any]


def three_way_patch(last: Any, new: Any, live: Any) -> Any:
    """A merge patch from ``live`` to ``new``, dropping what ``last`` had and ``new`` lacks."""
    if not isinstance(new, dict):
        return new
    patch: Obj = {}
    live_map = live if isinstance(live, dict) else {}
    last_map = last if isinstance(last, dict) else {}
    for key, value in new.items():
        current = live_map.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            sub = three_way_patch(last_map.get(key), value, current)
            if sub:
                patch[key] = sub
        elif value != current:
            patch[key] = value
    for key in last_map:
        if key not in new and key in live_map:
            patch[key] = None
    return patch


def with_last_applied(obj: Obj) -> Obj:
    """``obj`` carrying its own configuration in the last-applied annotation."""
    meta = dict(obj.get("metadata") or {})
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    recorded_meta = dict(meta)
    if annotations:
        recorded_meta["annotations"] = annotations
    else:
        recorded_meta.pop("annotations", None)
    recorded = json.dumps({**obj, "metadata": recorded_meta}, sort_keys=True, separators=(",", ":"))
    return {**obj, "metadata": {**meta, "annotations": {**annotations, LAST_APPLIED: recorded}}}


async def client_side_apply(
    client: KubeClient,
    obj: Obj,
    live: Obj | None,
    *,
    dry_run: bool = False,
    field_validation: str | None = None,
) -> Obj:
    """Create ``obj``, or patch ``live`` three-way towards it; return the server's result."""
    new = with_last_applied(obj)
    if live is None:
        if dry_run:
            return await client.apply(new, dry_run=True, force=True)
        return await client.create(new, field_validation=field_validation)
    raw = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    try:
        last = json.loads(raw) if raw else {}
    except (ValueError, RecursionError):  # anyone who may edit the live object writes this
        last = {}
    patch = three_way_patch(last, new, live)
    if not patch:
        return live
    meta = obj["metadata"]
    params = {"fieldManager": FIELD_MANAGER}
    if dry_run:
        params["dryRun"] = "All"
    if field_validation:
        params["fieldValidation"] = field_validation
    info = await client.resource_of(obj)
    return await client.request(
        "PATCH",
        info.item(meta["name"], meta.get("namespace")),
        params=params,
        body=patch,
        content_type="application/merge-patch+json",
        what=f"apply (client-side) {obj.get('kind')} {meta.get('namespace') or ''}/{meta['name']}",
    )
