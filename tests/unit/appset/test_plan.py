"""What a generation changes, and when it deletes nothing until a person says so."""

from __future__ import annotations

from typing import Any

from gitward.appset.plan import deletion_digest, owner_reference, plan
from gitward.appset.template import Desired
from gitward.appset.validate import validate
from gitward.model.applicationset import APPROVE_ANNOTATION, ApplicationSet
from tests.unit.appset.support import appset

Obj = dict[str, Any]


def generated(name: str, path: str = "p", **meta: Any) -> Desired:
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd", **meta},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://g/r.git", "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
        },
    }
    return Desired(app, {"name": name}, "spec.generators[0].list")


def live(spec: ApplicationSet, item: Desired, **extra_meta: Any) -> Obj:
    app = {
        **item.app,
        "metadata": {
            **item.app["metadata"],
            "ownerReferences": [owner_reference(spec)],
            **extra_meta,
        },
    }
    app["metadata"]["resourceVersion"] = "1"
    app["status"] = {"sync": {"status": "Synced"}}
    return app


def owned_of(spec: ApplicationSet, items: list[Desired]) -> dict[str, Obj]:
    return {i.name: live(spec, i) for i in items}


async def test_new_apps_are_created_with_an_owner_reference() -> None:
    spec = appset({"generators": [{"list": {}}]})
    result = await plan(spec, [generated("a")], [generated("a")], {}, {})
    (app,) = result.creates
    assert app["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "name": "set",
            "uid": "uid-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert not result.updates
    assert not result.deletes


async def test_an_unchanged_app_costs_nothing_and_a_changed_one_is_a_small_patch() -> None:
    spec = appset({"generators": [{"list": {}}]})
    owned = owned_of(spec, [generated("a"), generated("b")])
    result = await plan(
        spec,
        [generated("a"), generated("b", "new")],
        [generated("a"), generated("b", "new")],
        owned,
        owned,
    )
    assert [u.name for u in result.updates] == ["b"]
    assert result.updates[0].patch == {"spec": {"source": {"path": "new"}}}


async def test_user_edits_are_reverted_but_preserved_fields_kept() -> None:
    spec = appset({"generators": [{"list": {}}], "preservedFields": {"labels": ["team"]}})
    item = generated("a")
    current = live(
        spec,
        item,
        labels={"team": "x", "extra": "y"},
        annotations={"notified.notifications.argoproj.io": "{}"},
    )
    result = await plan(spec, [item], [item], {"a": current}, {"a": current})
    assert result.updates[0].patch == {"metadata": {"labels": {"extra": None}}}


async def test_ignore_application_differences_keep_live_values() -> None:
    spec = appset(
        {
            "generators": [{"list": {}}],
            "ignoreApplicationDifferences": [{"jsonPointers": ["/spec/source/path"]}],
        }
    )
    current = live(spec, generated("a", "edited-by-hand"))
    result = await plan(spec, [generated("a")], [generated("a")], {"a": current}, {"a": current})
    assert result.updates == []


async def test_create_only_never_updates() -> None:
    spec = appset({"generators": [{"list": {}}], "syncPolicy": {"applicationsSync": "create-only"}})
    owned = owned_of(spec, [generated("a")])
    assert (
        await plan(spec, [generated("a", "new")], [generated("a", "new")], owned, owned)
    ).updates == []


async def test_create_update_never_deletes() -> None:
    spec = appset(
        {"generators": [{"list": {}}], "syncPolicy": {"applicationsSync": "create-update"}}
    )
    owned = owned_of(spec, [generated("a")])
    assert (await plan(spec, [], [], owned, owned)).deletes == []


async def test_an_app_another_controller_owns_is_left_alone() -> None:
    spec = appset({"generators": [{"list": {}}]})
    theirs = {**generated("a").app}
    theirs["metadata"] = {
        **theirs["metadata"],
        "ownerReferences": [
            {"kind": "ApplicationSet", "name": "other", "uid": "u2", "controller": True}
        ],
    }
    result = await plan(spec, [generated("a")], [generated("a")], {}, {"a": theirs})
    assert result.creates == []
    assert result.foreign == {"a": "ApplicationSet other"}


def project(name: str, repos: list[str] | None = None, namespaces: str = "*") -> Obj:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": "argocd", "resourceVersion": "1"},
        "spec": {
            "sourceRepos": repos or ["*"],
            "destinations": [{"server": "*", "namespace": namespaces}],
        },
    }


async def test_generated_apps_must_keep_to_their_projects_rules() -> None:
    items = [generated("a"), generated("b"), generated("c")]
    items[1].app["spec"]["project"] = "strict"
    items[2].app["spec"]["project"] = "narrow"
    projects = {
        "default": project("default"),
        "strict": project("strict", repos=["https://other.example/*"]),
        "narrow": project("narrow", namespaces="team-*"),
    }
    checked = validate("set", items, projects, {})
    assert [d.name for d in checked.valid] == ["a"]
    assert (
        "application repo https://g/r.git is not permitted in project 'strict'"
        in (checked.errors["b"])
    )
    assert (
        "do not match any of the allowed destinations in project 'narrow'" in (checked.errors["c"])
    )


def many(n: int) -> list[Desired]:
    return [generated(f"app-{i}") for i in range(n)]


async def test_deleting_a_few_apps_goes_ahead() -> None:
    spec = appset({"generators": [{"list": {}}]})
    items = many(8)
    owned = owned_of(spec, items)
    result = await plan(spec, items[2:], items[2:], owned, owned)  # 2 of 8 = 25 %
    assert result.deletes == ["app-0", "app-1"]
    assert result.held == []


async def test_deleting_more_than_the_threshold_is_held() -> None:
    spec = appset({"generators": [{"list": {}}]})
    items = many(8)
    owned = owned_of(spec, items)
    result = await plan(spec, items[3:], items[3:], owned, owned)  # 3 of 8 = 37.5 %
    assert result.deletes == []
    assert result.held == ["app-0", "app-1", "app-2"]
    assert "more than gitward.io/max-delete 25% allows (2)" in result.held_reason
    assert result.held_digest == deletion_digest(["app-0", "app-1", "app-2"])


async def test_deleting_every_app_is_held_even_for_one_app() -> None:
    spec = appset({"generators": [{"list": {}}]})
    owned = owned_of(spec, many(1))
    result = await plan(spec, [], [], owned, owned)
    assert result.deletes == []
    assert result.held == ["app-0"]
    assert "all 1 applications" in result.held_reason


async def test_a_single_deletion_in_a_small_set_is_not_held() -> None:
    spec = appset({"generators": [{"list": {}}]})
    items = many(3)
    owned = owned_of(spec, items)
    assert (await plan(spec, items[1:], items[1:], owned, owned)).deletes == ["app-0"]


async def test_an_approval_of_exactly_the_held_deletion_lets_it_go() -> None:
    items = many(4)
    digest = deletion_digest([i.name for i in items])
    spec = appset({"generators": [{"list": {}}]}, annotations={APPROVE_ANNOTATION: digest})
    owned = owned_of(spec, items)
    assert (await plan(spec, [], [], owned, owned)).deletes == [i.name for i in items]
    stale = appset(
        {"generators": [{"list": {}}]}, annotations={APPROVE_ANNOTATION: deletion_digest(["x"])}
    )
    assert (await plan(stale, [], [], owned, owned)).deletes == []


async def test_the_threshold_can_be_a_count_or_a_share() -> None:
    items = many(10)
    by_count = appset({"generators": [{"list": {}}]}, annotations={"gitward.io/max-delete": "5"})
    owned = owned_of(by_count, items)
    assert len((await plan(by_count, items[5:], items[5:], owned, owned)).deletes) == 5
    wide = appset({"generators": [{"list": {}}]}, annotations={"gitward.io/max-delete": "100%"})
    assert len((await plan(wide, [], [], owned, owned)).deletes) == 10


async def test_invalid_generated_apps_are_not_written_and_not_deleted() -> None:
    spec = appset({"generators": [{"list": {}}]})
    items = [generated("a"), generated("Bad_Name"), generated("a"), generated("c")]
    items[3].app["spec"]["project"] = "missing"
    checked = validate("set", items, {"default": project("default")}, {})
    assert [d.name for d in checked.valid] == ["a"]
    assert "not a valid name" in checked.errors["Bad_Name"]
    assert "duplicate name: a" in checked.errors["a"]
    assert "project missing which does not exist" in checked.errors["c"]
    owned = owned_of(spec, [generated("c")])
    result = await plan(spec, items, checked.valid, owned, owned)
    assert result.deletes == []  # c is invalid now, but still generated: never deleted for it
