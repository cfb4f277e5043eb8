"""ceiling: the API server's raw server-side-apply throughput, the limit for any sync.

Run as ``.venv/bin/python -m bench.ceiling`` after ``bench.sync`` (it reads
``bench/results/sync-1k.json`` to state sync-1k's share of the ceiling). On a
fresh cluster of the same kind, ``gitward-loadgen`` (tools/loadgen: client-go,
one HTTP/2 connection, no client-side rate limit, bodies serialised before the
clock starts) applies objects of sync-1k's kinds (1,000 of them, also in a quick
run: a level of a few seconds says more about the machine's neighbours than about
the server) into a fresh namespace at each concurrency 1..64, in 2 rounds (quick)
or 3; the best rate of any level and round is the ceiling. The load generator is Go so
that the client is not what is measured: a single Python client measured this
way once came out *below* gitward's own sync (112 %), i.e. it measured itself.
The same objects are applied once more by one Python (aiohttp) client at
concurrency 16, to show how far that client falls short.

Deployments have ``replicas: 0`` as in sync-1k: Pods would only add scheduler
and kwok load that has nothing to do with the apply path being measured.
Writes ``bench/results/ceiling.json``; ``bench/run.py`` states sync-1k, apps-1k
and the webhook fan-out as shares of it.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import QUICK, RESULTS, cluster, loadgen, release, table, write
from bench.sync import manifests
from gitward.cluster import KubeClient
from gitward.cluster.kubeconfig import load

Obj = dict[str, Any]
LEVELS = (1, 4, 16, 64) if QUICK else (1, 2, 4, 8, 16, 32, 64)
PYTHON_LEVEL = 16
OBJECTS = 1000
#: Every level is measured this many times, each into fresh namespaces.
ROUNDS = 2 if QUICK else 3
PLURALS = {"ConfigMap": ("api/v1", "configmaps"), "Service": ("api/v1", "services")}
PLURALS["Deployment"] = ("apis/apps/v1", "deployments")


async def apply_all(
    session: aiohttp.ClientSession,
    server: str,
    headers: dict[str, str],
    bodies: list[tuple[str, bytes]],
    concurrency: int,
) -> float:
    """Seconds to apply every (path, body) with ``concurrency`` requests in flight."""
    queue = list(reversed(bodies))
    failures: list[str] = []

    async def worker() -> None:
        while queue:
            path, body = queue.pop()
            async with session.patch(server + path, data=body, headers=headers) as resp:
                await resp.read()
                if resp.status >= 400:
                    failures.append(f"{path}: HTTP {resp.status}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} applies failed, e.g. {failures[0]}")
    return elapsed


def requests_for(namespace: str, docs: list[Obj]) -> list[tuple[str, bytes]]:
    out = []
    for doc in docs:
        prefix, plural = PLURALS[doc["kind"]]
        name = doc["metadata"]["name"]
        path = f"/{prefix}/namespaces/{namespace}/{plural}/{name}?fieldManager=ceiling&force=true"
        body = {**doc, "metadata": {**doc["metadata"], "namespace": namespace}}
        out.append((path, json.dumps(body).encode()))
    return out


async def python_client(kubeconfig: Path, docs: list[Obj], namespace: str) -> float:
    """Applies per second of one aiohttp client at ``PYTHON_LEVEL`` requests in flight."""
    credentials = load(str(kubeconfig), None)
    headers = {"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"}
    authorization = await credentials.authorization()
    if authorization:
        headers["Authorization"] = authorization
    server = credentials.server.rstrip("/")
    async with await KubeClient.from_kubeconfig(str(kubeconfig)) as kube:
        await kube.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        )
    connector = aiohttp.TCPConnector(ssl=credentials.ssl_context(), limit=128)
    async with aiohttp.ClientSession(connector=connector) as session:
        bodies = requests_for(namespace, docs)
        seconds = await apply_all(session, server, headers, bodies, PYTHON_LEVEL)
    return len(docs) / seconds


def main() -> None:
    previous = json.loads((RESULTS / "sync-1k.json").read_text())
    n = OBJECTS
    sync_tput = float(previous["figures"]["gitward_full_sync_objects_per_s"])
    local = cluster("bench-ceiling", fresh=True)
    docs = manifests(n, replicas=0)
    stamp = int(time.time())
    try:
        rounds = [loadgen(local.kubeconfig, docs, LEVELS, f"ceiling-{stamp}-{r}")
                  for r in range(ROUNDS)]  # fmt: skip
        by_level: dict[int, list[float]] = {}
        for report in rounds:
            for lv in report["levels"]:
                by_level.setdefault(int(lv["concurrency"]), []).append(float(lv["applies_per_s"]))
        # A ceiling is what the server can do: the best round of each level, since what
        # differs between rounds is what the machine's other work took from it.
        results = {level: max(rates) for level, rates in by_level.items()}
        for level, rate in results.items():
            print(f"client-go, concurrency {level:>2}: {rate:7.1f} applies/s")
        python_rate = asyncio.run(python_client(local.kubeconfig, docs, f"python-{stamp}"))
        print(f"one Python client, concurrency {PYTHON_LEVEL}: {python_rate:7.1f} applies/s")
    finally:
        release(local)
    best_level = max(results, key=lambda k: results[k])
    best = results[best_level]
    figures = {
        "objects": n,
        "client": "gitward-loadgen (client-go)",
        "applies_per_s_by_concurrency": {str(k): round(v, 1) for k, v in results.items()},
        "rounds": ROUNDS,
        "applies_per_s_every_round": {
            str(k): [round(v, 1) for v in rates] for k, rates in by_level.items()
        },
        "ceiling_applies_per_s": round(best, 1),
        "ceiling_at_concurrency": best_level,
        "python_client_applies_per_s": round(python_rate, 1),
        "python_client_concurrency": PYTHON_LEVEL,
        "sync_1k_objects_per_s": sync_tput,
        "sync_1k_share_of_ceiling": round(sync_tput / best, 2),
    }
    write("ceiling", figures, {"ceiling_applies_per_s": round(best, 1)})
    print(
        table(
            ["ceiling", "applies/s", "share"],
            [(f"client-go SSA, concurrency {k}", v, v / best) for k, v in results.items()]
            + [
                (f"one Python client, concurrency {PYTHON_LEVEL}", python_rate, python_rate / best),
                ("gitward sync-1k (full sync)", sync_tput, sync_tput / best),
            ],
        )
    )


if __name__ == "__main__":
    main()
