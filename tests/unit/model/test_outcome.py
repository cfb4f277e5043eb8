"""One reader of an operation's phase and message, for hostile input: a record anyone
with write access to the status may have edited, or the answer of any server."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gitward.model.outcome import Outcome, read_outcome, recorded_outcome
from gitward.model.phases import OperationPhase

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
PHASE_LIKE = st.sampled_from([p.value for p in OperationPhase]) | JSON


@given(JSON)
def test_any_value_reads_as_a_phase_or_none_and_a_message(found: Any) -> None:
    for outcome in (read_outcome(found), recorded_outcome(found)):
        assert outcome.phase is None or isinstance(outcome.phase, OperationPhase)
        assert isinstance(outcome.message, str)


@given(PHASE_LIKE, JSON, JSON)
def test_a_record_reads_as_its_phase_and_message(phase: Any, message: Any, other: Any) -> None:
    state = {"phase": phase, "message": message, "other": other}
    outcome = recorded_outcome({"status": {"operationState": state}})
    assert outcome == read_outcome(state)
    known = isinstance(phase, str) and phase in {p.value for p in OperationPhase}
    assert outcome.phase == (OperationPhase(phase) if known else None)
    assert outcome.message == (message if isinstance(message, str) else "")
    assert outcome.in_progress == (known and phase in ("Running", "Terminating"))


def test_the_phases_are_typed_and_the_rest_is_unknown() -> None:
    terminating = read_outcome({"phase": "Terminating", "message": "operation is terminating"})
    assert terminating == Outcome(OperationPhase.TERMINATING, "operation is terminating")
    assert terminating.phase is OperationPhase.TERMINATING
    assert terminating.in_progress
    failed = recorded_outcome({"status": {"operationState": {"phase": "Failed", "message": "x"}}})
    assert failed == Outcome(OperationPhase.FAILED, "x")
    assert not failed.in_progress
    assert read_outcome({}) == Outcome()
    assert read_outcome({"phase": 3, "message": ["x"]}) == Outcome()
    assert read_outcome({"phase": "running"}) == Outcome(), "Argo CD's spelling only"
    assert recorded_outcome({"status": "garbage"}) == Outcome()
