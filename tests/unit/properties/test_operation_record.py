"""``status.operationState`` is input too: reading it never fails but with a named field.

Anyone who may write an Application's status may have put anything there; a
controller resuming the operation must either read it or refuse it with an
:class:`InvalidRecord` naming the field, never crash. And what a step writes,
the next step reads back to the same results.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gitward.controller import reconciler
from gitward.model.phases import HookPhase, ResultCode, SyncPhase
from gitward.sync.record import InvalidRecord, overlay, read_state
from tests.unit.properties.strategies import json_values, maybe
from tests.unit.sync.test_machine import FULL, plan

result_entries = st.fixed_dictionaries(
    {},
    optional={
        "group": maybe(st.sampled_from(["", "batch", "apps"])),
        "kind": maybe(st.sampled_from(["ConfigMap", "Job"])),
        "namespace": maybe(st.just("ns")),
        "name": maybe(st.sampled_from(["a", "b", "pre", "late"])),
        "syncPhase": maybe(st.sampled_from([p.value for p in SyncPhase])),
        "syncWave": maybe(st.integers(-3, 3)),
        "status": maybe(st.sampled_from(["", "Pending", *(c.value for c in ResultCode)])),
        "hookPhase": maybe(st.sampled_from(["", *(p.value for p in HookPhase)])),
        "hookType": maybe(st.sampled_from(["", "PreSync", "PostSync"])),
        "message": maybe(st.text(max_size=20)),
    },
)

records = st.fixed_dictionaries(
    {},
    optional={
        "phase": maybe(st.sampled_from(["Running", "Failed", "Succeeded", "Error"])),
        "message": maybe(st.text(max_size=20)),
        "startedAt": maybe(st.just("2026-01-01T00:00:00Z")),
        "finishedAt": maybe(st.just("2026-01-01T00:00:05Z")),
        "nextRetryAt": maybe(st.just("2026-01-01T00:01:00Z")),
        "retryCount": maybe(st.integers(0, 5)),
        "syncResult": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "revision": maybe(st.text(max_size=8)),
                    "revisions": maybe(st.lists(st.text(max_size=4), max_size=2)),
                    "resources": maybe(st.lists(maybe(result_entries), max_size=5)),
                },
            )
        ),
    },
)


@given(st.one_of(records, json_values))
def test_a_record_is_read_or_refused_naming_the_field(state: Any) -> None:
    app = {"status": {"operationState": state}}
    try:
        found = read_state(app)
    except InvalidRecord as exc:
        refused = str(exc)
    else:
        refused = ""
    if refused:
        assert refused.startswith("status.operationState"), refused
        return
    tasks = plan(FULL, [])
    carried = overlay(tasks, found.resources)  # any readable record can be overlaid
    assert all(isinstance(entry, dict) for entry in carried)


@given(st.lists(st.sampled_from(list(ResultCode)), min_size=5, max_size=5))
def test_what_a_step_writes_the_next_step_reads_back(codes: list[ResultCode]) -> None:
    tasks = plan(FULL, [])
    for task, code in zip(tasks, codes, strict=True):
        task.status = code
        if task.action == "hook":
            task.hook_phase = HookPhase.SUCCEEDED if code is ResultCode.SYNCED else HookPhase.FAILED
    results = [t.as_result() for t in tasks]
    again = plan(FULL, results)
    assert [(t.key, t.status, t.hook_phase) for t in again] == [
        (t.key, t.status, t.hook_phase) for t in tasks
    ]


source_values = st.one_of(
    json_values, st.fixed_dictionaries({"repoURL": st.just("https://git.example/a.git")})
)
statuses = st.one_of(
    json_values,
    st.fixed_dictionaries({}, optional={"operationState": st.one_of(records, json_values)}),
    st.fixed_dictionaries(
        {
            "operationState": st.fixed_dictionaries(
                {"phase": st.sampled_from(["Succeeded", "Failed", "Error"])},
                optional={
                    "message": maybe(st.text(max_size=20)),
                    "syncResult": st.one_of(
                        json_values,
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "revision": json_values,
                                "source": source_values,
                                "sources": source_values,
                            },
                        ),
                    ),
                },
            )
        }
    ),
)


@given(
    statuses, st.one_of(json_values, st.fixed_dictionaries({}, optional={"source": source_values}))
)
def test_the_automated_sync_readers_answer_for_any_status(status: Any, spec: Any) -> None:
    """What holds or starts an automated sync reads the record without trusting it."""
    app = {"metadata": {"name": "a"}, "spec": spec, "status": status}
    state = reconciler._state(app)
    assert isinstance(reconciler.failed_attempt(state, app, "abc1234"), str)
    assert isinstance(reconciler._synced_revision(state), str)
    assert isinstance(reconciler._source_changed(state, app), bool)


def test_an_unreadable_record_syncs_nothing_as_done() -> None:
    """A record the reader refuses is no proof that any revision was synced."""
    spec = {"source": {"repoURL": "https://git.example/a.git"}}
    good = {"phase": "Succeeded", "syncResult": {"revision": "abc1234", "source": spec["source"]}}
    app = {"spec": spec, "status": {"operationState": good}}
    assert reconciler._synced_revision(reconciler._state(app)) == "abc1234"
    assert not reconciler._source_changed(reconciler._state(app), app)
    bad = {**good, "syncResult": {**good["syncResult"], "resources": "not a list"}}
    app = {"spec": spec, "status": {"operationState": bad}}
    assert reconciler._synced_revision(reconciler._state(app)) == ""
    app = {"spec": spec, "status": {"operationState": {**good, "syncResult": ["x"]}}}
    assert reconciler._synced_revision(reconciler._state(app)) == ""
    assert not reconciler._source_changed(reconciler._state(app), app)
