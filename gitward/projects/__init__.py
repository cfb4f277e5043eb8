"""AppProject rules as pure functions: may this source, destination, kind, namespace be used;
do the sync windows allow a sync now.

Layer: beside ``reposerver``/``diff``/``health``; no I/O. The state layer asks these
questions at compare time and the sync engine at apply, prune, hook and cascade time,
so nothing outside a project's fence is ever touched.
"""

from gitward.projects.rules import (
    Violation,
    destination_permitted,
    kind_permitted,
    resource_violation,
    source_namespace_permitted,
    source_permitted,
)
from gitward.projects.windows import SyncVerdict, WindowState, can_sync, window_states

__all__ = [
    "SyncVerdict",
    "Violation",
    "WindowState",
    "can_sync",
    "destination_permitted",
    "kind_permitted",
    "resource_violation",
    "source_namespace_permitted",
    "source_permitted",
    "window_states",
]
