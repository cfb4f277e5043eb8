"""Which cluster an Application deploys to, and the client and live view for it.

Argo CD's rules: ``spec.destination.server`` or ``spec.destination.name`` (not
both) selects a cluster registered as a Secret labelled
``argocd.argoproj.io/secret-type: cluster`` in the Application's namespace;
``https://kubernetes.default.svc`` (name ``in-cluster``) is the cluster
gitward itself runs in and needs no Secret. gitward also takes the control
cluster's own API URL as in-cluster, so a local cluster works without
registering itself.

An unknown destination is a configuration error of that app, reported as a
ComparisonError: it never reads as "nothing is deployed".
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gitward.cluster import KubeClient, client_for_cluster, parse_cluster_secret
from gitward.cluster.live import ApiLiveReader, LiveReader
from gitward.cluster.secrets import ClusterSpec, InvalidClusterSecret, secret_fields
from gitward.model.application import Application
from gitward.model.destination import (
    IN_CLUSTER_NAME,
    IN_CLUSTER_SERVER,
    destination_problem,
    is_in_cluster,
    normalise_server,
)
from gitward.model.errors import ConfigError
from gitward.model.tracking import TrackingMethod

Obj = dict[str, Any]
CLUSTER_SECRETS = "argocd.argoproj.io/secret-type=cluster"
#: How long a listing of cluster Secrets is reused before it is read again.
SECRETS_TTL = 10.0


class UnknownDestination(ConfigError):
    """The app names a cluster that is not registered."""


@dataclass
class Target:
    """A destination cluster: a client for its API and a reader of its live objects."""

    server: str
    name: str
    client: KubeClient
    live: LiveReader
    #: The project the cluster Secret is scoped to ("" for none; in-cluster has none).
    project: str = ""


LiveFactory = Callable[[KubeClient], LiveReader]


class Destinations:
    """Resolves destinations to :class:`Target` s, one client (and cache) per cluster."""

    def __init__(
        self,
        control: KubeClient,
        tracking: TrackingMethod,
        live_for: LiveFactory | None = None,
    ) -> None:
        self.control = control
        self.live_for: LiveFactory = live_for or (lambda c: ApiLiveReader(c, tracking))
        self.in_cluster = Target(
            IN_CLUSTER_SERVER, IN_CLUSTER_NAME, control, self.live_for(control)
        )
        self._specs: dict[str, tuple[float, list[tuple[str, ClusterSpec]]]] = {}
        #: Cluster Secrets that do not parse, by namespace: (server, name, error) each.
        self._broken: dict[str, list[tuple[str, str, InvalidClusterSecret]]] = {}
        self._targets: dict[str, Target] = {}  # by secret name + resourceVersion

    @property
    def targets(self) -> list[Target]:
        return [self.in_cluster, *self._targets.values()]

    async def _registered(self, namespace: str) -> list[tuple[str, ClusterSpec]]:
        """(secret version key, spec) of every cluster Secret in ``namespace``."""
        cached = self._specs.get(namespace)
        if cached is not None and time.monotonic() - cached[0] < SECRETS_TTL:
            return cached[1]
        secrets = await self.control.list("v1", "Secret", namespace, label_selector=CLUSTER_SECRETS)
        specs = []
        broken = []
        for secret in secrets:
            meta = secret.get("metadata") or {}
            try:
                spec = parse_cluster_secret(secret)
            except InvalidClusterSecret as exc:
                # Only the apps that name this cluster fail (with the Secret's error); one
                # bad Secret must not make every other registered cluster unknown.
                broken.append((*_claimed(secret), exc))
                continue
            specs.append((f"{meta.get('name')}@{meta.get('resourceVersion')}", spec))
        self._specs[namespace] = (time.monotonic(), specs)
        self._broken[namespace] = broken
        return specs

    async def target(self, app: Application, namespace: str) -> Target:
        """The cluster ``app`` deploys to; raises :class:`UnknownDestination`."""
        dest = app.destination
        server, name = normalise_server(dest.server), dest.name
        problem = destination_problem(server, name)
        if problem is not None:
            raise UnknownDestination(f"application {app.name}: spec.destination: {problem}")
        if is_in_cluster(server, name, (self.control.server,)):
            return self.in_cluster
        for version, spec in await self._registered(namespace):
            if (server and spec.server == server) or (name and spec.display_name == name):
                return await self._target_for(version, spec)
        wanted = f"server {server!r}" if server else f"name {name!r}"
        for claimed_server, claimed_name, error in self._broken.get(namespace, []):
            if (server and claimed_server == server) or (name and claimed_name == name):
                raise InvalidClusterSecret(
                    f"application {app.name}: spec.destination: the cluster with {wanted} "
                    f"is registered by an invalid {error}"
                )
        raise UnknownDestination(
            f"application {app.name}: spec.destination: no cluster with {wanted} is registered "
            f"in namespace {namespace!r} (add one with: gitward cluster add CONTEXT)"
        )

    async def _target_for(self, version: str, spec: ClusterSpec) -> Target:
        found = self._targets.get(version)
        if found is not None:
            return found
        secret_name = version.partition("@")[0]
        for old in [k for k in self._targets if k.partition("@")[0] == secret_name]:
            await _close(self._targets.pop(old))  # the Secret changed: new credentials
        client = await client_for_cluster(spec)
        target = Target(spec.server, spec.display_name, client, self.live_for(client), spec.project)
        self._targets[version] = target
        return target

    async def close(self) -> None:
        """Stop live caches and close registered clusters' clients (not the control client)."""
        for target in self._targets.values():
            await _close(target)
        self._targets.clear()
        await _close(self.in_cluster, client_too=False)


def _claimed(secret: Obj) -> tuple[str, str]:
    """The server and name an unparsable cluster Secret claims, as far as they can be read."""
    try:
        fields = secret_fields(secret)
    except InvalidClusterSecret:
        return "", ""
    return normalise_server(fields.get("server", "")), fields.get("name", "").strip()


async def _close(target: Target, client_too: bool = True) -> None:
    stop = getattr(target.live, "stop", None)
    if callable(stop):
        with contextlib.suppress(Exception):
            await stop()
    if client_too:
        await target.client.close()
