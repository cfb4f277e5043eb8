"""The chaos cluster's own apply ceiling, so recovery times can be read against it.

Measured once per run, straight to the API server (not through the fault proxy), with the
same client-go load generator ``make bench`` uses (:func:`bench.common.loadgen`): 500
ConfigMaps like the fleet's at 16 applies in flight. A recovery that took 20 s while the
writes it needed take 0.5 s at this rate was bound by noticing and retrying, not by the
API server.
"""

from __future__ import annotations

from pathlib import Path

from bench.common import loadgen

OBJECTS = 500
CONCURRENCY = 16


def apply_ceiling(kubeconfig: Path, prefix: str) -> float:
    """Server-side applies per second this cluster takes at :data:`CONCURRENCY`."""
    docs = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"ceiling-{i}"},
            "data": {f"k{j}": "v" * 32 for j in range(8)},
        }
        for i in range(OBJECTS)
    ]
    report = loadgen(kubeconfig, docs, (CONCURRENCY,), prefix)
    return max(float(level["applies_per_s"]) for level in report["levels"])
