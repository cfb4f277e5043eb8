"""jq-compare: what a ``jqPathExpressions`` rule costs one comparison, sandboxed vs in-process.

No cluster: one rendered Deployment against its live counterpart, compared
with ``gitward.diff.compare`` N times each way:

- baseline: no ignore rule, and a ``jsonPointers`` rule (no jq at all);
- the sandboxed jq worker, memo hit (the steady state: same objects again);
- the sandboxed jq worker, memo miss (the live object changes every time);
- in-process jq (the ``jq`` binding on the event loop, what gitward did before
  the sandbox), for the same expression, as a reference.

Prints microseconds per comparison and ratios to the no-rule baseline, and
writes ``bench/results/jq-compare.json``. ``python -m bench.jq``.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable
from typing import Any

import jq

from bench.common import QUICK, table, write
from gitward.diff import compare, parse_rules
from gitward.diff.normalize import normalize_live
from gitward.sandbox.jqrun import default_runner

Obj = dict[str, Any]
N = 300 if QUICK else 2000
EXPR = '.spec.template.spec.containers[] | select(.name == "sidecar") | .image'


def deployment() -> Obj:
    container = {
        "name": "web",
        "image": "nginx:1.27",
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "env": [{"name": f"VAR_{i}", "value": str(i)} for i in range(10)],
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [container, {**container, "name": "sidecar"}]},
            },
        },
    }


def live_of(desired: Obj, version: int) -> Obj:
    live = copy.deepcopy(desired)
    live["metadata"].update({"uid": "u", "resourceVersion": str(version), "generation": 1})
    live["spec"]["template"]["spec"]["containers"][1]["image"] = f"sidecar:{version}"
    live["status"] = {"replicas": 2, "readyReplicas": 2}
    return live


async def per_call(run: Callable[[int], Awaitable[Any]]) -> float:
    """Microseconds per call of ``run(i)``, after a warm-up."""
    for i in range(20):
        await run(i)
    started = time.perf_counter()
    for i in range(N):
        await run(i)
    return (time.perf_counter() - started) / N * 1e6


async def main() -> None:
    desired = deployment()
    steady = live_of(desired, 1)
    lives = [live_of(desired, 2 + i) for i in range(N + 20)]
    none: list[Any] = []
    pointer = parse_rules([{"group": "apps", "kind": "Deployment", "jsonPointers": ["/x"]}])
    rule = parse_rules([{"group": "apps", "kind": "Deployment", "jqPathExpressions": [EXPR]}])
    program = jq.compile(f"del({EXPR})")

    async def in_process(i: int) -> None:
        # The comparison's own work plus jq on the loop, as before the sandbox.
        await compare(desired, lives[i], none)
        program.input_value(normalize_live(lives[i])).first()
        program.input_value(dict(desired)).first()

    figures = {
        "comparisons": N,
        "no_rule_us": await per_call(lambda i: compare(desired, steady, none)),
        "json_pointer_rule_us": await per_call(lambda i: compare(desired, steady, pointer)),
        "jq_sandbox_memo_hit_us": await per_call(lambda i: compare(desired, steady, rule)),
        "jq_sandbox_memo_miss_us": await per_call(lambda i: compare(desired, lives[i], rule)),
        "jq_in_process_us": await per_call(in_process),
        "worker_starts": default_runner().starts,
    }
    base = figures["no_rule_us"]
    rows = []
    for key in (
        "no_rule_us",
        "json_pointer_rule_us",
        "jq_sandbox_memo_hit_us",
        "jq_sandbox_memo_miss_us",
        "jq_in_process_us",
    ):
        ratio = figures[key] / base
        figures[key.replace("_us", "_ratio")] = round(ratio, 2)
        rows.append((key.removesuffix("_us"), round(figures[key], 1), f"{ratio:.2f}x"))
    print(table(("comparison of one Deployment", "µs", "vs no rule"), rows))
    print(f"written to {write('jq-compare', figures, {'no_rule_us': base})}")


if __name__ == "__main__":
    asyncio.run(main())
