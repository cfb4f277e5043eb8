"""Wire the pieces a cluster-facing command needs: settings, credentials, manifests.

The pieces themselves are built in :mod:`gitward.sync.setup`, which the API
server shares; this module adds what only the CLI runs (the goTemplate renderer
of ApplicationSets) and keeps the names the commands import.
"""

from __future__ import annotations

from pathlib import Path

from gitward import localkube
from gitward.appset.gotemplate import GoTemplates
from gitward.cluster import KubeClient
from gitward.sync import Refresher as BaseRefresher
from gitward.sync import Settings, load_settings
from gitward.sync.setup import (
    SECRET_TYPE_LABEL,
    TLS_CERTS_CONFIGMAP,
    LocalManifests,
    LocalRendered,
    manifest_source,
    render_tools,
    repo_credentials,
    tls_certs,
)

__all__ = [
    "SECRET_TYPE_LABEL",
    "TLS_CERTS_CONFIGMAP",
    "LocalManifests",
    "LocalRendered",
    "Refresher",
    "gotemplates",
    "render_tools",
    "repo_credentials",
    "tls_certs",
]


def gotemplates() -> GoTemplates:
    """The goTemplate renderer from the local toolchain when it is built, else from PATH."""
    toolchain = localkube.find()
    return GoTemplates.find(toolchain.bin_dir if toolchain is not None else None)


class Refresher(BaseRefresher):
    """A refresher set up from the cluster's own settings and Secrets."""

    @classmethod
    async def create(
        cls, client: KubeClient, namespace: str, *, hard: bool = False, local: Path | None = None
    ) -> Refresher:
        settings: Settings = await load_settings(client, namespace)
        manifests = await manifest_source(client, namespace, settings, hard=hard, local=local)
        return cls(client, settings, manifests, control_namespace=namespace)
