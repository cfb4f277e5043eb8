"""The controller's Events, written in the background behind its work, on a real API server."""

from __future__ import annotations

from typing import Any

from gitward._util.quiet import QuietGate
from gitward.appstate.events import EventWriter
from gitward.cluster import KubeClient
from tests.support.apps import unique
from tests.support.poll import eventually


def _app(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd", "uid": "0" * 8},
    }


async def _reasons(kube: KubeClient, name: str) -> list[str]:
    found = await kube.list("v1", "Event", "argocd", field_selector=f"involvedObject.name={name}")
    return [e["reason"] for e in sorted(found, key=lambda e: int(e["metadata"]["resourceVersion"]))]


async def test_events_wait_for_the_work_then_are_written_in_order(installed: KubeClient) -> None:
    name = unique("events")
    work = {"busy": True}
    writer = EventWriter(installed, QuietGate(lambda: work["busy"], longest=60.0, poll=0.02))
    for n in range(3):
        writer.emit(_app(name), f"Step{n}", f"step {n} of {name}")
    # While the queue has work, nothing is written (the list is the API server's answer).
    assert await _reasons(installed, name) == []
    work["busy"] = False

    async def written() -> list[str] | None:
        reasons = await _reasons(installed, name)
        return reasons if len(reasons) == 3 else None

    assert await eventually(written, "the three Events written") == ["Step0", "Step1", "Step2"]


async def test_at_most_limit_events_wait_and_flush_writes_them_without_the_gate(
    installed: KubeClient,
) -> None:
    name = unique("events-full")
    writer = EventWriter(installed, QuietGate(lambda: True, longest=600.0), limit=2)
    for n in range(3):
        writer.emit(_app(name), f"Step{n}", "m")
    assert writer.dropped == 1
    await writer.flush()  # at shutdown: no waiting for a quiet moment
    assert sorted(await _reasons(installed, name)) == ["Step1", "Step2"]
