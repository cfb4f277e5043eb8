"""The three-way patch of client-side apply: set what is new, drop what was removed."""

from __future__ import annotations

import json

from gitward.sync.client_apply import LAST_APPLIED, three_way_patch, with_last_applied


def test_changes_are_set_and_dropped_fields_deleted() -> None:
    last = {"metadata": {"labels": {"a": "1", "b": "2"}}, "data": {"x": "1"}}
    new = {"metadata": {"labels": {"a": "1"}}, "data": {"x": "2"}}
    live = {"metadata": {"labels": {"a": "1", "b": "2", "other": "kept"}}, "data": {"x": "1"}}
    assert three_way_patch(last, new, live) == {
        "metadata": {"labels": {"b": None}},
        "data": {"x": "2"},
    }


def test_unchanged_object_needs_no_patch() -> None:
    obj = {"data": {"x": "1"}, "spec": {"list": [1, 2]}}
    assert three_way_patch(obj, obj, {**obj, "status": {"ready": True}}) == {}


def test_last_applied_records_the_config_without_itself() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
    stamped = with_last_applied(obj)
    recorded = json.loads(stamped["metadata"]["annotations"][LAST_APPLIED])
    assert recorded == obj
    again = with_last_applied(stamped)
    assert json.loads(again["metadata"]["annotations"][LAST_APPLIED]) == obj
