"""An Application's state: refresh and compare it, and keep its status.

Layer 4: uses reposerver, diff, health and cluster; knows nothing of how a sync runs
(that is :mod:`gitward.sync`, above). It owns the refresh (fenced by the app's project),
the comparison, the status and its layout, settings, destinations, events, the
operation lock, history, orphaned resources, and reading and writing Applications,
AppProjects, repositories and clusters. Results are data (:class:`Comparison`,
:class:`ResourceState`); printing is the CLI's job.
"""

from gitward.appstate.comparison import Comparison, ManifestSource, ResourceState, compare_app
from gitward.appstate.refresh import Refresher, parse_app_object
from gitward.appstate.settings import Settings, load_settings, parse_settings
from gitward.appstate.status import status_fields, write_status

__all__ = [
    "Comparison",
    "ManifestSource",
    "Refresher",
    "ResourceState",
    "Settings",
    "compare_app",
    "load_settings",
    "parse_app_object",
    "parse_settings",
    "status_fields",
    "write_status",
]
