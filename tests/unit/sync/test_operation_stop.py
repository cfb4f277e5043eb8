"""Reading what ends an operation from hostile input, and the words an ended one records.

- the operation id a record carries (``operationState.operation.info``), written and
  read by one module (:mod:`gitward.sync.record`), and whether a record is in
  progress (Running or Terminating) without its lock: any JSON value is read
  without an error, and only a well-formed entry names an id;
- what the CLI's ``--timeout`` and a signal record, and the interrupt a sync watches.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gitward.appstate import lock
from gitward.sync import record, terminate
from gitward.sync.runner import Interrupt, interrupted_message, timeout_message

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def app_with(state: Any, operation: Any = None) -> dict[str, Any]:
    app: dict[str, Any] = {"metadata": {"name": "a"}, "status": {"operationState": state}}
    if operation is not None:
        app["operation"] = operation
    return app


@given(JSON)
def test_any_record_reads_as_an_id_or_none(state: Any) -> None:
    found = record.recorded_operation_id(app_with(state))
    assert isinstance(found, str)


@given(JSON, st.text(min_size=1, max_size=16))
def test_a_well_formed_record_names_its_id(other: Any, operation_id: str) -> None:
    info = [{"name": "x", "value": other}, {"name": lock.OPERATION_ID, "value": operation_id}]
    state = {"operation": {"info": info}}
    assert record.recorded_operation_id(app_with(state)) == operation_id


@given(JSON)
def test_an_id_that_is_not_a_string_names_none(value: Any) -> None:
    state = {"operation": {"info": [{"name": lock.OPERATION_ID, "value": value}]}}
    expected = value if isinstance(value, str) else ""
    assert record.recorded_operation_id(app_with(state)) == expected


@given(st.dictionaries(st.text(max_size=8), JSON, max_size=4), st.text(max_size=16))
def test_the_id_a_record_is_written_with_reads_back(operation: Any, operation_id: str) -> None:
    written = record.recorded_operation(operation, operation_id)
    assert record.operation_id_of(written) == operation_id
    assert record.without_info(written) == record.without_info(operation)


@given(JSON, st.text(min_size=1, max_size=16))
def test_a_record_is_the_locked_operations_when_it_names_the_locks_id(
    recorded: Any, operation_id: str
) -> None:
    app = {"operation": {"info": [{"name": lock.OPERATION_ID, "value": operation_id}]}}
    same = record.same_operation(recorded, app)
    assert same is (isinstance(recorded, dict) and record.operation_id_of(recorded) == operation_id)


@given(JSON, JSON)
def test_only_a_record_in_progress_without_a_lock_is_unlocked(state: Any, operation: Any) -> None:
    app = app_with(state, operation)
    phase = state.get("phase") if isinstance(state, dict) else None
    expected = phase in ("Running", "Terminating") and not operation
    assert terminate.unlocked(app) is expected


def test_a_record_in_progress_is_unlocked_until_a_lock_holds_it() -> None:
    terminating = {"phase": "Terminating", "message": lock.TERMINATING}
    running = {"phase": "Running", "message": "waiting for the hook"}
    retrying = {**running, "finishedAt": "2026-12-07T10:00:00Z", "nextRetryAt": "x"}
    for state in (terminating, running, retrying):
        assert terminate.unlocked(app_with(state))
        assert not terminate.unlocked(app_with(state, {"sync": {}}))
    for ended in ("Succeeded", "Failed", "Error"):
        assert not terminate.unlocked(app_with({**running, "phase": ended}))
    assert not terminate.unlocked({"metadata": {}, "status": "garbage"})


def test_the_timeout_and_a_signal_say_why_and_what_the_sync_was_doing() -> None:
    waiting = "waiting for PreSync wave 0 hook job.batch/never to complete"
    ended = timeout_message(30, waiting)
    assert ended.startswith(terminate.TERMINATED)
    assert "--timeout of 30 s" in ended
    assert ended.endswith(waiting)
    stopped = interrupted_message("SIGTERM", "")
    assert stopped.startswith(terminate.TERMINATED)
    assert "interrupted (SIGTERM)" in stopped
    assert stopped.endswith("it was running")


async def test_an_interrupt_keeps_its_first_reason_and_wakes_a_waiter() -> None:
    interrupt = Interrupt()
    waiter = asyncio.create_task(interrupt.event.wait())
    interrupt.set("SIGINT")
    interrupt.set("SIGTERM")
    await asyncio.wait_for(waiter, 5)
    assert interrupt.reason == "SIGINT"
