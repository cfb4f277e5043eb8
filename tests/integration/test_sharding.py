"""Controller replicas share shards through Leases on a real API server.

Short leases (3 s, renewed every second) keep the suite fast. Every poll step
checks the safety property (no shard owned by two replicas at once) while
waiting for the liveness one (every shard owned, fairly, taken over in time).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Callable

from gitward.cluster import KubeClient
from gitward.controller.leases import LEASE_API
from gitward.controller.sharding import ShardCoordinator

LEASE = 3.0
RENEW = 1.0


@dataclasses.dataclass
class Replica:
    coordinator: ShardCoordinator
    stop: asyncio.Event
    task: asyncio.Task[None]
    changes: list[set[int]]

    @property
    def owned(self) -> set[int]:
        return self.coordinator.owned

    async def stop_gracefully(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 10)

    async def crash(self) -> None:
        """Cancel the loop: nothing is released, the Leases just stop being renewed."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


class Fleet:
    """Coordinators for one set of shard Leases in a test namespace."""

    def __init__(self, kube: KubeClient, namespace: str, shards: int) -> None:
        self.kube, self.namespace, self.shards = kube, namespace, shards
        self.replicas: list[Replica] = []

    def start(self, identity: str) -> Replica:
        changes: list[set[int]] = []
        coordinator = ShardCoordinator(
            self.kube,
            self.namespace,
            self.shards,
            identity,
            lease_duration=LEASE,
            renew_every=RENEW,
            on_change=changes.append,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(coordinator.run(stop))
        replica = Replica(coordinator, stop, task, changes)
        self.replicas.append(replica)
        return replica

    async def until(
        self, done: Callable[[list[set[int]]], bool], what: str, timeout: float
    ) -> float:
        """Poll every 50 ms until ``done(owned sets)``, asserting no overlap at every step.

        Returns the seconds it took.
        """
        started = time.monotonic()
        while True:
            owned = [r.owned for r in self.replicas]
            for i, mine in enumerate(owned):
                for theirs in owned[i + 1 :]:
                    assert not mine & theirs, f"a shard is owned twice: {owned}"
            if done(owned):
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}: {owned}")
            await asyncio.sleep(0.05)

    async def holders(self) -> dict[str, str]:
        leases = await self.kube.list(LEASE_API, "Lease", self.namespace)
        return {
            lease["metadata"]["name"]: str(lease["spec"].get("holderIdentity", ""))
            for lease in leases
        }


@contextlib.asynccontextmanager
async def fleet(kube: KubeClient, namespace: str, shards: int) -> AsyncIterator[Fleet]:
    f = Fleet(kube, namespace, shards)
    try:
        yield f
    finally:
        for replica in f.replicas:
            if not replica.task.done():
                await replica.crash()


def one_each(owned: list[set[int]]) -> bool:
    return all(len(s) == 1 for s in owned) and set().union(*owned) == {0, 1}


async def test_a_lone_replica_owns_all_then_shares_with_a_newcomer(
    kube: KubeClient, namespace: str
) -> None:
    async with fleet(kube, namespace, shards=2) as f:
        a = f.start("replica-a")
        await f.until(lambda owned: owned[0] == {0, 1}, "the lone replica to own both", 5)
        assert a.changes[-1] == {0, 1}
        f.start("replica-b")
        await f.until(one_each, "one shard each", LEASE + 3 * RENEW)
        holders = await f.holders()
        assert {holders[f"gitward-controller-shard-{i}"] for i in (0, 1)} == {
            "replica-a",
            "replica-b",
        }
        assert a.changes[-1] == a.owned  # told about the shard it gave up


async def test_a_crashed_replicas_shard_is_taken_over_after_the_lease(
    kube: KubeClient, namespace: str
) -> None:
    async with fleet(kube, namespace, shards=2) as f:
        a, b = f.start("replica-a"), f.start("replica-b")
        await f.until(one_each, "one shard each", LEASE + 3 * RENEW)
        await b.crash()
        took = await f.until(
            lambda owned: owned[0] == {0, 1}, "the survivor to own both", LEASE + 2 * RENEW
        )
        # Not before the crashed replica's Lease expired (it renewed at most RENEW ago).
        assert took > LEASE - RENEW - 0.5, took
        assert a.changes[-1] == {0, 1}


async def test_a_partitioned_replica_stops_before_another_takes_over(
    kube: KubeClient, namespace: str
) -> None:
    """Renewals failing (API unreachable) make a replica drop its shard before it expires."""
    async with fleet(kube, namespace, shards=2) as f:
        a, b = f.start("replica-a"), f.start("replica-b")
        await f.until(one_each, "one shard each", LEASE + 3 * RENEW)
        lost = next(iter(b.owned))
        unreachable = dataclasses.replace(kube.credentials, server="https://127.0.0.1:9")
        b.coordinator.client = KubeClient(unreachable, timeout=2.0)
        await f.until(lambda owned: not owned[1], "the partitioned replica to let go", LEASE)
        assert lost not in a.owned
        await f.until(lambda owned: owned[0] == {0, 1}, "the takeover", LEASE + 2 * RENEW)
        await b.coordinator.client.close()


async def test_a_graceful_stop_hands_over_at_once(kube: KubeClient, namespace: str) -> None:
    async with fleet(kube, namespace, shards=2) as f:
        f.start("replica-a")
        b = f.start("replica-b")
        await f.until(one_each, "one shard each", LEASE + 3 * RENEW)
        await b.stop_gracefully()
        assert b.owned == set()
        assert b.changes[-1] == set()
        took = await f.until(lambda owned: owned[0] == {0, 1}, "the handover", LEASE)
        assert took < LEASE - 0.5, took  # released, not expired
        holders = await f.holders()
        assert b.coordinator.member not in holders  # its membership Lease is gone too


async def test_replicas_racing_for_one_shard_never_both_own_it(
    kube: KubeClient, namespace: str
) -> None:
    async with fleet(kube, namespace, shards=1) as f:
        for name in ("replica-a", "replica-b", "replica-c"):
            f.start(name)
        started = time.monotonic()
        # Watch a few renew rounds of contention, not just the first win.
        await f.until(
            lambda owned: (
                sum(len(s) for s in owned) == 1 and time.monotonic() - started > 3 * RENEW
            ),
            "exactly one owner over three renewals",
            LEASE + 3 * RENEW,
        )
        owner = next(r for r in f.replicas if r.owned)
        lease = await kube.get(LEASE_API, "Lease", "gitward-controller-shard-0", namespace)
        assert lease["spec"]["holderIdentity"] == owner.coordinator.identity
        assert lease["spec"]["leaseDurationSeconds"] == int(LEASE)
        assert lease["spec"].get("leaseTransitions", 0) == 0  # won once, kept since
