"""The layout of what gitward stores in an Application's status, and its migrations.

The API itself is Argo CD's: ``argoproj.io/v1alpha1`` stays the one served and stored
version of the CRDs, because Argo CD's CLI, UI and every manifest users keep in Git
speak it, and a second version would need a conversion webhook in the request path of
every read. What can change between gitward releases is *where gitward keeps things
inside* ``status`` — ``operationState`` (the resumable sync), ``history`` (rollback),
``sync`` and the rest. So the status names its own layout in ``status.gitwardLayout``
(an integer), written with every status write; a status without it was written by a
release before layouts were numbered (layout 1, the same fields in the same places as
layout 2).

When a release moves a field it raises :data:`LAYOUT` and adds a step to
:data:`STEPS` that rewrites a status of the layout before into the new one. The first
status write of the new release to an app (a refresh or a sync step) runs every step
from the stored layout up and writes the moved fields with it, so an upgraded
controller reads history and a running operation where it now expects them, and never
needs to know the old places again. A status from a *newer* release is left in its
layout (a downgrade never rewrites what it does not understand).

Pure: no I/O; :mod:`gitward.appstate.status` calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gitward.model.errors import ConfigError

Obj = dict[str, Any]
Step = Callable[[Obj], Obj]

LAYOUT_FIELD = "gitwardLayout"
#: The layout this release writes.
LAYOUT = 2
#: The layout of a status that does not name one (releases before layouts were numbered).
UNNUMBERED = 1
#: A layout number beyond any release: a larger one is a corrupt or hostile status.
MAX_LAYOUT = 1_000


class LayoutError(ConfigError):
    """``status.gitwardLayout`` holds something no release writes."""


def _from_1(status: Obj) -> Obj:
    """Layout 1 to 2: nothing moved; layout 2 only names itself."""
    return status


#: ``STEPS[n]`` turns a status of layout ``n`` into layout ``n + 1``.
STEPS: Mapping[int, Step] = {1: _from_1}


def stored_layout(status: object) -> int:
    """The layout ``status`` was written in; :class:`LayoutError` naming the field if unreadable."""
    if not isinstance(status, dict) or LAYOUT_FIELD not in status:
        return UNNUMBERED
    value = status[LAYOUT_FIELD]
    if isinstance(value, bool) or not isinstance(value, int):
        raise LayoutError(f"status.{LAYOUT_FIELD}: expected an integer, got {type(value).__name__}")
    if not UNNUMBERED <= value <= MAX_LAYOUT:
        raise LayoutError(f"status.{LAYOUT_FIELD}: {value} is not a layout (1..{MAX_LAYOUT})")
    return value


def layout_to_write(status: object, current: int = LAYOUT) -> int:
    """What a status write stamps: this release's layout, or a newer one already stored."""
    try:
        return max(stored_layout(status), current)
    except LayoutError:
        return current  # unreadable: this release's write makes it readable again


def upgrade(status: object, current: int = LAYOUT, steps: Mapping[int, Step] = STEPS) -> Obj | None:
    """The status fields that differ once ``status`` is migrated to ``current``.

    None when nothing is to migrate (already ``current`` or newer, or no status). An
    unreadable layout is treated as unnumbered: its fields are where layout 1 keeps them
    or the steps leave them alone. Each step receives a copy and returns the new status.
    """
    if not isinstance(status, dict) or not status:
        return None
    try:
        layout = stored_layout(status)
    except LayoutError:
        layout = UNNUMBERED
    if layout >= current:
        return None
    migrated: Obj = dict(status)
    for n in range(layout, current):
        step = steps.get(n)
        if step is None:
            raise LayoutError(f"status.{LAYOUT_FIELD}: no migration from layout {n} to {n + 1}")
        migrated = step(dict(migrated))
    changed: Obj = {k: v for k, v in migrated.items() if status.get(k) != v}
    for gone in status.keys() - migrated.keys():
        changed[gone] = None  # removed by a step: the JSON patch removes it
    changed[LAYOUT_FIELD] = current
    return changed
