"""What the recorder makes of an Application's status: pure, idempotent, restart-proof."""

from __future__ import annotations

from typing import Any

from gitward.dora.recorder import Facts, Finished, apply, facts_of
from gitward.dora.records import Record
from gitward.source import CommitInfo

T0 = 1_700_000_000.0
A, B = "a" * 40, "b" * 40


def app(phase: str, finished: str, revision: str, sync: str, health: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "argocd"},
        "status": {
            "sync": {"status": sync, "revision": revision},
            "health": {"status": health},
            "operationState": {
                "phase": phase,
                "finishedAt": finished,
                "syncResult": {"revision": revision},
            },
        },
    }


def test_facts_read_the_finished_operation_and_the_current_state() -> None:
    facts = facts_of(app("Succeeded", "2023-11-14T22:13:20Z", A, "Synced", "Healthy"))
    assert facts == Facts(Finished(A, T0, False), A, True, "Healthy")
    running = facts_of(app("Running", "", A, "OutOfSync", "Progressing"))
    assert running.finished is None
    assert facts_of({"status": {"operationState": "nonsense", "sync": []}}).finished is None


def test_a_deployment_is_recorded_once_with_its_lead_time_from_the_commit() -> None:
    record = Record()
    commit = CommitInfo(A, int(T0 - 600), int(T0 - 900), "dev <dev@example.com>")
    synced = Facts(Finished(A, T0, False), A, True, "Progressing")
    assert apply(record, synced, commit, T0 + 1, 3600) == [("deployment", 0.0)]
    assert record.deployments[0].committed_at == T0 - 600
    assert record.deployments[0].authored_at == T0 - 900
    # The same operation seen again (the next event, a restart): nothing new.
    assert apply(record, synced, commit, T0 + 2, 3600) == []
    healthy = Facts(Finished(A, T0, False), A, True, "Healthy")
    assert apply(record, healthy, commit, T0 + 30, 3600) == [("lead_time", 630.0)]
    assert apply(record, healthy, commit, T0 + 60, 3600) == []
    # A self-heal of the same revision is not a new deployment.
    assert apply(record, Facts(Finished(A, T0 + 90, False), A, True, "Healthy"), commit,
                 T0 + 91, 3600) == []  # fmt: skip
    assert len(record.deployments) == 1


def test_failures_degradations_and_restores() -> None:
    record = Record()
    ok = Facts(Finished(A, T0, False), A, True, "Healthy")
    apply(record, ok, None, T0 + 1, 3600)
    degraded = Facts(Finished(A, T0, False), A, True, "Degraded")
    assert apply(record, degraded, None, T0 + 100, 3600) == [("change_failure", 0.0)]
    assert apply(record, degraded, None, T0 + 200, 3600) == []
    assert apply(record, ok, None, T0 + 400, 3600) == [("restore", 300.0)]
    # Degraded again, after the same deployment: an incident, but the deployment already
    # counted as one failed change.
    assert apply(record, degraded, None, T0 + 500, 3600) == []
    failed = Facts(Finished(B, T0 + 600, True), A, False, "Degraded")
    assert apply(record, failed, None, T0 + 601, 3600) == [
        ("failed_deployment", 0.0),
        ("change_failure", 0.0),
    ]
    assert apply(record, failed, None, T0 + 700, 3600) == []  # seen again: once only
    retried = Facts(Finished(B, T0 + 800, True), A, False, "Degraded")
    assert apply(record, retried, None, T0 + 801, 3600) == []  # the same revision failing again
    fixed = Facts(Finished(B, T0 + 900, False), B, True, "Healthy")
    assert apply(record, fixed, None, T0 + 901, 3600) == [("deployment", 0.0), ("restore", 401.0)]


def test_a_sync_seen_late_ends_its_lead_time_at_the_sync() -> None:
    record = Record()
    commit = CommitInfo(A, int(T0 - 60), int(T0 - 60), "")
    late = Facts(Finished(A, T0, False), A, True, "Healthy")
    assert apply(record, late, commit, T0 + 3600, 3600) == [
        ("deployment", 0.0),
        ("lead_time", 60.0),
    ]
    assert record.deployments[0].healthy_at == T0
