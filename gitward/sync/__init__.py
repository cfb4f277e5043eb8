"""Compare Applications with the cluster, write their status, and (next) sync them.

Layer 4: uses reposerver, diff, health and cluster. Results are data
(:class:`Comparison`, :class:`ResourceState`); printing is the CLI's job.
"""

from gitward.sync.compare import Comparison, ManifestSource, ResourceState, compare_app
from gitward.sync.refresh import Refresher, parse_app_object
from gitward.sync.settings import Settings, load_settings, parse_settings
from gitward.sync.status import status_fields, write_status

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
