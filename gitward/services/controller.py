"""The controller process's parts: the Application controller and the delivery loops
beside it, all sharing one watch of Applications, one of AppProjects, the git mirrors
and the credentials of one :class:`~gitward.services.engine.Services`.

- the ApplicationSet controller (:class:`gitward.appset.AppSetController`);
- the notifier (:class:`gitward.notify.Notifier`): Argo CD Notifications' triggers, once
  per state change;
- the delivery recorder (:class:`gitward.dora.Recorder`): deployments, lead times,
  failures and restores into the DORA records ``gitward stats`` reads;
- image update automation (:class:`gitward.images.ImageUpdater`): Argo CD Image
  Updater's annotations, registries polled, new images written back to Git.

Each loop acts only for the apps of the shards this replica owns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gitward._util.quiet import QuietGate
from gitward.appset import AppSetController
from gitward.appstate.destinations import Destinations
from gitward.appstate.events import EventWriter
from gitward.appstate.lock import holder_id
from gitward.appstate.projects import Projects
from gitward.cluster.informer import Informer
from gitward.controller import Controller, WorkQueue
from gitward.controller.caches import LiveCaches
from gitward.controller.controller import HEALTH_MESSAGES_EVERY, UNCHANGED_STATUS_SECONDS
from gitward.controller.sharding import NoSharding, Sharding
from gitward.dora import GitCommits, Recorder
from gitward.images import ImageUpdater
from gitward.model.kinds import API_VERSION
from gitward.notify import Notifier
from gitward.services.engine import Services
from gitward.services.tools import gotemplates

Obj = dict[str, Any]

#: Seconds a delivery record's change waits before it is written: a sync and the Healthy
#: that follows within them cost one ConfigMap write instead of two.
RECORD_WRITE_DELAY = 5.0


def build_controller(
    services: Services,
    *,
    workers: int = 4,
    replica: str = "",
    sharding: Sharding | None = None,
    application_namespaces: tuple[str, ...] = (),
    sync_timeout: float = 0.0,
) -> Controller:
    """The Application controller over ``services``: its queue, the live caches of every
    destination (they wake the queue on drift), the AppProject informer its refreshes
    read, a refresher that names this replica in the operations it runs, and the one
    quiet gate its Events and the delivery recorder's writes wait at.
    ``sync_timeout`` (seconds; 0: never) terminates an operation that runs longer.
    """
    queue = WorkQueue()
    # One gate: Events and delivery records (recorder()) wait while syncs and the
    # rollouts they started do.
    quiet = QuietGate(queue.busy)
    events = EventWriter(services.client, quiet)
    tracking = services.settings.tracking
    caches = LiveCaches(tracking, queue.add)
    projects = Informer(services.client, API_VERSION, "AppProject", services.namespace)
    refresher = services.refresher(
        destinations=Destinations(services.client, tracking, live_for=caches.for_client),
        projects=Projects.from_informer(projects),
        holder=holder_id("controller", replica),
        unchanged_status_for=UNCHANGED_STATUS_SECONDS,
        messages_every=HEALTH_MESSAGES_EVERY,
    )
    return Controller(
        services.client,
        refresher,
        services.namespace,
        queue=queue,
        caches=caches,
        projects=projects,
        workers=workers,
        sharding=sharding or NoSharding(),
        application_namespaces=application_namespaces,
        forget_revisions=services.forget_revisions,
        git_stats=services.git_stats,
        sync_timeout=sync_timeout,
        events=events,
        quiet=quiet,
    )


def appset_controller(
    services: Services, ctl: Controller, sharding: Sharding, shards: int
) -> AppSetController:
    """The ApplicationSet controller, sharing the Application controller's watches and git.

    With shards, only the replica owning shard 0 writes Applications from sets, so two
    replicas never race on one set; gaining that shard queues every set at once.
    """
    found = AppSetController(
        services.client,
        services.namespace,
        ctl,
        git=services.git,
        credentials=lambda: services.credentials,
        go=gotemplates(),
        active=lambda: shards == 0 or 0 in sharding.owned,
        projects=ctl.projects,
    )

    def changed(owned: set[int]) -> None:
        if shards and 0 in owned:
            for name in found.appsets.objects:
                found.queue.add(name)

    sharding.subscribe(changed)
    return found


def _on_shards_gained(sharding: Sharding, ctl: Controller, look: Callable[[Obj], None]) -> None:
    """After a shard change, look at every app this replica now owns (nothing else would
    wake a loop for an app whose state did not change)."""

    def changed(_owned: set[int]) -> None:
        for obj in list(ctl.applications().values()):
            if sharding.owns(obj):
                look(obj)

    sharding.subscribe(changed)


def notifier(services: Services, ctl: Controller, sharding: Sharding) -> Notifier:
    """A notifier fed by ``ctl``'s watch; idle while ``argocd-notifications-cm`` is absent."""
    found = Notifier(services.client, services.namespace, gotemplates())
    found.attach(ctl, active=sharding.owns)
    _on_shards_gained(sharding, ctl, found.observe)
    return found


def recorder(services: Services, ctl: Controller, sharding: Sharding) -> Recorder:
    """A delivery recorder fed by ``ctl``'s watch, reading commit times from its mirrors;
    its writes wait behind the controller's work at the gate :func:`build_controller` made."""
    git = services.git
    commits = GitCommits(git, lambda: services.credentials) if git is not None else None
    found = Recorder(
        services.client,
        services.namespace,
        commits,
        write_delay=RECORD_WRITE_DELAY,
        gate=ctl.quiet,
    )
    found.attach(ctl, active=sharding.owns)
    _on_shards_gained(sharding, ctl, found.look)
    return found


def image_updater(
    services: Services, ctl: Controller, sharding: Sharding, interval: float
) -> ImageUpdater:
    """Image automation for the apps ``ctl`` watches; a push it makes refreshes the app at
    once (its ref listing is dropped, as a webhook would)."""

    def refresh(name: str) -> None:
        ctl.forget_revisions()
        ctl.refresh_now(name)

    found = ImageUpdater(
        services.client,
        services.namespace,
        git=services.git,
        credentials=lambda: services.credentials,
        refresh=refresh,
        interval=interval,
    )
    found.attach(ctl, active=sharding.owns)
    _on_shards_gained(sharding, ctl, found.look)
    return found
