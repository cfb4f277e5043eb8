"""The status layout: reading ``status.gitwardLayout`` from hostile input, and the
migration steps run from any older layout up to the current one."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.appstate.layout import (
    LAYOUT,
    LAYOUT_FIELD,
    MAX_LAYOUT,
    STEPS,
    UNNUMBERED,
    LayoutError,
    layout_to_write,
    stored_layout,
    upgrade,
)
from gitward.appstate.status import replace_status_ops
from gitward.model.errors import GitwardError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=10,
)


def test_a_status_without_a_layout_is_layout_1_and_is_stamped() -> None:
    status = {"sync": {"status": "Synced"}, "history": [{"id": 0, "revision": "a"}]}
    assert stored_layout(status) == 1
    assert upgrade(status) == {LAYOUT_FIELD: LAYOUT}  # nothing moved from 1 to 2


def test_the_current_and_newer_layouts_are_left_alone() -> None:
    assert upgrade({LAYOUT_FIELD: LAYOUT, "sync": {}}) is None
    assert upgrade({LAYOUT_FIELD: LAYOUT + 5, "sync": {}}) is None
    assert layout_to_write({LAYOUT_FIELD: LAYOUT + 5}) == LAYOUT + 5  # no downgrade stamp
    assert upgrade(None) is None
    assert upgrade({}) is None


@pytest.mark.parametrize("value", ["2", 2.0, True, None, [2], {"v": 2}, 0, -1, MAX_LAYOUT + 1])
def test_a_layout_no_release_writes_is_refused_naming_the_field(value: Any) -> None:
    with pytest.raises(LayoutError, match=f"status.{LAYOUT_FIELD}"):
        stored_layout({LAYOUT_FIELD: value})
    assert layout_to_write({LAYOUT_FIELD: value}) == LAYOUT


def test_steps_run_in_order_and_moved_fields_are_written() -> None:
    """A field that moves (layout 2 -> 3) and one that is dropped (3 -> 4)."""

    def two_to_three(status: dict[str, Any]) -> dict[str, Any]:
        status["operationState"] = {**status["operationState"], "steps": status.pop("gwSteps")}
        return status

    def three_to_four(status: dict[str, Any]) -> dict[str, Any]:
        status.pop("legacy", None)
        return status

    steps = {1: lambda s: s, 2: two_to_three, 3: three_to_four}
    old = {"operationState": {"phase": "Running"}, "gwSteps": [1, 2], "legacy": "x", "sync": {}}
    changed = upgrade(old, current=4, steps=steps)
    assert changed == {
        "operationState": {"phase": "Running", "steps": [1, 2]},
        "gwSteps": None,
        "legacy": None,
        LAYOUT_FIELD: 4,
    }
    assert old["gwSteps"] == [1, 2]  # the read object is not changed
    ops = replace_status_ops({"status": old}, changed)
    assert {"op": "remove", "path": "/status/gwSteps"} in ops
    with pytest.raises(LayoutError, match="no migration from layout 2"):
        upgrade(old, current=4, steps={1: lambda s: s})


@given(st.dictionaries(st.text(max_size=12), json_values, max_size=6), json_values)
def test_any_stored_status_reads_as_a_layout_or_a_layout_error(
    status: dict[str, Any], layout: Any
) -> None:
    status[LAYOUT_FIELD] = layout
    refused: GitwardError | None = None
    try:
        found = stored_layout(status)
    except GitwardError as exc:
        refused = exc
    if refused is None:
        assert isinstance(found, int)
        assert 1 <= found <= MAX_LAYOUT
    else:
        assert isinstance(refused, LayoutError)
        assert f"status.{LAYOUT_FIELD}" in str(refused)
    changed = upgrade(status)
    assert changed is None or changed[LAYOUT_FIELD] == LAYOUT
    assert layout_to_write(status) >= LAYOUT


@given(json_values)
def test_anything_in_place_of_a_status_is_survived(status: Any) -> None:
    changed = upgrade(status)
    assert changed is None or changed[LAYOUT_FIELD] == LAYOUT
    assert layout_to_write(status) >= LAYOUT


def test_every_older_layout_has_its_step() -> None:
    """Raising LAYOUT without a step would make every status write of an old app fail."""
    assert set(STEPS) == set(range(UNNUMBERED, LAYOUT))
