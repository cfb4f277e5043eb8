"""Memory soak: does one ``gitward controller`` process level off or keep growing?

Run as ``.venv/bin/python -m bench.soak --minutes 8 --faults churn --label before``. On a
local control plane of its own (``GITWARD_SOAK_CLUSTER``, default ``soak``) it creates a
fleet of automated apps over a few ``git daemon`` repositories (the chaos suite's fleet),
starts one controller through the chaos suite's API proxy, waits until every app is
synced, then for ``--minutes`` pushes one commit every ``--push-every`` seconds and samples
the controller's RSS every 10 s. ``--faults churn`` also cuts every watch, throttles the
API (429s), answers with upstream errors and takes the git server down, in turn, so the
state that faults churn (relists, retries, failed fetches) is part of the run.

With ``--trace N`` the controller runs with ``GITWARD_TRACEMALLOC=N`` and is sent SIGUSR2
after the first minute (the baseline) and at the end: its log then holds the allocation
sites that grew in between. The figures go to ``bench/results/soak-<label>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import RESULTS
from gitward import localkube
from gitward.cluster import KubeClient
from gitward.install import install
from gitward.localkube.process import free_ports
from tests.support.chaos.fleet import Fleet, Monitor, converged
from tests.support.chaos.proxy import ApiProxy

Obj = dict[str, Any]
SAMPLE_EVERY = 10.0


def rss_mib(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _start(argv: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as sink:
        return subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env)


async def churn(fleet: Fleet, proxy: ApiProxy, stop: asyncio.Event, rng: random.Random) -> None:
    """One fault every 45 s, in turn: watch cut, 429s, git server down."""
    step = 0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 45.0)
        if stop.is_set():
            return
        kind = step % 3
        step += 1
        if kind == 0:
            await proxy.cut_watches(graceful=rng.random() < 0.5)
        elif kind == 1:
            proxy.faults.throttle, proxy.faults.retry_after = 0.3, 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 15.0)
            proxy.faults.throttle = 0.0
        else:
            fleet.daemon.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 20.0)
            await asyncio.to_thread(fleet.daemon.start)


async def soak(args: argparse.Namespace) -> Obj:
    toolchain = localkube.ensure()
    local = localkube.LocalCluster(os.environ.get("GITWARD_SOAK_CLUSTER", "soak"))
    local.up(toolchain, nodes=1)
    tag = uuid.uuid4().hex[:6]
    name, home = f"soak{tag}", f"soak{tag}-home"
    rng = random.Random(19)  # noqa: S311 -- a reproducible push schedule, not a secret
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        async with await KubeClient.from_kubeconfig(str(local.kubeconfig)) as kube:
            await install(kube, home)
            await kube.apply(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "argocd-cm", "namespace": home},
                    "data": {
                        "timeout.reconciliation": f"{args.interval}s",
                        "timeout.reconciliation.jitter": "2s",
                    },
                }
            )
            fleet = await asyncio.to_thread(
                Fleet.create, root / "git", name, home, args.apps, args.repos, free_ports(1)[0]
            )
            proxy = ApiProxy(local, f"{name}-")
            await proxy.start()
            for app in fleet.apps:
                await kube.create(fleet.application(app))
            argv = [sys.executable, "-m", "gitward.cli"]
            argv += ["--kubeconfig", str(proxy.kubeconfig(root / "kubeconfig"))]
            argv += ["--namespace", home, "controller", "--listen", "127.0.0.1:0"]
            argv += ["--workers", "8", "--replica-id", "soak-0", "--log-format", "json"]
            argv += ["--no-notifications", "--no-dora", "--no-image-updates", "--no-appsets"]
            argv += args.controller_args
            env = {**os.environ, "GITWARD_REPO_CACHE": str(root / "cache")}
            if args.trace:
                env["GITWARD_TRACEMALLOC"] = str(args.trace)
            log_path = RESULTS / f"soak-{args.label}.log"
            proc = _start(argv, env, log_path)
            samples: list[tuple[float, float]] = []
            started = time.monotonic()
            monitor = Monitor(kube, fleet, lambda: {})
            try:
                deadline = started + 600
                while time.monotonic() < deadline:
                    snap = await monitor.observe()
                    if snap is not None and not converged(fleet, snap):
                        break
                    await asyncio.sleep(2.0)  # a poll interval with a deadline
                else:
                    raise SystemExit("the fleet never converged")
                initial = time.monotonic() - started
                print(f"soak: converged in {initial:.0f} s, RSS {rss_mib(proc.pid):.0f} MiB")
                stop = asyncio.Event()
                tasks = [asyncio.create_task(fleet.push_stream(stop, args.push_every, rng))]
                if args.faults == "churn":
                    tasks.append(asyncio.create_task(churn(fleet, proxy, stop, rng)))
                t0 = time.monotonic()
                end = t0 + args.minutes * 60
                traced = False
                while time.monotonic() < end:
                    if proc.poll() is not None:
                        raise SystemExit(f"the controller exited: {proc.returncode}")
                    at = time.monotonic() - t0
                    samples.append((round(at, 1), round(rss_mib(proc.pid), 1)))
                    if args.trace and not traced and at >= 60:
                        proc.send_signal(signal.SIGUSR2)
                        traced = True
                    if len(samples) % 6 == 0:
                        print(f"soak: {at / 60:5.1f} min RSS {samples[-1][1]} MiB", flush=True)
                    await asyncio.sleep(SAMPLE_EVERY)  # the sampling period itself
                stop.set()
                await asyncio.gather(*tasks)
                if args.trace:
                    proc.send_signal(signal.SIGUSR2)
                    await asyncio.sleep(5.0)  # the report is written by the controller's loop
                settle_deadline = time.monotonic() + 180
                behind: list[str] = fleet.apps
                while time.monotonic() < settle_deadline:
                    snap = await monitor.observe()
                    if snap is not None:
                        behind = converged(fleet, snap)
                        if not behind:
                            break
                    await asyncio.sleep(2.0)  # a poll interval with a deadline
            finally:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=30)
                if proc.poll() is None:
                    proc.kill()
                fleet.daemon.stop()
                await proxy.stop()
                for ns in [home, *fleet.namespaces]:
                    with contextlib.suppress(Exception):
                        await kube.delete("v1", "Namespace", ns, propagation="Background")
    by_minute = {
        m: next((r for t, r in samples if t >= m * 60), samples[-1][1])
        for m in (0, 1, 2, 3, 5, 8, 10, 15, 20)
        if m * 60 <= samples[-1][0] + SAMPLE_EVERY
    }
    return {
        "label": args.label,
        "apps": args.apps,
        "repositories": args.repos,
        "faults": args.faults,
        "push_every_s": args.push_every,
        "reconciliation_s": args.interval,
        "minutes": args.minutes,
        "initial_sync_s": round(initial, 1),
        "pushes": len(fleet.pushes),
        "converged_at_end": not behind,
        "rss_mib_by_minute": by_minute,
        "rss_mib_samples": samples,
        "controller_log": str(log_path.relative_to(RESULTS.parent.parent)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", default="run")
    parser.add_argument("--minutes", type=float, default=8.0)
    parser.add_argument("--apps", type=int, default=100)
    parser.add_argument("--repos", type=int, default=10)
    parser.add_argument("--push-every", type=float, default=1.0)
    parser.add_argument("--interval", type=int, default=15)
    parser.add_argument("--faults", choices=("none", "churn"), default="none")
    parser.add_argument("--trace", type=int, default=0, help="tracemalloc frames (0: off)")
    parser.add_argument("controller_args", nargs="*", help="more `gitward controller` flags")
    args = parser.parse_args()
    figures = asyncio.run(soak(args))
    out = RESULTS / f"soak-{args.label}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures["rss_mib_by_minute"]), f"-> {out}")


if __name__ == "__main__":
    main()
