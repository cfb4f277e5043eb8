"""The delivery loops ``gitward controller`` runs beside the Application controller.

Each shares the controller's watch of Applications (``Controller.subscribe``), its git
mirrors and its credentials, and acts only for the apps of the shards this replica owns:

- the notifier (:class:`gitward.notify.Notifier`): Argo CD Notifications' triggers, once
  per state change;
- the delivery recorder (:class:`gitward.dora.Recorder`): deployments, lead times,
  failures and restores into the DORA records ``gitward stats`` reads;
- image update automation (:class:`gitward.images.ImageUpdater`): Argo CD Image
  Updater's annotations, registries polled, new images written back to Git.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gitward.cli.services import Refresher, gotemplates
from gitward.cluster import KubeClient
from gitward.controller import Controller
from gitward.controller.sharding import Sharding
from gitward.dora import GitCommits, Recorder
from gitward.images import ImageUpdater
from gitward.notify import Notifier
from gitward.source import CredentialStore, GitSource

Obj = dict[str, Any]


def _on_shards_gained(sharding: Sharding, ctl: Controller, look: Callable[[Obj], None]) -> None:
    """After a shard change, look at every app this replica now owns (nothing else would
    wake a loop for an app whose state did not change)."""
    previous = sharding.on_change

    def changed(owned: set[int]) -> None:
        previous(owned)
        for obj in list(ctl.applications().values()):
            if sharding.owns(obj):
                look(obj)

    sharding.on_change = changed


def notifier(client: KubeClient, namespace: str, ctl: Controller, sharding: Sharding) -> Notifier:
    """A notifier fed by ``ctl``'s watch; idle while ``argocd-notifications-cm`` is absent."""
    found = Notifier(client, namespace, gotemplates())
    found.attach(ctl, active=sharding.owns)
    _on_shards_gained(sharding, ctl, found.observe)
    return found


def _git(refresher: Refresher) -> tuple[GitSource | None, Callable[[], CredentialStore | None]]:
    manifests = refresher.manifests
    source = getattr(manifests, "source", None)
    return (
        source if isinstance(source, GitSource) else None,
        lambda: getattr(manifests, "credentials", None),
    )


def recorder(
    client: KubeClient, namespace: str, refresher: Refresher, ctl: Controller, sharding: Sharding
) -> Recorder:
    """A delivery recorder fed by ``ctl``'s watch, reading commit times from its mirrors."""
    git, credentials = _git(refresher)
    found = Recorder(client, namespace, GitCommits(git, credentials) if git else None)
    found.attach(ctl, active=sharding.owns)
    _on_shards_gained(sharding, ctl, found.look)
    return found


def image_updater(
    client: KubeClient,
    namespace: str,
    refresher: Refresher,
    ctl: Controller,
    sharding: Sharding,
    interval: float,
) -> ImageUpdater:
    """Image automation for the apps ``ctl`` watches; a push it makes refreshes the app at
    once (its ref listing is dropped, as a webhook would)."""
    git, credentials = _git(refresher)

    def refresh(name: str) -> None:
        ctl.forget_revisions()
        ctl.refresh_now(name)

    found = ImageUpdater(
        client, namespace, git=git, credentials=credentials, refresh=refresh, interval=interval
    )
    found.attach(ctl, active=sharding.owns)
    _on_shards_gained(sharding, ctl, found.look)
    return found
