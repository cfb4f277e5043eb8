"""The composition root: every part of gitward is built here, once, from settings.

Layer 7, below the CLI and the API server, above everything else. The CLI, the
controller process and the API server get their clients, caches, repository
service, refreshers and controllers from here, so no part is wired to another by
assigning attributes after construction.
"""

from gitward.services.controller import (
    appset_controller,
    build_controller,
    image_updater,
    notifier,
    recorder,
)
from gitward.services.engine import (
    LocalManifests,
    Services,
    refresher_for,
    repo_credentials,
    tls_certs,
)
from gitward.services.tools import gotemplates, render_tools

__all__ = [
    "LocalManifests",
    "Services",
    "appset_controller",
    "build_controller",
    "gotemplates",
    "image_updater",
    "notifier",
    "recorder",
    "refresher_for",
    "render_tools",
    "repo_credentials",
    "tls_certs",
]
