"""Sync ordering between apps: the depends-on annotation, readiness, cycles, dependents."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.controller.dependencies import (
    CYCLE_CONDITION,
    DEPENDS_ON,
    WAITING_CONDITION,
    DependencyCycle,
    blocked_by,
    condition,
    dependencies_of,
    dependents_of,
    not_ready_reason,
)

Obj = dict[str, Any]


def app(
    name: str,
    depends: str | None = None,
    sync: str | None = "Synced",
    health: str | None = "Healthy",
    **extra: Any,
) -> Obj:
    meta: Obj = {"name": name, "namespace": "argocd"}
    if depends is not None:
        meta["annotations"] = {DEPENDS_ON: depends}
    status: Obj = {}
    if sync:
        status["sync"] = {"status": sync}
    if health:
        status["health"] = {"status": health}
    obj: Obj = {"metadata": meta, "status": status}
    for key, value in extra.items():
        if key == "deletionTimestamp":
            meta[key] = value
        else:
            obj[key] = value
    return obj


def index(*objs: Obj) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objs}


# -- the annotation -----------------------------------------------------------


def test_names_are_trimmed_deduplicated_and_empty_ones_ignored() -> None:
    assert dependencies_of(app("x", " a ,b,, a,\tc ,")) == ["a", "b", "c"]
    assert dependencies_of(app("x", "")) == []
    assert dependencies_of(app("x", " , ")) == []
    assert dependencies_of(app("x")) == []


def test_an_app_that_names_itself_is_a_cycle_of_length_one() -> None:
    with pytest.raises(DependencyCycle, match="names the app itself") as caught:
        dependencies_of(app("x", "a, x"))
    assert caught.value.cycle == ["x", "x"]
    verdict = blocked_by(app("x", " x "), {})
    assert verdict.cycle == ["x", "x"]
    assert not verdict.ready
    assert verdict.waiting_for == []


# -- readiness ----------------------------------------------------------------


def test_no_dependencies_is_ready_and_has_no_condition() -> None:
    verdict = blocked_by(app("x"), index(app("x")))
    assert verdict.ready
    assert verdict.message == ""
    assert condition(verdict) is None


def test_chain_waits_only_for_the_direct_dependency() -> None:
    # c -> b -> a: b is ready, so c may sync; b waits for a.
    apps = index(
        app("a", sync="OutOfSync", health="Progressing"),
        app("b", "a"),
        app("c", "b"),
    )
    assert blocked_by(apps["c"], apps).ready
    waiting = blocked_by(apps["b"], apps)
    assert waiting.waiting_for == ["a (OutOfSync/Progressing)"]
    assert waiting.cycle == []
    cond = condition(waiting)
    assert cond is not None
    assert cond["type"] == WAITING_CONDITION
    assert "a (OutOfSync/Progressing)" in cond["message"]


def test_diamond_waits_for_each_branch_and_is_not_a_cycle() -> None:
    #   top -> left -> base, top -> right -> base
    apps = index(
        app("base"),
        app("left", "base"),
        app("right", "base", sync="Synced", health="Degraded"),
        app("top", "left,right"),
    )
    verdict = blocked_by(apps["top"], apps)
    assert verdict.cycle == []
    assert verdict.waiting_for == ["right (Synced/Degraded)"]
    apps["right"] = app("right", "base")
    assert blocked_by(apps["top"], apps).ready


def test_missing_dependency_blocks_and_says_it_does_not_exist() -> None:
    apps = index(app("a"), app("x", "a,ghost"))
    verdict = blocked_by(apps["x"], apps)
    assert not verdict.ready
    assert verdict.waiting_for == ["ghost (missing)"]
    assert verdict.missing == ["ghost"]
    assert "no Application named ghost exists" in verdict.message


def test_unknown_status_deleting_and_syncing_dependencies_are_not_ready() -> None:
    apps = index(
        app("fresh", sync=None, health=None),
        app("going", deletionTimestamp="2026-11-26T10:00:00Z"),
        app("busy", operation={"sync": {}}),
        app("x", "fresh,going,busy"),
    )
    assert blocked_by(apps["x"], apps).waiting_for == [
        "fresh (Unknown/Unknown)",
        "going (deleting)",
        "busy (syncing)",
    ]
    assert not_ready_reason(app("done")) is None
    running = app("run", status={"operationState": {"phase": "Running"}})
    assert not_ready_reason(running) == "syncing"


def test_the_app_object_given_wins_over_its_entry_in_the_index() -> None:
    # The index may hold an older copy of the app itself, before its annotation changed.
    stale = app("x", "a")
    apps = index(app("a", sync="OutOfSync"), stale)
    assert blocked_by(app("x"), apps).ready


# -- cycles --------------------------------------------------------------------


def test_two_cycle_blocks_both_apps_with_a_sync_error() -> None:
    apps = index(app("a", "b"), app("b", "a"))
    verdict = blocked_by(apps["a"], apps)
    assert verdict.cycle == ["a", "b", "a"]
    assert not verdict.ready
    cond = condition(verdict)
    assert cond == {"type": CYCLE_CONDITION, "message": verdict.message}
    assert "a -> b -> a" in cond["message"]
    assert blocked_by(apps["b"], apps).cycle == ["b", "a", "b"]


def test_three_cycle_is_found() -> None:
    apps = index(app("a", "b"), app("b", "c"), app("c", "a"))
    assert blocked_by(apps["a"], apps).cycle == ["a", "b", "c", "a"]
    assert blocked_by(apps["c"], apps).cycle == ["c", "a", "b", "c"]


def test_a_reachable_cycle_not_through_the_app_blocks_it_and_says_so() -> None:
    apps = index(app("top", "b"), app("b", "c"), app("c", "b"))
    verdict = blocked_by(apps["top"], apps)
    assert verdict.cycle == ["b", "c", "b"]
    assert not verdict.ready
    assert "reached from top through its dependencies" in verdict.message


def test_an_unreachable_cycle_does_not_block() -> None:
    apps = index(app("x", "a"), app("a"), app("p", "q"), app("q", "p"))
    assert blocked_by(apps["x"], apps).ready


def test_a_long_chain_is_walked_without_recursion() -> None:
    names = [f"app{i}" for i in range(5000)]
    objs = [app(n, names[i + 1] if i + 1 < len(names) else None) for i, n in enumerate(names)]
    apps = index(*objs)
    assert blocked_by(apps["app0"], apps).ready
    apps[names[-1]] = app(names[-1], "app0")
    verdict = blocked_by(apps["app0"], apps)
    assert len(verdict.cycle) == 5001
    assert verdict.cycle[0] == verdict.cycle[-1] == "app0"


# -- dependents ----------------------------------------------------------------


def test_dependents_direct_and_transitive() -> None:
    apps = index(
        app("base"),
        app("left", "base"),
        app("right", " base ,left"),
        app("top", "right"),
        app("other"),
    )
    assert dependents_of("base", apps) == ["left", "right"]
    assert dependents_of("base", apps, transitive=True) == ["left", "right", "top"]
    assert dependents_of("top", apps) == []
    assert dependents_of("ghost", index(app("x", "ghost"))) == ["x"]


def test_dependents_never_list_the_app_itself_and_survive_cycles() -> None:
    apps = index(app("a", "a,b"), app("b", "a"))
    assert dependents_of("a", apps) == ["b"]
    assert dependents_of("a", apps, transitive=True) == ["b"]
