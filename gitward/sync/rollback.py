"""Argo CD's rollback rules: which history entry, and the sync request that deploys it.

A rollback deploys the revision(s) a ``status.history`` entry records — the
previous one when no ID is given — and, before it syncs, turns automated sync off
(:func:`gitward.appstate.app_writes.disable_automated`) so the controller does not
sync the target revision straight back. Pure: the entry and request are data.
"""

from __future__ import annotations

from typing import Any

from gitward.appstate import history
from gitward.model.errors import ConfigError
from gitward.sync.plan import SyncRequest

Obj = dict[str, Any]


def rollback_entry(app_obj: Obj, history_id: int | None, name: str = "") -> Obj:
    """The history entry to roll back to: ``history_id``, or the one before the newest.

    ``name``: how errors call the app (default: its metadata name).
    """
    name = name or str((app_obj.get("metadata") or {}).get("name"))
    entries = list((app_obj.get("status") or {}).get("history") or [])
    if not entries:
        raise ConfigError(f"application {name!r} has no history to roll back to")
    if history_id is None:
        if len(entries) < 2:
            raise ConfigError(f"application {name!r} has only one history entry")
        return dict(entries[-2])
    found = history.find(entries, history_id)
    if found is None:
        ids = ", ".join(str(e.get("id")) for e in entries)
        raise ConfigError(f"application {name!r} has no history ID {history_id} (IDs: {ids})")
    return dict(found)


def rollback_request(entry: Obj, *, prune: bool) -> SyncRequest:
    """A sync of exactly what ``entry`` deployed (one revision per source when it had many)."""
    if entry.get("revisions"):
        return SyncRequest(revisions=tuple(str(r) for r in entry["revisions"]), prune=prune)
    return SyncRequest(revision=str(entry["revision"]), prune=prune)
