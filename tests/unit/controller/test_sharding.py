"""Which shard an app is in: stable, spread evenly, one key per destination cluster."""

from __future__ import annotations

import asyncio
import datetime
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import pytest

from gitward.controller.leases import LeaseView, lease_body
from gitward.controller.sharding import (
    NoSharding,
    ShardCoordinator,
    _member_name,
    destination_key,
    shard_of,
)
from gitward.model.errors import ConfigError


def app(name: str, ns: str = "argocd", server: str = "", dest_name: str = "") -> dict[str, Any]:
    dest = {k: v for k, v in (("server", server), ("name", dest_name)) if v}
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"destination": dest}}


@pytest.mark.parametrize("shards", [2, 3])
def test_apps_spread_roughly_evenly(shards: int) -> None:
    counts = Counter(shard_of(app(f"app-{i}"), shards, "app") for i in range(1000))
    assert set(counts) == set(range(shards))
    expected = 1000 / shards
    for shard, count in counts.items():
        assert abs(count - expected) < expected * 0.15, (shard, counts)


@pytest.mark.parametrize("shards", [2, 3])
def test_clusters_spread_roughly_evenly(shards: int) -> None:
    apps = [app(f"a{i}", server=f"https://cluster-{i}.example:6443") for i in range(1000)]
    counts = Counter(shard_of(a, shards, "cluster") for a in apps)
    expected = 1000 / shards
    assert all(abs(c - expected) < expected * 0.15 for c in counts.values()), counts


def test_same_input_same_shard_in_another_process() -> None:
    """Python's hash() is salted per process; shard_of must not be."""
    here = [shard_of(app(f"app-{i}"), 3, "app") for i in range(20)]
    code = (
        "from gitward.controller.sharding import shard_of\n"
        "print([shard_of({'metadata': {'name': f'app-{i}', 'namespace': 'argocd'}}, 3, 'app')"
        " for i in range(20)])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={"PYTHONHASHSEED": "123"},
    )
    assert out.stdout.strip() == str(here)


def test_app_mode_uses_namespace_and_name() -> None:
    assert shard_of(app("a"), 7, "app") == shard_of(app("a"), 7, "app")
    spread = {shard_of(app("a", ns=f"ns-{i}"), 7, "app") for i in range(50)}
    assert len(spread) > 1  # the namespace is part of the key


def test_cluster_mode_groups_apps_of_one_cluster() -> None:
    server = "https://prod.example:6443"
    shards = {shard_of(app(f"x{i}", server=server), 5, "cluster") for i in range(100)}
    assert len(shards) == 1
    assert shard_of(app("y", server=server + "/"), 5, "cluster") == shards.pop()


def test_in_cluster_spellings_share_a_shard() -> None:
    by_server = app("a", server="https://kubernetes.default.svc")
    by_name = app("b", dest_name="in-cluster")
    assert destination_key(by_server) == destination_key(by_name) == "in-cluster"
    for shards in (2, 3, 5, 8):
        assert shard_of(by_server, shards, "cluster") == shard_of(by_name, shards, "cluster")


def test_one_shard_is_shard_zero() -> None:
    assert shard_of(app("a"), 1, "app") == 0
    assert shard_of({}, 1, "cluster") == 0


def test_no_sharding_owns_everything() -> None:
    none = NoSharding()
    assert none.owned == {0}
    assert none.owns(app("anything"))
    assert isinstance(ShardCoordinator.disabled(), NoSharding)


async def test_no_sharding_runs_until_stopped() -> None:
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(NoSharding().run(stop), 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shards": 0}, "--shards"),
        ({"identity": ""}, "--replica-id"),
        ({"mode": "tenant"}, "--shard-mode"),
        ({"lease_duration": 0.5}, "lease duration"),
        ({"lease_duration": 3.0, "renew_every": 2.0}, "renew interval"),
    ],
)
def test_coordinator_rejects_bad_settings(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"shards": 2, "identity": "r1", **kwargs}
    with pytest.raises(ConfigError, match=message):
        ShardCoordinator(None, "argocd", **args)  # type: ignore[arg-type]


def test_member_lease_names_are_valid_object_names() -> None:
    for identity in ("controller-0", "Host.Example/42", "x" * 300, "---"):
        name = _member_name("gitward-controller-shard-", identity)
        assert len(name) <= 253
        assert name == name.lower()
        assert all(c.isalnum() or c == "-" for c in name)
    assert _member_name("p-", "a/b") != _member_name("p-", "a-b")


NOW = datetime.datetime(2026, 11, 26, 10, 0, 0, 123456, tzinfo=datetime.UTC)


def test_lease_expiry_is_renew_time_plus_duration() -> None:
    body = lease_body("l", "ns", "r1", 15, NOW)
    assert body["spec"]["renewTime"] == "2026-11-26T10:00:00.123456Z"
    view = LeaseView.of(body)
    assert view.live_holder(NOW + datetime.timedelta(seconds=14)) == "r1"
    assert view.live_holder(NOW + datetime.timedelta(seconds=15)) == ""


def test_lease_transitions_count_holder_changes() -> None:
    first = lease_body("l", "ns", "r1", 15, NOW)
    assert "leaseTransitions" not in first["spec"]
    renewed = lease_body("l", "ns", "r1", 15, NOW, first)
    assert renewed["spec"]["acquireTime"] == first["spec"]["acquireTime"]
    assert "leaseTransitions" not in renewed["spec"]
    later = NOW + datetime.timedelta(seconds=30)
    taken = lease_body("l", "ns", "r2", 15, later, renewed)
    assert taken["spec"]["leaseTransitions"] == 1
    assert taken["spec"]["acquireTime"] == later.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_released_lease_is_free_at_once() -> None:
    held = lease_body("l", "ns", "r1", 15, NOW)
    released = lease_body("l", "ns", None, 15, NOW, held)
    assert "holderIdentity" not in released["spec"]
    assert LeaseView.of(released).live_holder(NOW) == ""


def test_a_lapse_seen_between_ticks_is_reported_when_the_shard_comes_back() -> None:
    """A renewal late behind a slow API server lapses a shard between two ticks; a worker
    that looked meanwhile dropped its apps, so the next tick must tell the listeners again
    (they requeue the shard's apps), though the owned set before and after is the same."""
    heard: list[set[int]] = []
    coordinator = ShardCoordinator(
        None,  # type: ignore[arg-type] # no API call is made here
        "argocd",
        shards=2,
        identity="r1",
        lease_duration=6.0,
        on_change=heard.append,
    )
    now = time.monotonic()
    coordinator._held = {0: now, 1: now}
    coordinator._notify()
    assert heard == [{0, 1}]
    coordinator._held[1] = now - 6.0  # renewed too long ago: lapsed
    assert not coordinator.owns({"metadata": {"namespace": "argocd", "name": _app_in(1)}})
    coordinator._held[1] = time.monotonic()  # the late renewal lands
    coordinator._notify()
    assert heard == [{0, 1}, {0, 1}]
    coordinator._notify()  # nothing lapsed since: nothing to tell
    assert heard == [{0, 1}, {0, 1}]


def test_an_unseen_lapse_is_not_reported() -> None:
    heard: list[set[int]] = []
    coordinator = ShardCoordinator(
        None,  # type: ignore[arg-type] # no API call is made here
        "argocd",
        shards=2,
        identity="r1",
        lease_duration=6.0,
        on_change=heard.append,
    )
    coordinator._held = {0: time.monotonic()}
    coordinator._notify()
    coordinator._notify()
    assert heard == [{0}]


def _app_in(shard: int) -> str:
    """The name of an app in namespace argocd that hashes to ``shard`` of 2."""
    for i in range(1000):
        name = f"app-{i}"
        if shard_of({"metadata": {"namespace": "argocd", "name": name}}, 2, "app") == shard:
            return name
    raise AssertionError("no app name hashes to that shard")
