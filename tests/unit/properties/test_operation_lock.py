"""The lock (``operation.info``) is input: its readers answer for any content, never raise.

Whoever may write an Application may put anything in ``operation``; the API server's
schema only says it is an object. A reader that raised would stop every reconcile of
that app, so each reader answers for any content instead.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gitward.appstate import lock
from tests.unit.properties.strategies import json_values

info_items = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"name": st.sampled_from([lock.HOLDER, lock.HEARTBEAT, lock.OPERATION_ID, "x"])},
        optional={"value": json_values},
    ),
)
operations = st.one_of(
    json_values,
    st.fixed_dictionaries({}, optional={"info": st.one_of(json_values, st.lists(info_items))}),
)


@given(operations)
def test_the_lock_readers_answer_for_any_operation(operation: Any) -> None:
    app = {"metadata": {"name": "a"}, "operation": operation}
    assert isinstance(lock.holder_of(app), str)
    assert isinstance(lock.operation_id(app), str)
    assert isinstance(lock.requested(app), bool)
    assert isinstance(lock.held(app), bool)
    assert isinstance(lock.interrupted(app, "controller@host/1"), str)
    assert isinstance(lock.resumable(app, "controller@host/1"), bool)


def test_an_info_item_that_is_not_an_object_names_nothing() -> None:
    app = {"operation": {"info": ["x", 3, None, {"name": lock.HOLDER, "value": "cli@h/1"}]}}
    assert lock.holder_of(app) == "cli@h/1"
    assert lock.operation_id({"operation": {"info": ["x"]}}) == ""
