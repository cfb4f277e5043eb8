"""The watch-fed caches of every destination cluster a controller deploys to.

Made once per process by the composition root and shared by the refresher (its
destinations read live objects from here) and the controller (metrics, and the
queue these caches wake when a tracked object changes).
"""

from __future__ import annotations

from collections.abc import Callable

from gitward.cluster import KubeClient
from gitward.cluster.watchcache import ClusterCache
from gitward.model.tracking import TrackingMethod


class LiveCaches:
    def __init__(self, tracking: TrackingMethod, on_owner: Callable[[str], None]) -> None:
        self.tracking = tracking
        #: Called with an app's name when one of its live objects changes (drift wakes it).
        self.on_owner = on_owner
        #: One cache per destination cluster, by API server URL.
        self.by_server: dict[str, ClusterCache] = {}

    def for_client(self, client: KubeClient) -> ClusterCache:
        """A new cache of ``client``'s cluster (its watches start lazily).

        Called once per destination target; a cluster whose Secret changed gets a new
        client, and so a new cache, replacing the old one under its server URL.
        """
        cache = ClusterCache(client, self.tracking, self.on_owner)
        self.by_server[client.server] = cache
        return cache
