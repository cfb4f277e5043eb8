"""Splitting Applications between controller replicas: shards owned through Leases.

Every app belongs to exactly one of ``shards`` shards (:func:`shard_of`, a stable
hash of the app's ``namespace/name`` or of its destination cluster), and each
shard is owned by at most one replica at a time through a ``coordination.k8s.io/v1``
Lease named ``<prefix><index>``. A replica reconciles only the apps of the shards
it owns; the others skip them.

How leases move:

- **Membership.** Each replica also renews a Lease of its own
  (``<prefix>replica-<id>``) on every tick, so replicas that own no shard yet are
  counted. The live replicas are the holders of unexpired leases under the prefix,
  plus the replica itself; each may own at most ``ceil(shards / live)`` shards. With
  as many shards as replicas each ends up owning one.
- **Acquire** is a PUT with the resourceVersion just read (or a create when the
  Lease does not exist): of two replicas racing, one wins and the other gets 409
  Conflict (or AlreadyExists) and leaves it for the next tick.
- **Rebalance.** A replica holding more than its share (a new replica joined)
  releases the excess; the newcomer takes it on its next tick.
- **Takeover.** A Lease is expired when ``renewTime + leaseDurationSeconds`` is in
  the past; a dead replica's shards are taken by the others within the lease
  duration plus one renew interval.
- **Graceful stop** (``stop`` set) releases every owned Lease (holderIdentity
  removed) and deletes the membership Lease, so the others take over on their next
  tick instead of waiting for expiry. A cancelled :meth:`ShardCoordinator.run` (a
  crash, as far as the cluster can tell) releases nothing.

Safety over liveness: a replica stops acting on a shard once ``SAFETY`` (2/3) of
the lease duration has passed since the renewTime it last wrote successfully —
measured on its monotonic clock, checked on every read of :attr:`owned`, even
while a request hangs. Others take the Lease only after the full duration, so
between "I stop" and "they start" lies a third of the lease duration (5 s with
the default 15 s). That margin is also the clock skew between replicas the
scheme tolerates: expiry is judged by comparing another replica's wall-clock
renewTime with one's own wall clock.

Sharding decides who *reconciles* an app; the guard for "one operation per app
at a time" stays the resourceVersion-checked ``operation`` field
(:mod:`gitward.appstate.lock`), which also covers a sync still running on a replica
that just lost the shard, and syncs started from the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import math
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, Protocol, TypeVar

from gitward._util.hashing import digest_of
from gitward.cluster import ClusterError, Conflict, KubeClient, NotFound
from gitward.controller import leases
from gitward.controller.leases import LABELS, LEASE_API, MICROTIME, LeaseView, lease_body
from gitward.model.destination import IN_CLUSTER_NAME, destination_ref
from gitward.model.errors import ConfigError

Obj = dict[str, Any]
ShardMode = Literal["app", "cluster"]
T = TypeVar("T")

log = logging.getLogger("gitward.controller.sharding")

DEFAULT_PREFIX = "gitward-controller-shard-"
#: The fraction of the lease duration after the last successful renew at which a
#: replica stops acting on a shard; the rest is the margin before others may take it.
SAFETY = 2 / 3


# -- which shard an app is in ------------------------------------------------------------------


def destination_key(app_obj: Mapping[str, Any]) -> str:
    """The destination cluster of an app as a string shared by both spellings of it.

    ``server: https://kubernetes.default.svc`` and ``name: in-cluster`` are the same
    cluster and give the same key. Other clusters are keyed by server URL when the app
    gives one, else by name: the two spellings of one remote cluster may land in
    different shards (mapping names to URLs needs the cluster Secrets, and a pure
    function cannot read them). That costs balance, never correctness: each app
    still lands in exactly one shard.
    """
    dest = destination_ref((app_obj.get("spec") or {}).get("destination"))
    if dest.is_in_cluster():
        return IN_CLUSTER_NAME
    return dest.server or dest.name


def shard_of(app_obj: Mapping[str, Any], shards: int, mode: ShardMode = "app") -> int:
    """The shard (``0 <= n < shards``) ``app_obj`` belongs to, the same in every process.

    A SHA-256 of the key, not Python's ``hash()``, which is salted per process.
    """
    if shards <= 1:
        return 0
    if mode == "cluster":
        key = destination_key(app_obj)
    else:
        meta = app_obj.get("metadata") or {}
        key = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
    return int(digest_of([key], 16), 16) % shards


def default_identity() -> str:
    """``<hostname>-<pid>``: the pod name under Kubernetes, unique among replicas.

    Stable across a restart of the same container's process only if the pid is; a
    replica that comes back under the same identity re-adopts its unexpired Leases.
    """
    return f"{socket.gethostname()}-{os.getpid()}"


class Sharding(Protocol):
    """What the controller needs: which shards are ours, and whether an app is."""

    shards: int
    mode: ShardMode

    def subscribe(self, listener: Callable[[set[int]], None]) -> None: ...

    @property
    def owned(self) -> set[int]: ...

    def owns(self, app_obj: Mapping[str, Any]) -> bool: ...

    async def run(self, stop: asyncio.Event) -> None: ...


class _Listeners:
    """Who hears of a change of owned shards: every loop of the process that follows them
    (the Application controller, the ApplicationSet controller, notifications, ...)."""

    def __init__(self, first: Callable[[set[int]], None] | None = None) -> None:
        self._all: list[Callable[[set[int]], None]] = [first] if first is not None else []

    def add(self, listener: Callable[[set[int]], None]) -> None:
        self._all.append(listener)

    def __call__(self, owned: set[int]) -> None:
        for listener in self._all:
            listener(owned)


class NoSharding:
    """One replica owning everything, with no Leases: the default without ``--shards``."""

    def __init__(self, on_change: Callable[[set[int]], None] | None = None) -> None:
        self.shards = 1
        self.mode: ShardMode = "app"
        self._listeners = _Listeners(on_change)
        self.ready = asyncio.Event()
        self.ready.set()

    def subscribe(self, listener: Callable[[set[int]], None]) -> None:
        self._listeners.add(listener)

    @property
    def owned(self) -> set[int]:
        return {0}

    def owns(self, app_obj: Mapping[str, Any]) -> bool:
        return True

    async def run(self, stop: asyncio.Event) -> None:
        await stop.wait()


def _member_name(prefix: str, identity: str) -> str:
    """``<prefix>replica-<readable part>-<hash>``: a valid object name for any identity."""
    slug = "".join(c if c.isalnum() else "-" for c in identity.lower()).strip("-")[:40]
    return f"{prefix}replica-{slug.strip('-') or 'x'}-{digest_of([identity], 8)}"


# -- the coordinator ---------------------------------------------------------------------------


class ShardCoordinator:
    """Owns a fair share of the shard Leases for one replica; see the module docstring."""

    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        shards: int,
        identity: str,
        lease_duration: float = 15.0,
        renew_every: float | None = None,
        prefix: str = DEFAULT_PREFIX,
        mode: ShardMode = "app",
        on_change: Callable[[set[int]], None] | None = None,
    ) -> None:
        renew = lease_duration / 3 if renew_every is None else renew_every
        if shards < 1:
            raise ConfigError(f"--shards: must be at least 1, got {shards}")
        if mode not in ("app", "cluster"):
            raise ConfigError(f"--shard-mode: must be app or cluster, got {mode!r}")
        if not identity:
            raise ConfigError("--replica-id: must not be empty")
        if lease_duration < 1:
            raise ConfigError(f"lease duration: must be at least 1 s, got {lease_duration}")
        # Two renew attempts fit before the safety deadline (SAFETY of the duration).
        if not 0 < renew <= lease_duration / 3 * (1 + 1e-9):
            raise ConfigError(
                f"renew interval {renew} s: must be positive and at most a third of the "
                f"lease duration ({lease_duration} s)"
            )
        self.client = client
        self.namespace = namespace
        self.shards = shards
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_every = renew
        self.prefix = prefix
        self.mode: ShardMode = mode
        self._listeners = _Listeners(on_change)
        self.member = _member_name(prefix, identity)
        #: Set after the first pass over the Leases (successful or not).
        self.ready = asyncio.Event()
        self._duration_field = math.ceil(lease_duration)
        self._held: dict[int, float] = {}  # shard -> monotonic time of the renewTime we wrote
        self._written: dict[int, Obj] = {}  # shard -> the Lease as our last write returned it
        self._notified: set[int] = set()
        self._lapsed = False  # a caller saw a notified shard lapse since the last _notify
        offset = int(digest_of([identity], 8), 16) % shards
        #: The order this replica tries shards in: replicas starting together rarely collide.
        self._order = [(offset + k) % shards for k in range(shards)]

    @classmethod
    def disabled(cls, on_change: Callable[[set[int]], None] | None = None) -> NoSharding:
        """A stand-in owning every app with no Leases (no ``--shards``)."""
        return NoSharding(on_change)

    def subscribe(self, listener: Callable[[set[int]], None]) -> None:
        self._listeners.add(listener)

    @property
    def owned(self) -> set[int]:
        """Shards renewed less than ``SAFETY`` of the lease duration ago (monotonic clock)."""
        limit = time.monotonic() - self.lease_duration * SAFETY
        return {shard for shard, at in self._held.items() if at > limit}

    def owns(self, app_obj: Mapping[str, Any]) -> bool:
        """Whether this replica may act on the app now.

        A shard can lapse between two ticks (a renewal late behind a slow or unreachable API
        server) and come back at the next one. A caller that saw the lapse acted on it — the
        controller drops the apps it does not own from its queue — so the lapse is recorded,
        and the next tick tells the listeners the shard is back, though the owned set looks
        the same as before; they requeue its apps. Unseen, the apps dropped meanwhile would
        wait for an event that may never come (found by the chaos suite: pushes not deployed
        after a throttled API).
        """
        shard = shard_of(app_obj, self.shards, self.mode)
        if shard in self.owned:
            return True
        if shard in self._notified:
            self._lapsed = True
        return False

    def lease_name(self, shard: int) -> str:
        return f"{self.prefix}{shard}"

    async def run(self, stop: asyncio.Event) -> None:
        """Acquire and renew until ``stop`` is set, then release (see the module docstring)."""
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    await self.tick()
                except (ClusterError, TimeoutError) as exc:
                    log.warning("shard leases in %s: %s", self.namespace, exc or "timed out")
                self.ready.set()
                self._notify()
                left = self.renew_every - (time.monotonic() - started)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), max(left, 0.0))
            await self.release()
        finally:
            self._held.clear()  # cancelled: we renew no more, so we own no more

    async def _timed(self, call: Awaitable[T]) -> T:
        """One API call, never longer than a renew interval (the loop must keep its beat)."""
        return await asyncio.wait_for(call, self.renew_every)

    async def tick(self) -> None:
        """One pass: renew membership, read the Leases, renew, release and acquire."""
        member, listed = await asyncio.gather(
            self._timed(self._renew_member()),
            self._timed(self.client.list(LEASE_API, "Lease", self.namespace)),
            return_exceptions=True,
        )
        if isinstance(listed, BaseException):
            raise listed
        if isinstance(member, ClusterError | TimeoutError):
            log.warning("renewing membership lease %s: %s", self.member, member or "timed out")
        elif isinstance(member, BaseException):
            raise member
        now = leases.now()
        limit = datetime.timedelta(seconds=10 * self.lease_duration)
        shard_leases: dict[int, LeaseView] = {}
        live = {self.identity}
        stale_members = []
        for obj in listed:
            obj.setdefault("apiVersion", LEASE_API)
            obj.setdefault("kind", "Lease")
            name = str((obj.get("metadata") or {}).get("name", ""))
            if not name.startswith(self.prefix):
                continue
            view = LeaseView.of(obj)
            if view.live_holder(now):
                live.add(view.holder)
            suffix = name[len(self.prefix) :]
            if suffix.isdigit() and int(suffix) < self.shards:
                shard_leases[int(suffix)] = view
            elif suffix.startswith("replica-") and name != self.member and view.gone(now, limit):
                stale_members.append(name)  # gone for ten lease durations: tidy it away
        share = math.ceil(self.shards / len(live))
        mine = [
            s
            for s in self._order
            if s in shard_leases and shard_leases[s].live_holder(now) == self.identity
        ]
        for shard in set(self._held) - set(mine):
            del self._held[shard]  # taken, deleted or expired: stop acting on it now
            self._written.pop(shard, None)
        keep, excess = mine[:share], mine[share:]
        free = [
            s for s in self._order if s not in shard_leases or not shard_leases[s].live_holder(now)
        ]
        take = free[: max(share - len(keep), 0)]
        for shard in excess:
            self._held.pop(shard, None)  # before the write: never two owners
        stamp, stamped_at = leases.now(), time.monotonic()
        await asyncio.gather(
            *(self._write(s, shard_leases[s].obj, stamp, stamped_at) for s in keep),
            *(self._write(s, _obj(shard_leases.get(s)), stamp, stamped_at) for s in take),
            *(self._release_one(s, shard_leases[s].obj, stamp) for s in excess),
            *(self._delete_member(name) for name in stale_members),
        )

    async def _renew_member(self) -> None:
        stamp = leases.now().strftime(MICROTIME)
        patch = {
            "metadata": {"labels": dict(LABELS)},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": self._duration_field,
                "renewTime": stamp,
            },
        }
        try:
            await self.client.patch(LEASE_API, "Lease", self.member, self.namespace, patch)
        except NotFound:
            body = lease_body(
                self.member, self.namespace, self.identity, self._duration_field, leases.now()
            )
            with contextlib.suppress(Conflict):
                await self.client.create(body)

    async def _write(
        self, shard: int, previous: Obj | None, stamp: datetime.datetime, stamped_at: float
    ) -> None:
        """Renew (or acquire) ``shard``; own it only once the server took the write."""
        name = self.lease_name(shard)
        body = lease_body(
            name, self.namespace, self.identity, self._duration_field, stamp, previous
        )
        try:
            if previous is None:
                written = await self._timed(self.client.create(body))
            else:
                written = await self._timed(self.client.replace(body))
        except (Conflict, NotFound):
            # Someone else wrote it since we read it (or it is gone): not ours this tick.
            self._held.pop(shard, None)
            log.debug("lease %s: lost a race; will look again", name)
            return
        except (ClusterError, TimeoutError) as exc:
            # Keep what we hold: the safety deadline in `owned` drops it if this persists.
            log.warning("lease %s: %s", name, exc or "timed out")
            return
        if previous is None or shard not in self._held:
            log.info("replica %s now owns shard %d (lease %s)", self.identity, shard, name)
        self._held[shard] = stamped_at
        self._written[shard] = written

    async def _release_one(self, shard: int, previous: Obj, stamp: datetime.datetime) -> None:
        """Give ``shard`` up (holder removed) if ``previous`` is still the current version."""
        self._held.pop(shard, None)
        self._written.pop(shard, None)
        name = self.lease_name(shard)
        body = lease_body(name, self.namespace, None, self._duration_field, stamp, previous)
        try:
            await self._timed(self.client.replace(body))
            log.info("replica %s released shard %d (lease %s)", self.identity, shard, name)
        except (ClusterError, TimeoutError) as exc:
            # Conflict: someone else holds it now; otherwise it simply expires.
            log.info("releasing lease %s: %s", name, exc or "timed out")

    async def _delete_member(self, name: str) -> None:
        with contextlib.suppress(ClusterError, TimeoutError):
            await self._timed(self.client.delete(LEASE_API, "Lease", name, self.namespace))

    async def release(self) -> None:
        """Stop owning everything and hand the Leases back, so others need not wait."""
        written = dict(self._written)
        self._held.clear()
        self._notify()
        stamp = leases.now()
        await asyncio.gather(
            *(self._release_one(s, obj, stamp) for s, obj in written.items()),
            self._delete_member(self.member),
        )

    def _notify(self) -> None:
        owned = self.owned
        if owned == self._notified and not self._lapsed:
            return
        self._notified, self._lapsed = owned, False
        try:
            self._listeners(set(owned))
        except Exception:  # the controller's callback must not stop lease renewal
            log.exception("shard ownership callback failed")


def _obj(view: LeaseView | None) -> Obj | None:
    return None if view is None else view.obj
