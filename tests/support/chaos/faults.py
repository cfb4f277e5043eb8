"""The faults of the chaos suite: each breaks one real part, then puts it back.

A fault is an async function ``inject(ctx, round)`` that breaks something, waits the
fault's duration and restores it; it returns the moments (monotonic) at which it ended —
one per restore, so a fault that kills the controller six times returns six — from which
the runner measures the time to recover. Pushes go on during every fault.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import json
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from gitward.localkube import LocalCluster, Toolchain
from gitward.localkube.components import Ports
from tests.support.chaos.controllers import Replicas
from tests.support.chaos.fleet import Fleet
from tests.support.chaos.proxy import ApiProxy


@dataclass(frozen=True)
class Sizes:
    """How long each fault lasts and how often it repeats (full run or short form)."""

    apps: int
    repos: int
    repeats: int
    push_every: float
    interval: float
    api_down: float
    git_down: float
    flap: float
    slow: float
    disk: float
    kill_period: float
    kill_gap: tuple[float, float]
    settle: float


FULL = Sizes(
    apps=200,
    repos=20,
    repeats=3,
    push_every=0.5,
    interval=15.0,
    api_down=8.0,
    git_down=60.0,
    flap=60.0,
    slow=60.0,
    disk=45.0,
    kill_period=300.0,
    kill_gap=(10.0, 30.0),
    settle=240.0,
)

SHORT = Sizes(
    apps=20,
    repos=4,
    repeats=2,
    push_every=0.5,
    interval=5.0,
    api_down=3.0,
    git_down=8.0,
    flap=8.0,
    slow=6.0,
    disk=6.0,
    kill_period=30.0,
    kill_gap=(10.0, 15.0),
    settle=120.0,
)


@dataclass
class Context:
    cluster: LocalCluster
    toolchain: Toolchain
    proxy: ApiProxy
    fleet: Fleet
    replicas: Replicas
    sizes: Sizes
    rng: random.Random


Inject = Callable[[Context, int], Awaitable[list[float]]]


async def _pause(seconds: float) -> None:
    """The fault's duration: wall time the broken part stays broken (not synchronisation)."""
    await asyncio.sleep(seconds)


async def _burst(ctx: Context, count: int = 5) -> None:
    """A few pushes at once, so syncs are in flight when the fault strikes."""
    for _ in range(count):
        await ctx.fleet.push(ctx.rng.choice(ctx.fleet.apps))


async def _restart(ctx: Context, component: str) -> list[float]:
    await _burst(ctx)
    await _pause(ctx.rng.uniform(0.5, 2.0))
    await asyncio.to_thread(ctx.cluster.kill, component)
    await _pause(ctx.sizes.api_down)
    await asyncio.to_thread(ctx.cluster.start, component, ctx.toolchain, 120.0)
    return [time.monotonic()]


async def apiserver_restart(ctx: Context, _round: int) -> list[float]:
    return await _restart(ctx, "kube-apiserver")


async def etcd_restart(ctx: Context, _round: int) -> list[float]:
    return await _restart(ctx, "etcd")


async def watch_cut(ctx: Context, round_: int) -> list[float]:
    """Cut every watch: torn mid-stream on even rounds, ended cleanly on odd ones."""
    await _burst(ctx)
    await _pause(ctx.rng.uniform(0.5, 2.0))
    await ctx.proxy.cut_watches(graceful=round_ % 2 == 1)
    return [time.monotonic()]


async def _etcd_compact(cluster: LocalCluster) -> int:
    """Compact etcd at its current revision (physically): older resourceVersions are gone."""
    state = cluster.layout.state_file.read_text()
    port = Ports.from_list(json.loads(state)["ports"]).etcd_client
    base = f"http://127.0.0.1:{port}/v3/kv"
    async with aiohttp.ClientSession() as http:
        key = base64.b64encode(b"/registry").decode()
        async with http.post(f"{base}/range", json={"key": key, "limit": 1}) as resp:
            rev = int((await resp.json())["header"]["revision"])
        body = {"revision": rev, "physical": True}
        async with http.post(f"{base}/compaction", json=body) as resp:
            answer = await resp.text()
            # Compacted already at that revision (nothing was written since): as good.
            if resp.status != 200 and "compacted" not in answer:
                raise AssertionError(f"etcd compaction: HTTP {resp.status}: {answer}")
    return rev


async def compaction_410(ctx: Context, _round: int) -> list[float]:
    """Compact etcd at its newest revision, then cut every watch: each watcher resumes from
    a resourceVersion etcd no longer has, is answered 410 Gone and must list again (the
    chaos cluster keeps no watch cache for ConfigMaps, so etcd answers those watches)."""
    await _burst(ctx)
    await _pause(2.0)
    await _etcd_compact(ctx.cluster)
    await ctx.proxy.cut_watches(graceful=True)
    return [time.monotonic()]


async def controller_kill(ctx: Context, _round: int) -> list[float]:
    """SIGKILL a random replica every 10-30 s for the period; it is started again at once,
    as the kubelet restarts a crashed container."""
    ends = []
    deadline = time.monotonic() + ctx.sizes.kill_period
    while time.monotonic() < deadline:
        await _pause(ctx.rng.uniform(*ctx.sizes.kill_gap))
        victim = ctx.rng.choice(ctx.replicas.replicas)
        await asyncio.to_thread(ctx.replicas.kill, victim)
        await asyncio.to_thread(ctx.replicas.start, victim)
        ends.append(time.monotonic())
    return ends


async def git_down(ctx: Context, _round: int) -> list[float]:
    ctx.fleet.daemon.stop()
    await _pause(ctx.sizes.git_down)
    await asyncio.to_thread(ctx.fleet.daemon.start)
    return [time.monotonic()]


async def git_flapping(ctx: Context, _round: int) -> list[float]:
    deadline = time.monotonic() + ctx.sizes.flap
    while time.monotonic() < deadline:
        ctx.fleet.daemon.stop()
        await _pause(ctx.rng.uniform(1.0, 5.0))
        await asyncio.to_thread(ctx.fleet.daemon.start)
        await _pause(ctx.rng.uniform(1.0, 5.0))
    return [time.monotonic()]


async def force_push_older(ctx: Context, round_: int) -> list[float]:
    """Force-push a repository back three commits: its apps must follow Git back, losing
    exactly the withdrawn pushes and nothing else."""
    r = round_ % len(ctx.fleet.repos)
    for _ in range(4):  # make sure there are commits to go back over
        apps = [a for a in ctx.fleet.apps if ctx.fleet.repo_of(a) == r]
        await ctx.fleet.push(ctx.rng.choice(apps))
    await _pause(ctx.sizes.interval)
    await ctx.fleet.force_push_back(r, 3)
    return [time.monotonic()]


async def repo_deleted(ctx: Context, round_: int) -> list[float]:
    """Delete a repository for two reconciliation intervals: its apps must keep every object
    (an unreachable source is never an empty desired state), then resume when it is back."""
    r = (round_ + 1) % len(ctx.fleet.repos)
    await ctx.fleet.delete_repo(r)
    await _pause(2 * ctx.sizes.interval + 5.0)
    await ctx.fleet.restore_repo(r)
    return [time.monotonic()]


async def slow_api(ctx: Context, _round: int) -> list[float]:
    ctx.proxy.faults.latency = 0.25
    try:
        await _pause(ctx.sizes.slow)
    finally:
        ctx.proxy.faults.latency = 0.0
    return [time.monotonic()]


async def throttled_api(ctx: Context, _round: int) -> list[float]:
    ctx.proxy.faults.throttle, ctx.proxy.faults.retry_after = 0.3, 1
    try:
        await _pause(ctx.sizes.slow)
    finally:
        ctx.proxy.faults.throttle = 0.0
    return [time.monotonic()]


def _fill(root: Path) -> Path | None:
    """Fill the filesystem at ``root`` until the kernel answers ENOSPC."""
    filler = root / "filler"
    chunk = b"\0" * (1 << 20)
    try:
        with filler.open("wb") as out:
            while True:
                out.write(chunk)
                out.flush()
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    return filler


async def disk_full(ctx: Context, _round: int) -> list[float]:
    fillers = []
    for r in ctx.replicas.replicas:
        root = r.cache_root()
        if root is not None:
            fillers.append(await asyncio.to_thread(_fill, root))
    await _pause(ctx.sizes.disk)
    for f in fillers:
        if f is not None:
            with contextlib.suppress(OSError):
                f.unlink()
    return [time.monotonic()]


def corrupt_objects(mirror: Path, rng: random.Random, whole: bool) -> int:
    """Overwrite every pack, pack index and loose object of ``mirror`` with random bytes (a
    bad disk, a torn write): past the header (``whole``) or 4 KiB from the middle on, so
    some objects still read and others do not. The files are there; their content is not."""
    hit = 0
    for path in (mirror / "objects").rglob("*"):
        if path.is_file() and (path.suffix in (".pack", ".idx") or len(path.parent.name) == 2):
            size = path.stat().st_size
            start = min(12, size) if whole else size // 2
            length = size - start if whole else min(4096, size - start)
            with path.open("r+b") as f:
                f.seek(start)
                f.write(rng.randbytes(max(0, length)))
            hit += 1
    return hit


def _corrupt(root: Path, rng: random.Random) -> int:
    """Corrupt half of the mirrors under a replica's cache (the others stay sound)."""
    mirrors = sorted((root / "mirrors").glob("*.git"))
    return sum(corrupt_objects(m, rng, whole=i % 2 == 0) for i, m in enumerate(mirrors[::2]))


async def corrupt_mirror(ctx: Context, _round: int) -> list[float]:
    for r in ctx.replicas.replicas:
        root = r.cache_root()
        if root is not None:
            await asyncio.to_thread(_corrupt, root, ctx.rng)
    return [time.monotonic()]


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    inject: Inject
    repeats: int | None = None  # None: the run's ``repeats``


FAULTS = [
    Fault(
        "watch-cut",
        "the proxy cuts every open watch stream at once (torn, or ended cleanly); the "
        "controller must resume",
        watch_cut,
    ),
    Fault(
        "etcd-compaction-410",
        "etcd compacted at its newest revision, then every watch cut: watches resumed from "
        "an older `resourceVersion` get `410 Gone` and must list again",
        compaction_410,
    ),
    Fault(
        "apiserver-restart",
        "kube-apiserver SIGKILLed while syncs are in flight, restarted seconds later",
        apiserver_restart,
    ),
    Fault("etcd-restart", "etcd SIGKILLed, restarted on its data", etcd_restart),
    Fault("slow-api", "every API request delayed 250 ms by the proxy", slow_api, 1),
    Fault("throttled-api", "30 % of API requests answered 429, Retry-After: 1", throttled_api, 1),
    Fault(
        "git-down", "the git server stopped (connection refused), then started again", git_down, 1
    ),
    Fault("git-flapping", "the git server up and down every 1-5 s", git_flapping, 1),
    Fault("force-push", "a repository force-pushed three commits back", force_push_older),
    Fault(
        "repo-deleted",
        "a repository removed from the server for two reconciliation intervals, then "
        "restored; its apps must keep every object meanwhile",
        repo_deleted,
    ),
    Fault(
        "disk-full",
        "each controller's mirror cache filesystem filled until the kernel answers ENOSPC",
        disk_full,
    ),
    Fault(
        "corrupt-mirror",
        "packs and loose objects of half of each controller's mirrors overwritten",
        corrupt_mirror,
    ),
    Fault(
        "controller-sigkill",
        "a random replica SIGKILLed every 10-30 s and restarted at once, as the kubelet "
        "would; the other replica takes its shards over meanwhile",
        controller_kill,
        1,
    ),
]


def by_name(names: str) -> list[Fault]:
    """The faults named in a comma-separated list (``""``: all)."""
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    if not wanted:
        return FAULTS
    known = {f.name: f for f in FAULTS}
    missing = [n for n in wanted if n not in known]
    if missing:
        raise ValueError(f"unknown faults {missing}; known: {sorted(known)}")
    return [known[n] for n in wanted]


def environ_faults() -> str:
    return os.environ.get("GITWARD_CHAOS_FAULTS", "")
