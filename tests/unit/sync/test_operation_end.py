"""How an operation that would run for ever ends, and how a hook is never made twice.

- hook names and owners (:mod:`gitward.sync.hooks`): a ``generateName`` hook gets
  the same name in every process that takes the same step, another name in
  another attempt or operation, and always a name the API server accepts;
- the sync timeout (:mod:`gitward.sync.terminate`): read from
  ``argocd-cmd-params-cm`` strictly, measured from ``startedAt``, and the
  message names what the operation was waiting for;
- SyncFail hooks are bounded by the age the API server gives them.
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.appstate.settings import MAX_SYNC_TIMEOUT, SYNC_TIMEOUT_KEY, parse_sync_timeout
from gitward.appstate.status import stamp_at
from gitward.model.errors import ConfigError
from gitward.model.phases import OperationPhase
from gitward.sync import hooks, terminate
from gitward.sync.execute import overdue
from gitward.sync.machine import advance
from tests.unit.sync.test_machine import FULL, FakeExecutor, cm, hook, plan, saved

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
PREFIXES = st.from_regex(r"[a-z][-a-z0-9]{0,80}-", fullmatch=True)
TOKENS = st.builds(
    hooks.owner_token,
    st.from_regex(r"[0-9a-f]{16}", fullmatch=True),
    st.integers(0, 10),
    st.sampled_from(["PreSync", "Sync", "PostSync", "SyncFail"]),
    st.integers(-5, 5),
)


@given(PREFIXES, TOKENS, st.text(max_size=40))
def test_a_derived_name_is_stable_short_and_a_valid_name(
    prefix: str, token: str, identity: str
) -> None:
    name = hooks.derived_name(prefix, token, identity)
    assert name == hooks.derived_name(prefix, token, identity), "the same in every process"
    assert len(name) <= hooks.MAX_NAME
    assert name.startswith(prefix[: hooks.MAX_NAME - hooks.SUFFIX])
    assert DNS_LABEL.fullmatch(name), name


@given(PREFIXES, TOKENS, TOKENS)
def test_another_attempt_or_operation_gets_another_name(prefix: str, one: str, two: str) -> None:
    if one != two:
        assert hooks.derived_name(prefix, one, "x") != hooks.derived_name(prefix, two, "x")


def test_two_hooks_of_one_wave_get_two_names() -> None:
    token = hooks.owner_token("0123456789abcdef", 0, "PreSync", 0)
    job = hooks.derived_name("migrate-", token, "batch/Job/ns")
    pod = hooks.derived_name("migrate-", token, "/Pod/ns")
    assert job != pod


def test_a_marked_hook_names_its_attempt_and_loses_generate_name() -> None:
    doc = {"kind": "Job", "metadata": {"generateName": "m-", "annotations": {"a": "b"}}}
    out = hooks.marked(doc, "id.0.PreSync.0", "m-0123456789")
    assert out["metadata"] == {
        "name": "m-0123456789",
        "annotations": {"a": "b", hooks.OWNER: "id.0.PreSync.0"},
    }
    assert doc["metadata"] == {"generateName": "m-", "annotations": {"a": "b"}}, "not changed"


@pytest.mark.parametrize(
    ("annotations", "operation_id", "ours"),
    [
        ({hooks.OWNER: "abc.0.PreSync.0"}, "abc", True),
        ({hooks.OWNER: "abc.2.SyncFail.1"}, "abc", True),
        ({hooks.OWNER: "abcd.0.PreSync.0"}, "abc", False),  # another operation's prefix
        ({hooks.OWNER: "abc.0.PreSync.0"}, "", False),  # an operation without an id
        ({}, "abc", False),
        ({hooks.OWNER: 7}, "abc", False),  # hostile: not a string
        (None, "abc", False),
    ],
)
def test_only_hooks_of_this_operation_belong_to_it(
    annotations: object, operation_id: str, ours: bool
) -> None:
    live = {"metadata": {"annotations": annotations}}
    assert hooks.belongs_to_operation(live, operation_id) is ours


@given(st.integers(0, MAX_SYNC_TIMEOUT))
def test_a_whole_number_of_seconds_is_the_timeout(seconds: int) -> None:
    assert parse_sync_timeout(f" {seconds} ", "k") == float(seconds)


@given(st.text(max_size=12))
def test_anything_else_is_an_error_naming_the_key(raw: str) -> None:
    text = raw.strip()
    if not text or (text.isascii() and text.isdigit() and int(text) <= MAX_SYNC_TIMEOUT):
        return
    with pytest.raises(ConfigError, match=re.escape(SYNC_TIMEOUT_KEY)):
        parse_sync_timeout(raw, f"argocd-cmd-params-cm {SYNC_TIMEOUT_KEY}")


def test_blank_is_no_timeout_as_in_argo_cd() -> None:
    assert parse_sync_timeout("", "k") == 0.0
    assert parse_sync_timeout("0", "k") == 0.0


def test_the_timeout_counts_from_started_at() -> None:
    started = stamp_at(time.time() - 100)
    assert terminate.timed_out(60, started)
    assert not terminate.timed_out(600, started)
    assert not terminate.timed_out(0, started), "0: never"
    assert not terminate.timed_out(60, ""), "an operation not started yet"
    left = terminate.remaining(600, started)
    assert left is not None
    assert 495 <= left <= 501
    assert terminate.remaining(60, started) == 0.0
    assert terminate.remaining(0, started) is None


async def test_a_timed_out_message_names_the_timeout_and_the_hook_waited_for() -> None:
    tasks = plan(FULL, [saved("pre", "PreSync", hookPhase="Running")])
    step = await advance(tasks, FakeExecutor(), dry_run=False)
    assert step.phase is OperationPhase.RUNNING
    message = terminate.timeout_message(300, step.message)
    assert message.startswith("Operation terminated")
    assert "300 s" in message
    assert SYNC_TIMEOUT_KEY in message
    assert "PreSync wave 0 hook job.batch/pre" in message


async def test_a_wave_waiting_to_be_healthy_names_its_resource_and_the_wave_after() -> None:
    done = [
        saved("pre", "PreSync", hookPhase="Succeeded", status="Synced"),
        saved("a", status="Synced"),
        saved("b", status="Synced"),
    ]
    tasks = plan(FULL, done)
    step = await advance(tasks, FakeExecutor(unhealthy={"a"}), dry_run=False)
    assert step.message == "waiting for a (before Sync wave 1)"


@pytest.mark.parametrize(
    ("age", "limit", "expected"),
    [(130, 120, True), (10, 120, False), (130, 0, False)],
)
def test_a_sync_fail_hook_is_overdue_by_the_age_the_server_gives_it(
    age: float, limit: float, expected: bool
) -> None:
    tasks = plan([cm("x"), hook("onfail", "SyncFail")], [])
    task = next(t for t in tasks if t.key.name == "onfail")
    live = {"metadata": {"creationTimestamp": stamp_at(time.time() - age)}}
    assert overdue(task, live, limit) is expected


def test_only_sync_fail_hooks_have_that_limit() -> None:
    tasks = plan(FULL, [])
    pre = next(t for t in tasks if t.key.name == "pre")
    live = {"metadata": {"creationTimestamp": stamp_at(time.time() - 10_000)}}
    assert not overdue(pre, live, 120), "a PreSync hook is bounded by the sync timeout alone"
