"""Is an installation a healthy set of objects? What ``kubectl apply -f install.yaml`` and
``helm install`` of the chart must both leave behind, judged on the live objects.

Every object the installer declared exists; gitward's own health rules call each one
Healthy (a CRD Established, a Service with its ports); every StatefulSet and Deployment
has all its replicas updated, Ready and Available for the generation declared last (so an
upgrade's new replica count counts, not the old one); every PodDisruptionBudget has seen
its pods; and every Pod in the namespace runs and is Ready. The answer is a list of what
is wrong, so a test polls it until it is empty and a failure says why.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any

from gitward.cluster import KubeClient, NotFound
from gitward.health import assess
from gitward.localkube import LocalCluster, Toolchain
from gitward.model.status import HealthStatus

Obj = dict[str, Any]
WORKLOADS = ("Deployment", "StatefulSet")


def describe(obj: Obj) -> str:
    meta = obj["metadata"]
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj['kind']} {where}{meta['name']}"


def _workload(live: Obj) -> list[str]:
    want = int(live["spec"].get("replicas", 1))
    status = live.get("status") or {}
    wrong = []
    if status.get("observedGeneration") != live["metadata"].get("generation"):
        wrong.append("generation not observed yet")
    for field in ("updatedReplicas", "readyReplicas", "availableReplicas"):
        if int(status.get(field) or 0) != want:
            wrong.append(f"{field} {status.get(field) or 0}/{want}")
    return wrong


def _budget(live: Obj) -> list[str]:
    status = live.get("status") or {}
    if status.get("observedGeneration") != live["metadata"].get("generation"):
        return ["not observed yet"]
    healthy, desired = int(status.get("currentHealthy") or 0), status.get("desiredHealthy")
    if desired is None or healthy < int(desired) or healthy == 0:
        return [f"currentHealthy {healthy}, desiredHealthy {desired}"]
    return []


def _pod(pod: Obj) -> list[str]:
    status = pod.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    if status.get("phase") != "Running" or not ready:
        return [f"phase {status.get('phase')}, Ready {ready}"]
    return []


async def live_of(kube: KubeClient, obj: Obj) -> Obj:
    """The live object of a declared one (``NotFound`` when there is none)."""
    meta = obj["metadata"]
    return await kube.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))


async def problems(kube: KubeClient, declared: list[Obj], namespace: str) -> list[str]:
    """What keeps ``declared`` (as rendered) from being a healthy installation; [] if none."""
    found: list[str] = []
    for obj in declared:
        try:
            live = await live_of(kube, obj)
        except NotFound:
            found.append(f"{describe(obj)}: missing")
            continue
        health = assess(live)
        wrong = []
        if health is not None and health.status != HealthStatus.HEALTHY:
            wrong.append(f"{health.status} {health.message}".strip())
        if obj["kind"] in WORKLOADS:
            wrong += _workload(live)
        elif obj["kind"] == "PodDisruptionBudget":
            wrong += _budget(live)
        found += [f"{describe(obj)}: {w}" for w in wrong]
    for pod in await kube.list("v1", "Pod", namespace):
        found += [f"{describe(pod)}: {w}" for w in _pod(pod)]
    return found


def replicas_declared(declared: list[Obj]) -> int:
    """How many Pods the declared workloads ask for."""
    return sum(int(o["spec"].get("replicas", 1)) for o in declared if o["kind"] in WORKLOADS)


def restricted_refuses_a_privileged_pod(
    toolchain: Toolchain, cluster: LocalCluster, namespace: str
) -> str:
    """The API server's answer to a privileged Pod in ``namespace`` (server-side dry run):
    proof that the namespace's ``restricted`` level is enforced, not merely labelled."""
    done = subprocess.run(
        [str(toolchain.binary("kubectl")), "--kubeconfig", str(cluster.kubeconfig), "run",
         "privileged-probe", "-n", namespace, "--image", "registry.invalid/probe:1",
         "--dry-run=server", "--overrides",
         '{"spec":{"containers":[{"name":"p","image":"registry.invalid/probe:1",'
         '"securityContext":{"privileged":true}}]}}'],
        capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "HOME": "/tmp"},
    )  # fmt: skip
    assert done.returncode != 0, done.stdout
    return done.stderr
