"""``status.history``: what was deployed, when, from which revision — for rollback."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def append(history: list[Obj], entry: Obj, limit: int) -> list[Obj]:
    """History with ``entry`` added under the next id, trimmed to the newest ``limit``."""
    next_id = max((int(h.get("id", 0)) for h in history), default=-1) + 1
    updated = [*history, {**entry, "id": next_id}]
    return updated[-limit:] if limit > 0 else updated


def find(history: list[Obj], entry_id: int) -> Obj | None:
    for entry in history:
        if int(entry.get("id", -1)) == entry_id:
            return entry
    return None
