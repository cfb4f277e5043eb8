"""Compare one desired object with its live counterpart.

The comparison is structural and one-sided where the server adds things:
every field Git declares must be in the live object with an equal value, but
fields only the live object has — defaults the API server filled in, fields
other controllers manage — are not differences. That keeps a freshly applied
Deployment, Service, StatefulSet or HPA "Synced" without a server round trip.

The other direction is covered by server-side apply's own bookkeeping: a
field that gitward's field manager owns in the live object but Git no longer
declares is a difference (applying would remove it). For objects applied
client-side, the last-applied-configuration annotation plays that part.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from gitward._util.jsoncopy import json_copy
from gitward.diff.fieldset import Path, format_path, has_path, owned_by
from gitward.diff.ignore import IgnoreRule, apply_rules
from gitward.diff.normalize import (
    LAST_APPLIED,
    normalize_desired,
    normalize_live,
    scalars_equal,
)

Obj = dict[str, Any]

#: Under these keys scalar values are resource quantities ("500m" == "0.5").
_QUANTITY_PARENTS = frozenset(
    {
        "requests",
        "limits",
        "capacity",
        "hard",
        "overhead",
        "default",
        "defaultRequest",
        "max",
        "min",
    }
)

#: Owned fields that never count as removals: bookkeeping, not desired state.
_IGNORED_OWNED_ROOTS = frozenset({"status"})


@dataclass(frozen=True)
class ResourceDiff:
    """The outcome for one resource: modified or not, where, and what to show."""

    modified: bool
    paths: tuple[str, ...] = ()
    live: Obj | None = None
    target: Obj | None = None
    removed: tuple[str, ...] = field(default_factory=tuple)


def _differences(desired: Any, live: Any, path: str, name: str, out: list[str]) -> None:
    """Append to ``out`` every path where ``desired`` is not matched by ``live``.

    ``name`` is the key ``desired`` sits under; scalars directly inside a map
    named like ``requests`` or ``limits`` compare as quantities.
    """
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            out.append(path or ".")
            return
        for key, value in desired.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in live:
                if value in (None, {}, []):
                    continue  # an empty value the server drops is not a difference
                out.append(sub)
            elif isinstance(value, dict | list):
                _differences(value, live[key], sub, str(key), out)
            elif value is not None and not scalars_equal(
                value, live[key], quantities=name in _QUANTITY_PARENTS
            ):
                out.append(sub)
        return
    if isinstance(desired, list):
        if not isinstance(live, list) or len(desired) != len(live):
            out.append(path)
            return
        for i, (d, lv) in enumerate(zip(desired, live, strict=True)):
            label = d.get("name") if isinstance(d, dict) and "name" in d else i
            if isinstance(d, dict | list):
                _differences(d, lv, f"{path}[{label}]", name, out)
            elif not scalars_equal(d, lv):
                out.append(f"{path}[{label}]")
        return
    if desired is not None and not scalars_equal(desired, live):
        out.append(path)


def _merge(live: Any, desired: Any) -> Any:
    """What live would look like with every desired field set (for display)."""
    if isinstance(desired, dict) and isinstance(live, dict):
        merged = dict(live)
        for key, value in desired.items():
            merged[key] = _merge(live.get(key), value) if key in live else json_copy(value)
        return merged
    if isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        return [_merge(lv, d) for lv, d in zip(live, desired, strict=True)]
    return json_copy(desired)


def _dict_leaves(node: Any, prefix: Path) -> list[Path]:
    if not isinstance(node, dict) or not node:
        return [prefix]  # a scalar, a list or an empty map: a leaf as a whole
    out: list[Path] = []
    for key, value in node.items():
        out.extend(_dict_leaves(value, (*prefix, ("f", key))))
    return out


def _last_applied_paths(live: Obj) -> list[Path]:
    """What the last client-side apply set (``kubectl.kubernetes.io/last-applied-...``).

    Without server-side apply's field ownership (``ServerSideApply=false``), this
    annotation is how kubectl and gitward know which fields they set: one that is
    still live but no longer in Git is a removal, as in kubectl's three-way merge.
    Lists are leaves as a whole (their changes show in the structural diff).
    """
    meta = live.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    raw = annotations.get(LAST_APPLIED) if isinstance(annotations, dict) else None
    if not raw:
        return []
    try:
        last = json.loads(raw)
    except (TypeError, ValueError, RecursionError):
        return []  # anyone who may edit the live object may write this annotation
    if not isinstance(last, dict):
        return []
    paths: list[Path] = []
    try:
        for key in ("spec", "data", "stringData", "binaryData", "rules", "subjects", "roleRef"):
            if key in last:
                paths.extend(_dict_leaves(last[key], (("f", key),)))
    except RecursionError:
        return []
    meta = last.get("metadata")
    for key in ("labels", "annotations"):
        names = meta.get(key) if isinstance(meta, dict) else None
        for name in names if isinstance(names, dict) else {}:
            if name != LAST_APPLIED:
                paths.append((("f", "metadata"), ("f", key), ("f", name)))
    return paths


async def compare(
    desired: Obj,
    live: Obj | None,
    rules: list[IgnoreRule] | None = None,
    manager: str = "gitward",
) -> ResourceDiff:
    """Compare ``desired`` (rendered, with tracking metadata) with ``live`` (or None).

    A coroutine only because ``jqPathExpressions`` rules are evaluated in a jq
    worker process; without them nothing here awaits.
    """
    rules = rules or []
    want = await apply_rules(rules, normalize_desired(desired), live)
    if live is None:
        return ResourceDiff(modified=True, paths=("(missing)",), target=want)
    have = await apply_rules(rules, normalize_live(live), live)
    found: list[str] = []
    _differences(want, have, "", "", found)
    removed = []
    owned = owned_by(live, manager, "Apply") or _last_applied_paths(live)
    for path in owned:
        if path and path[0][0] == "f" and path[0][1] in _IGNORED_OWNED_ROOTS:
            continue
        if has_path(have, path) and not has_path(want, path, lenient=True):
            removed.append(format_path(path))
    target = _merge(have, want)
    return ResourceDiff(
        modified=bool(found or removed),
        paths=tuple(found),
        live=have,
        target=target,
        removed=tuple(removed),
    )


async def compare_exact(predicted: Obj, live: Obj, rules: list[IgnoreRule] | None = None) -> bool:
    """True when a server-side dry-run result equals the live object (after normalising).

    Used to confirm a structural difference: if applying would leave the object
    as it is, the difference was one of spelling (a quantity, a default), not of
    state.
    """
    rules = rules or []
    a = await apply_rules(rules, normalize_live(predicted), live)
    b = await apply_rules(rules, normalize_live(live), live)
    return bool(a == b)


def to_yaml(obj: Obj | None) -> str:
    return "" if obj is None else yaml.safe_dump(obj, sort_keys=True, default_flow_style=False)
