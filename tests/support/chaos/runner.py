"""One chaos run: a fleet of automated apps, two controller replicas, every fault in turn.

For each fault the runner keeps pushing (one commit every ``push_every`` seconds to a random
app), injects the fault ``repeats`` times, pushes one probe commit per repository the moment
each injection ends, then stops pushing and waits for the fleet to converge. It then counts,
from the API server's side:

- **deployed**: pushes of the window whose key is live in the cluster at the end, out of the
  pushes Git still holds (a force-push withdraws some: those must be gone from the cluster);
- **applied twice**: objects the API server changed twice in a row with the same content
  (the proxy's audit of writes: a new resourceVersion for a write that changed nothing the
  app declares);
- **pruned wrongly**: successful deletions of fleet objects (the fleet's Git never removes
  one) and stable objects whose uid changed;
- **operations stuck**: apps left with a running or requested operation;
- **time to recover**: from each injection's end until every push made up to then is live.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import random
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitward.cluster import KubeClient
from gitward.localkube import LocalCluster, Toolchain
from gitward.localkube.process import free_ports
from tests.support.chaos.ceiling import apply_ceiling
from tests.support.chaos.controllers import Replicas
from tests.support.chaos.faults import Context, Fault, Sizes
from tests.support.chaos.fleet import Fleet, Monitor, converged, stuck_operations
from tests.support.chaos.proxy import ApiProxy, applied_twice, deletions

Obj = dict[str, Any]


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (nearest rank) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return round(ordered[rank], 2)


@dataclass
class Run:
    kube: KubeClient
    ctx: Context
    monitor: Monitor
    problems: list[str]
    #: Applies per second the cluster takes (:mod:`tests.support.chaos.ceiling`).
    ceiling: float = 0.0


async def _settle(run: Run, timeout: float) -> float | None:
    """Wait until the fleet converged; the seconds it took, or None at the deadline."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        snap = await run.monitor.observe()
        if snap is not None and not converged(run.ctx.fleet, snap):
            return time.monotonic() - started
        await asyncio.sleep(1.0)  # a poll interval with a deadline, not a synchronisation
    return None


async def run_fault(run: Run, fault: Fault) -> Obj:
    ctx, fleet, audit = run.ctx, run.ctx.fleet, run.ctx.proxy.audit
    writes_mark, push_mark = len(audit.writes), len(fleet.pushes)
    counters = (audit.throttled, audit.watches_cut, audit.gone_410, audit.upstream_errors)
    replaced_before = dict(run.monitor.replaced)
    kills_before = sum(r.kills for r in ctx.replicas.replicas)
    stop = asyncio.Event()
    pusher = asyncio.create_task(fleet.push_stream(stop, ctx.sizes.push_every, ctx.rng))
    ends: list[float] = []
    probes: list[int] = []
    started = time.monotonic()
    try:
        for round_ in range(fault.repeats or ctx.sizes.repeats):
            for end in await fault.inject(ctx, round_):
                for r in range(len(fleet.repos)):
                    apps = [a for a in fleet.apps if fleet.repo_of(a) == r]
                    made = await fleet.push(ctx.rng.choice(apps))
                    if made is not None:
                        probes.append(made.seq)
                ends.append(end)
    finally:
        stop.set()
        await pusher
    injected = time.monotonic() - started
    settle = await _settle(run, ctx.sizes.settle)
    snap = run.monitor.last
    window = list(fleet.pushes[push_mark:])
    held = [p for p in window if not p.withdrawn]
    live = snap.state if snap else {}
    deployed = [p for p in held if p.key in live.get(p.app, {})]
    withdrawn_live = [p for p in window if p.withdrawn and p.key in live.get(p.app, {})]
    recover = []
    for end in ends:
        before = [p for p in held if p.at <= end + 1.0]
        if any(p.deployed_at is None for p in before):
            continue  # never deployed: counted as lost below, not as a recovery time
        latest = max((p.deployed_at or end for p in before), default=end)
        recover.append(max(0.0, latest - end))
    writes = audit.writes[writes_mark:]
    last_end = max(ends, default=started)
    after = [w for w in writes if w.at > last_end and 200 <= w.status < 300]
    twice = applied_twice(writes)
    deleted = deletions(writes)
    replaced = {
        a: n - replaced_before.get(a, 0)
        for a, n in run.monitor.replaced.items()
        if n > replaced_before.get(a, 0)
    }
    stuck = stuck_operations(snap) if snap else ["(no snapshot)"]
    behind = converged(fleet, snap) if snap else fleet.apps
    result: Obj = {
        "fault": fault.name,
        "what": fault.what,
        "injections": len(ends),
        "fault_seconds": round(injected, 1),
        "pushes": len(held),
        "deployed": len(deployed),
        "withdrawn_by_force_push": len(window) - len(held),
        "withdrawn_still_live": len(withdrawn_live),
        "applied_twice": len(twice),
        "pruned_wrongly": len(deleted) + sum(replaced.values()),
        "operations_stuck": len(stuck),
        "converged_after_s": None if settle is None else round(settle, 1),
        "recover_p50_s": percentile(recover, 0.5),
        "recover_p95_s": percentile(recover, 0.95),
        "recover_samples": len(recover),
        # The fleet's writes after the fault ended, and the seconds they take at the
        # cluster's own apply ceiling: the part of recovering the API server bounds.
        "writes_after_fault": len(after),
        "writes_at_ceiling_s": round(len(after) / run.ceiling, 2) if run.ceiling else None,
        "controller_kills": sum(r.kills for r in ctx.replicas.replicas) - kills_before,
        "proxy": {
            "throttled": audit.throttled - counters[0],
            "watches_cut": audit.watches_cut - counters[1],
            "gone_410": audit.gone_410 - counters[2],
            "upstream_errors": audit.upstream_errors - counters[3],
        },
    }
    name = fault.name
    if len(deployed) != len(held):
        lost = sorted({p.app for p in held if p not in deployed})[:3]
        why = [_app_state(snap.apps.get(a) if snap else None, a) for a in lost]
        run.problems.append(f"{name}: {len(held) - len(deployed)} pushes not deployed: {why}")
    if withdrawn_live:
        run.problems.append(f"{name}: {len(withdrawn_live)} force-pushed-away keys still live")
    if twice:
        run.problems.append(f"{name}: objects applied twice: {twice[:5]}")
    if deleted or replaced:
        gone = [f"{w.namespace}/{w.name}" for w in deleted[:5]]
        run.problems.append(f"{name}: pruned wrongly: {gone} {list(replaced)[:5]}")
    if stuck:
        run.problems.append(f"{name}: operations stuck: {stuck[:5]}")
    if behind:
        run.problems.append(f"{name}: not converged after {ctx.sizes.settle:.0f} s: {behind[:5]}")
    run.problems.extend(f"{name}: {d}" for d in ctx.replicas.alive())
    return result


def _rss_summary(monitor: Monitor) -> Obj:
    """RSS per process instance (kB): first sample, last, peak; growth of the longest-lived."""
    per: dict[str, list[int]] = {}
    times: dict[str, list[float]] = {}
    for at, sample in monitor.rss:
        for key, kib in sample.items():
            if kib:
                per.setdefault(key, []).append(kib)
                times.setdefault(key, []).append(at)
    instances = {
        k: {
            "first_kib": v[0],
            "last_kib": v[-1],
            "peak_kib": max(v),
            "lived_s": round(times[k][-1] - times[k][0], 1),
        }
        for k, v in per.items()
    }
    longest = sorted(instances.items(), key=lambda kv: -float(kv[1]["lived_s"]))[:2]
    return {
        "instances": len(instances),
        "longest_lived": dict(longest),
        "growth_kib": max((v["last_kib"] - v["first_kib"] for _, v in longest), default=0),
        "peak_kib": max((v["peak_kib"] for v in instances.values()), default=0),
    }


def _app_state(app: Obj | None, name: str) -> str:
    """What an app's status said at the end, for a problem's report."""
    status = (app or {}).get("status") or {}
    sync, op = status.get("sync") or {}, status.get("operationState") or {}
    conditions = [c.get("type") for c in status.get("conditions") or []]
    return (
        f"{name}: {sync.get('status')} at {str(sync.get('revision'))[:8]}, operation "
        f"{op.get('phase')} ({str(op.get('message'))[:80]}), conditions {conditions}"
    )


def _progress(result: Obj, problems: list[str]) -> None:
    """One line per fault on stderr (and its problems), so a long run shows where it is."""
    keys = ("deployed", "pushes", "applied_twice", "pruned_wrongly", "operations_stuck")
    figures = " ".join(f"{k}={result[k]}" for k in keys)
    print(
        f"chaos: {result['fault']}: {figures} recover p50/p95="
        f"{result['recover_p50_s']}/{result['recover_p95_s']} s",
        file=sys.stderr,
        flush=True,
    )
    for problem in problems:
        print(f"chaos:   {problem}", file=sys.stderr, flush=True)


def _dump_audit(proxy: ApiProxy, path: Path) -> None:
    """Every write the proxy saw, one JSON line each: the evidence behind the counts."""
    with path.open("w") as out:
        for w in proxy.audit.writes:
            out.write(json.dumps(dataclasses.asdict(w)) + "\n")


async def _write_settings(kube: KubeClient, home: str, sizes: Sizes) -> None:
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": home}})
    interval = f"{int(sizes.interval)}s"
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-cm", "namespace": home},
        "data": {"timeout.reconciliation": interval, "timeout.reconciliation.jitter": "2s"},
    }
    await kube.create(cm)


async def chaos_run(
    kube: KubeClient,
    cluster: LocalCluster,
    toolchain: Toolchain,
    workdir: Path,
    sizes: Sizes,
    faults: list[Fault],
    seed: int = 19,
) -> tuple[Obj, list[str]]:
    """Run every fault against a fresh fleet; return the figures and the problems found."""
    tag = uuid.uuid4().hex[:6]
    name, home = f"chaos{tag}", f"chaos{tag}-home"
    rng = random.Random(seed)  # noqa: S311 -- a reproducible fault schedule, not a secret
    await _write_settings(kube, home, sizes)
    ceiling = await asyncio.to_thread(apply_ceiling, cluster.kubeconfig, f"ceiling{tag}")
    proxy = ApiProxy(cluster, f"chaos{tag}-")
    await proxy.start()
    fleet = await asyncio.to_thread(
        Fleet.create, workdir / "git", name, home, sizes.apps, sizes.repos, free_ports(1)[0]
    )
    replicas = Replicas(
        proxy.kubeconfig(workdir / "kubeconfig"),
        home,
        workdir / "logs",
        count=2,
        shards=2,
        cache_mib=256,
        lease=6.0,
        workers=8,
    )
    ctx = Context(cluster, toolchain, proxy, fleet, replicas, sizes, rng)
    monitor = Monitor(kube, fleet, replicas.rss)
    run = Run(kube, ctx, monitor, [], ceiling)
    results: list[Obj] = []
    started = time.monotonic()
    stop_monitor = asyncio.Event()
    watcher: asyncio.Task[None] | None = None
    try:
        for app in fleet.apps:
            await kube.create(fleet.application(app))
        replicas.start_all()
        first = await _settle(run, max(sizes.settle, 300.0))
        if first is None:
            behind = converged(fleet, monitor.last) if monitor.last else fleet.apps
            raise AssertionError(f"the fleet never converged at the start: {behind[:5]}")
        monitor.sample_rss = True
        watcher = asyncio.create_task(monitor.run(stop_monitor))
        for fault in faults:
            known = len(run.problems)
            results.append(await run_fault(run, fault))
            _progress(results[-1], run.problems[known:])
    finally:
        _dump_audit(proxy, workdir / "writes.jsonl")
        stop_monitor.set()
        if watcher is not None:
            await watcher
        await asyncio.to_thread(replicas.stop_all)
        fleet.daemon.stop()
        await proxy.stop()
        with contextlib.suppress(Exception):
            await kube.delete("v1", "Namespace", home, propagation="Background")
        for ns in fleet.namespaces:
            with contextlib.suppress(Exception):
                await kube.delete("v1", "Namespace", ns, propagation="Background")
    figures: Obj = {
        "apps": sizes.apps,
        "repositories": sizes.repos,
        "replicas": 2,
        "shards": 2,
        "reconciliation_s": sizes.interval,
        "push_every_s": sizes.push_every,
        "initial_sync_s": round(first, 1),
        "duration_s": round(time.monotonic() - started, 1),
        "pushes": len(fleet.pushes),
        "apply_ceiling_per_s": round(ceiling, 1),
        "finished_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "controller_rss": _rss_summary(monitor),
        "faults": results,
        "problems": run.problems,
        "passed": not run.problems,
    }
    return figures, run.problems
