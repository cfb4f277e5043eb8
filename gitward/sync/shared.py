"""``FailOnSharedResource=true``: refuse a sync that would take a resource from another app.

Two Applications that render the same object fight over it: each sync rewrites
its tracking metadata, and a prune by one deletes what the other declares.
Argo CD lets an app opt into refusing that: with ``FailOnSharedResource=true``
the whole sync fails before anything is applied, naming every resource whose
live object another app already tracks ("Shared resource found: ConfigMap/web
is part of applications web and shop").

Which app tracks a live object is read the way the object's own tracking was
written by the comparison (annotation or label), so an instance label a Helm
chart sets for its own reasons does not count under annotation tracking.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gitward.model.errors import ConfigError
from gitward.model.tracking import TRACKING_ANNOTATION, TrackingMethod, owner_app

Obj = dict[str, Any]

OPTION = "FailOnSharedResource"


class SharedResourceFound(ConfigError):
    """The sync would apply objects another Application already tracks."""


def _method_of(desired: Obj) -> TrackingMethod:
    """The tracking method ``desired`` was stamped with (its annotation, else its label)."""
    annotations = (desired.get("metadata") or {}).get("annotations") or {}
    if TRACKING_ANNOTATION in annotations:
        return TrackingMethod.ANNOTATION
    return TrackingMethod.LABEL


def other_owner(desired: Obj, live: Obj | None) -> str | None:
    """The other app that tracks ``live``, or None (no live object, untracked, or ours)."""
    if live is None:
        return None
    method = _method_of(desired)
    ours = owner_app(desired, method)
    theirs = owner_app(live, method)
    if theirs is None or theirs == ours:
        return None
    # Whoever can write the live object wrote this name: bound it before it reaches a message.
    return theirs if len(theirs) <= 253 else theirs[:250] + "..."


def enabled(app_options: dict[str, str]) -> bool:
    """Whether the app-level options (spec and request) ask for the check."""
    return app_options.get(OPTION, "").strip().lower() == "true"


def check(app_name: str, pairs: Iterable[tuple[Obj, Obj | None]]) -> None:
    """Raise :class:`SharedResourceFound` naming each (desired, live) pair another app owns."""
    found = []
    for desired, live in pairs:
        other = other_owner(desired, live)
        if other is not None:
            name = (desired.get("metadata") or {}).get("name")
            found.append(f"{desired.get('kind')}/{name} is part of applications {app_name} and "
                         f"{other}")  # fmt: skip
    if found:
        raise SharedResourceFound("Shared resource found: " + "; ".join(sorted(found)))
