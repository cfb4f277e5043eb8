"""A status write that would change only health messages waits; any other change goes at once."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gitward.appstate.status import message_hold, now, stamp_at
from tests.unit.properties.strategies import json_values

EVERY = 5.0


def rolling(message: str, written_at: str | None = None) -> dict[str, Any]:
    """An app just synced, its Deployment rolling out, its status written at ``written_at``."""
    health = {"status": "Progressing", "message": message}
    return {
        "status": {
            "sync": {"status": "Synced", "revision": "abc"},
            "health": dict(health),
            "resources": [
                {"kind": "ConfigMap", "name": "c", "status": "Synced"},
                {"kind": "Deployment", "name": "web", "status": "Synced", "health": dict(health)},
            ],
            "reconciledAt": written_at or now(),
        }
    }


def fields_of(app: dict[str, Any]) -> dict[str, Any]:
    fields = copy.deepcopy(app["status"])
    fields["reconciledAt"] = now()
    return fields


def with_message(fields: dict[str, Any], message: str) -> dict[str, Any]:
    fields["health"]["message"] = message
    fields["resources"][1]["health"]["message"] = message
    return fields


def test_a_new_rollout_message_alone_waits_for_the_rest_of_the_interval() -> None:
    app = rolling("0 out of 1 new replicas have been updated")
    held = message_hold(app, with_message(fields_of(app), "0 of 1 updated replicas"), EVERY)
    assert 0 < held <= EVERY


def test_a_message_of_a_resource_alone_waits_too() -> None:
    app = rolling("waiting")
    fields = fields_of(app)
    fields["resources"][1]["health"]["message"] = "still waiting"
    assert message_hold(app, fields, EVERY) > 0


def test_any_other_change_goes_at_once() -> None:
    app = rolling("waiting")
    healthy = with_message(fields_of(app), "")
    healthy["health"] = {"status": "Healthy"}
    assert message_hold(app, healthy, EVERY) == 0  # the app's health status
    resource = fields_of(app)
    resource["resources"][1]["health"] = {"status": "Degraded", "message": "waiting"}
    assert message_hold(app, resource, EVERY) == 0  # a resource's health status
    drift = with_message(fields_of(app), "later")
    drift["sync"] = {"status": "OutOfSync", "revision": "abc"}
    assert message_hold(app, drift, EVERY) == 0  # and a message with it is not held
    condition = fields_of(app)
    condition["conditions"] = [{"type": "SyncError", "message": "x"}]
    assert message_hold(app, condition, EVERY) == 0
    gone = fields_of(app)
    gone["resources"] = gone["resources"][:1]
    assert message_hold(app, gone, EVERY) == 0


def test_nothing_waits_once_the_last_write_is_old_enough_or_when_switched_off() -> None:
    old = rolling("waiting", stamp_at(0))
    assert message_hold(old, with_message(fields_of(old), "later"), EVERY) == 0
    app = rolling("waiting")
    assert message_hold(app, with_message(fields_of(app), "later"), 0.0) == 0
    unreadable = rolling("waiting", "yesterday")
    assert message_hold(unreadable, with_message(fields_of(unreadable), "later"), EVERY) == 0


def test_an_app_with_no_status_yet_is_written_at_once() -> None:
    app = rolling("waiting")
    assert message_hold({}, fields_of(app), EVERY) == 0


recent_statuses = st.fixed_dictionaries(
    {"reconciledAt": st.builds(now)},
    optional={"health": json_values, "resources": json_values, "sync": json_values},
)


@given(
    st.one_of(json_values, recent_statuses),
    st.dictionaries(st.sampled_from(["health", "resources", "sync", "reconciledAt"]), json_values),
)
def test_any_status_and_fields_give_a_hold_within_the_interval(
    status: Any, fields: dict[str, Any]
) -> None:
    """The status is input (whoever may write it): reading it never fails."""
    held = message_hold({"status": status}, fields, EVERY)
    assert 0 <= held <= EVERY
