"""Rollback picks a history entry and syncs exactly it; wait knows when it is done."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.appstate.wait import WaitFor
from gitward.model.errors import ConfigError
from gitward.sync.rollback import rollback_entry, rollback_request


def app(history: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": {"name": "web"}, "status": {"history": history}}


HISTORY = [{"id": 0, "revision": "a"}, {"id": 1, "revision": "b"}, {"id": 2, "revision": "c"}]


def test_the_previous_entry_or_the_one_named() -> None:
    assert rollback_entry(app(HISTORY), None)["revision"] == "b"
    assert rollback_entry(app(HISTORY), 0)["revision"] == "a"


@pytest.mark.parametrize(
    ("history", "wanted", "message"),
    [
        ([], None, "application 'web' has no history to roll back to"),
        (HISTORY[:1], None, "application 'web' has only one history entry"),
        (HISTORY, 7, r"application 'web' has no history ID 7 \(IDs: 0, 1, 2\)"),
    ],
)
def test_refusals(history: list[dict[str, Any]], wanted: int | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        rollback_entry(app(history), wanted)


def test_the_request_syncs_what_the_entry_deployed() -> None:
    single = rollback_request({"revision": "abc"}, prune=True)
    assert (single.revision, single.revisions, single.prune) == ("abc", None, True)
    multi = rollback_request({"revision": "x", "revisions": ["a", "b"]}, prune=False)
    assert (multi.revision, multi.revisions) == (None, ("a", "b"))


def status(sync: str, health: str, operation: bool = False) -> dict[str, Any]:
    obj: dict[str, Any] = {"status": {"sync": {"status": sync}, "health": {"status": health}}}
    if operation:
        obj["operation"] = {"sync": {}}
    return obj


def test_wait_defaults_to_synced_and_healthy() -> None:
    both = WaitFor()
    assert both.satisfied(status("Synced", "Healthy"))
    assert not both.satisfied(status("Synced", "Progressing"))
    assert WaitFor(sync=True).satisfied(status("Synced", "Progressing"))
    assert WaitFor(health=True).satisfied(status("OutOfSync", "Healthy"))
    only_op = WaitFor(operation=True)
    assert only_op.satisfied(status("OutOfSync", "Degraded"))
    assert not only_op.satisfied(status("Synced", "Healthy", operation=True))
