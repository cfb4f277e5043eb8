"""The destination rule of an Application, in one place: which cluster it names, and how.

Argo CD's rule: ``spec.destination`` names its cluster by ``server`` (the API
server URL) or by ``name`` (a registered cluster's name), never both and never
neither. ``https://kubernetes.default.svc``, named ``in-cluster``, is the cluster
the engine runs in and needs no registration. A trailing ``/`` on a server URL is
not part of its identity.

The parser of Applications, the resolver of destinations, the ApplicationSet
checks and the shard key all read a destination through this module, so they
cannot disagree on what an app points at. Pure: resolving a *name* to a server
takes the registered clusters as a mapping the caller read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
IN_CLUSTER_NAME = "in-cluster"


class DestinationProblem(StrEnum):
    """Why a destination names no cluster; the value is gitward's message for it."""

    NEITHER = "set server or name"
    BOTH = "set server or name, not both"


@dataclass(frozen=True)
class DestinationRef:
    """A destination as written, normalised: server without its trailing ``/``."""

    server: str = ""
    name: str = ""
    namespace: str = ""

    @property
    def problem(self) -> DestinationProblem | None:
        """Why this names no cluster, or None when it names exactly one."""
        return destination_problem(self.server, self.name)

    def is_in_cluster(self, local_servers: Iterable[str] = ()) -> bool:
        """Whether this is the engine's own cluster (``local_servers``: its other URLs)."""
        return is_in_cluster(self.server, self.name, local_servers)

    def server_in(self, clusters: Mapping[str, str]) -> str:
        """The server URL this names, ``clusters`` mapping registered names to servers.

        ``""`` when a name is not registered.
        """
        if self.server:
            return self.server
        if self.name == IN_CLUSTER_NAME:
            return IN_CLUSTER_SERVER
        return clusters.get(self.name, "")

    def known_in(self, clusters: Mapping[str, str]) -> bool:
        """Whether this names the in-cluster or one of ``clusters`` (name -> server)."""
        if self.name:
            return self.name == IN_CLUSTER_NAME or self.name in clusters
        return self.server == IN_CLUSTER_SERVER or self.server in clusters.values()


def normalise_server(server: str) -> str:
    """A server URL as an identity: surrounding space and trailing ``/`` removed."""
    return server.strip().rstrip("/")


def destination_ref(dest: Any) -> DestinationRef:
    """The destination in a raw ``spec.destination`` value (anything; non-strings read as "")."""
    if not isinstance(dest, Mapping):
        return DestinationRef()

    def text(key: str) -> str:
        value = dest.get(key)
        return value if isinstance(value, str) else ""

    return DestinationRef(normalise_server(text("server")), text("name"), text("namespace"))


def destination_problem(server: str, name: str) -> DestinationProblem | None:
    """Why ``server``/``name`` name no cluster (both or neither set), or None."""
    if server and name:
        return DestinationProblem.BOTH
    if not server and not name:
        return DestinationProblem.NEITHER
    return None


def is_in_cluster(server: str, name: str, local_servers: Iterable[str] = ()) -> bool:
    """Whether ``server`` (or, without one, ``name``) is the engine's own cluster."""
    if server:
        server = normalise_server(server)
        return server == IN_CLUSTER_SERVER or server in {normalise_server(s) for s in local_servers}
    return name == IN_CLUSTER_NAME
