"""RollingSync: apps move Waiting -> Pending -> Progressing -> Healthy, one step after another."""

from __future__ import annotations

from typing import Any

from gitward.appset.rollout import apply_to_apps, progress
from gitward.appset.template import Desired
from tests.unit.appset.support import appset

Obj = dict[str, Any]

STEPS = {
    "type": "RollingSync",
    "rollingSync": {
        "steps": [
            {"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}]},
            {
                "matchExpressions": [{"key": "env", "operator": "In", "values": ["qa"]}],
                "maxUpdate": 1,
            },
            {
                "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}],
                "maxUpdate": "50%",
            },
        ]
    },
}


def desired(name: str, env: str) -> Desired:
    app = {
        "metadata": {"name": name, "labels": {"env": env}},
        "spec": {
            "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]}
        },
    }
    return Desired(app, {}, "g")


def state(sync: str, health: str, phase: str = "", revision: str = "r1") -> Obj:
    status: Obj = {"sync": {"status": sync, "revision": revision}, "health": {"status": health}}
    if phase:
        status["operationState"] = {"phase": phase, "syncResult": {"revision": revision}}
    return {"metadata": {}, "status": status}


APPS = [("d1", "dev"), ("q1", "qa"), ("q2", "qa"), ("p1", "prod"), ("p2", "prod")]


def run(current: dict[str, Obj], previous: list[Obj]) -> tuple[dict[str, str], set[str], list[Obj]]:
    spec = appset({"generators": [{"list": {}}], "strategy": STEPS})
    items = [desired(n, e) for n, e in APPS]
    result = progress(spec, items, current, previous, "2026-01-01T00:00:00Z")
    apply_to_apps(items, current, result)
    synced = {i.name for i in items if "operation" in i.app}
    for item in items:
        assert "automated" not in item.app["spec"]["syncPolicy"]  # the set syncs, not the app
    return {s["application"]: s["status"] for s in result.statuses}, synced, result.statuses


def test_steps_go_in_order_each_after_the_previous_is_healthy() -> None:
    current = {n: state("OutOfSync", "Missing") for n, _ in APPS}
    statuses, synced, previous = run(current, [])
    assert statuses == dict.fromkeys(statuses, "Waiting") | {"d1": "Pending"}
    statuses, synced, previous = run(current, previous)
    assert synced == {"d1"}  # only the first step may sync
    current["d1"] = state("Synced", "Progressing", "Running")
    statuses, synced, previous = run(current, previous)
    assert statuses["d1"] == "Progressing"
    assert statuses["q1"] == "Waiting"
    current["d1"] = state("Synced", "Healthy", "Succeeded")
    statuses, synced, previous = run(current, previous)
    assert statuses["d1"] == "Healthy"
    assert statuses["q1"] == "Pending"
    assert statuses["q2"] == "Waiting"
    statuses, synced, previous = run(current, previous)
    assert synced == {"q1"}  # qa has maxUpdate 1
    current["q1"] = state("Synced", "Healthy", "Succeeded")
    for _ in range(3):
        statuses, synced, previous = run(current, previous)
    assert statuses["q1"] == "Healthy"
    assert statuses["q2"] == "Pending"
    assert statuses["p1"] == "Waiting"
    assert statuses["p2"] == "Waiting"
    current["q2"] = state("Synced", "Healthy", "Succeeded")
    for _ in range(3):
        statuses, synced, previous = run(current, previous)
    assert statuses["p1"] == "Pending"
    assert statuses["p2"] == "Waiting"


def test_the_requested_sync_carries_the_apps_prune_and_options() -> None:
    spec = appset({"generators": [{"list": {}}], "strategy": STEPS})
    items = [desired("d1", "dev")]
    current = {"d1": state("OutOfSync", "Missing")}
    previous = [{"application": "d1", "status": "Pending", "step": "1", "targetRevisions": ["r1"]}]
    apply_to_apps(items, current, progress(spec, items, current, previous, "t"))
    operation = items[0].app["operation"]
    assert operation["initiatedBy"] == {"username": "applicationset-controller", "automated": True}
    assert operation["sync"] == {"prune": True, "syncOptions": ["CreateNamespace=true"]}
