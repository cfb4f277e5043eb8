"""FailOnSharedResource and RespectIgnoreDifferences as pure rules over plain objects."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.appstate import respect_ignore
from gitward.diff import parse_rules
from gitward.model.application import parse_application
from gitward.model.errors import ConfigError
from gitward.model.tracking import TrackingMethod, with_tracking
from gitward.sync import shared

Obj = dict[str, Any]


def cm(name: str, **data: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "ns"},
        "data": data,
    }


def test_a_live_object_another_app_tracks_is_shared() -> None:
    desired = with_tracking(cm("x"), "mine", TrackingMethod.ANNOTATION)
    theirs = with_tracking(cm("x"), "theirs", TrackingMethod.ANNOTATION)
    assert shared.other_owner(desired, theirs) == "theirs"
    ours = with_tracking(cm("x"), "mine", TrackingMethod.ANNOTATION)
    assert shared.other_owner(desired, ours) is None
    assert shared.other_owner(desired, cm("x")) is None  # untracked: not shared
    assert shared.other_owner(desired, None) is None
    with pytest.raises(shared.SharedResourceFound, match="ConfigMap/x is part of applications"):
        shared.check("mine", [(desired, theirs)])
    shared.check("mine", [(desired, cm("x"))])


def test_under_annotation_tracking_an_instance_label_is_not_an_owner() -> None:
    desired = with_tracking(cm("x"), "mine", TrackingMethod.ANNOTATION)
    helm_labelled = with_tracking(cm("x"), "release", TrackingMethod.LABEL)
    assert shared.other_owner(desired, helm_labelled) is None
    by_label = with_tracking(cm("x"), "mine", TrackingMethod.LABEL)
    assert shared.other_owner(by_label, helm_labelled) == "release"


def test_the_option_is_read_from_app_level_options() -> None:
    assert shared.enabled({"FailOnSharedResource": "true"})
    assert not shared.enabled({"FailOnSharedResource": "false"})
    assert not shared.enabled({})


def keep(desired: Obj, live: Obj, entries: list[Obj]) -> Obj:
    return asyncio.run(respect_ignore.keep_live_ignored(desired, live, parse_rules(entries)))


def test_pointer_fields_take_live_values_and_server_metadata_stays_out() -> None:
    live = cm("x", tuned="hand", version="1")
    live["metadata"].update(resourceVersion="7", uid="u", managedFields=[{"manager": "m"}])
    live["status"] = {"x": 1}
    rule = {"group": "", "kind": "ConfigMap", "jsonPointers": ["/data/tuned"]}
    out = keep(cm("x", tuned="git", version="2"), live, [rule])
    assert out == cm("x", tuned="hand", version="2")


def test_an_ignored_field_absent_live_is_left_out() -> None:
    rule = {"group": "", "kind": "ConfigMap", "jsonPointers": ["/data/tuned"]}
    assert keep(cm("x", tuned="git", v="2"), cm("x", v="1"), [rule]) == cm("x", v="2")


def test_a_list_the_rules_touch_is_taken_whole_from_live() -> None:
    desired: Obj = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "x"},
                    "spec": {"items": [{"a": 1, "b": 1}]}}  # fmt: skip
    live: Obj = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "x"},
                 "spec": {"items": [{"a": 9, "b": 9}]}}  # fmt: skip
    rule = {"group": "", "kind": "X", "jsonPointers": ["/spec/items/0/a"]}
    assert keep(desired, live, [rule])["spec"]["items"] == [{"a": 9, "b": 9}]


def test_the_option_comes_from_the_spec_or_the_annotation() -> None:
    app = parse_application(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "a"},
            "spec": {
                "source": {"repoURL": "file:///r", "path": "p"},
                "destination": {"name": "in-cluster"},
                "syncPolicy": {"syncOptions": ["RespectIgnoreDifferences=true"]},
            },
        },
        "test",
    )
    own = respect_ignore.spec_options(app)
    assert respect_ignore.wanted(own, cm("x"))
    annotated = cm("x")
    annotated["metadata"]["annotations"] = {
        "argocd.argoproj.io/sync-options": "RespectIgnoreDifferences=false"
    }
    assert not respect_ignore.wanted(own, annotated)
    annotated["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] = "Bogus=1"
    assert not respect_ignore.wanted(own, annotated)  # the plan reports it, not the compare


def test_a_request_alone_cannot_turn_it_on() -> None:
    on = {"RespectIgnoreDifferences": "true"}
    respect_ignore.refuse_request_only(on, on)
    respect_ignore.refuse_request_only({}, {})
    with pytest.raises(ConfigError, match=r"set it in spec\.syncPolicy\.syncOptions"):
        respect_ignore.refuse_request_only({}, on)


KEYS = st.text(alphabet="abcdef", min_size=1, max_size=3)
VALUES = st.text(max_size=5)


@given(st.dictionaries(KEYS, VALUES, max_size=5), st.dictionaries(KEYS, VALUES, max_size=5), KEYS)
def test_ignored_key_is_live_and_the_rest_is_git(git: dict[str, str], live: dict[str, str],
                                                 ignored: str) -> None:  # fmt: skip
    rule = {"group": "", "kind": "ConfigMap", "jsonPointers": [f"/data/{ignored}"]}
    out = keep(cm("x", **git), cm("x", **live), [rule])["data"]
    assert out.get(ignored) == live.get(ignored)
    assert {k: v for k, v in out.items() if k != ignored} == {
        k: v for k, v in git.items() if k != ignored
    }
