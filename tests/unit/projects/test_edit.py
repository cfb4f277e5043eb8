"""Edits of a project's spec as ``argocd proj`` makes them: pure, never in place, no-ops said."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitward.model.errors import ConfigError
from gitward.projects import edit
from gitward.projects.edit import Change

Obj = dict[str, Any]
IN_CLUSTER = "https://kubernetes.default.svc"
REPO = "https://github.com/org/app.git"


def team() -> Obj:
    return {
        "sourceRepos": [REPO],
        "destinations": [{"server": IN_CLUSTER, "namespace": "team-a"}],
        "namespaceResourceBlacklist": [{"group": "", "kind": "ResourceQuota"}],
    }


def applied(spec: Obj, change: Any) -> Change:
    """Run an edit and check it left its input alone."""
    before = copy.deepcopy(spec)
    result: Change = change(spec)
    assert spec == before
    return result


# -- flag syntaxes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{IN_CLUSTER},team-a", {"server": IN_CLUSTER, "namespace": "team-a"}),
        ("in-cluster,team-a", {"name": "in-cluster", "namespace": "team-a"}),
        ("*,*", {"server": "*", "namespace": "*"}),
        ("prod-*,apps", {"name": "prod-*", "namespace": "apps"}),
        ("!https://evil.example,*", {"server": "!https://evil.example", "namespace": "*"}),
        ("https://10.0.0.1:6443,", {"server": "https://10.0.0.1:6443", "namespace": ""}),
        (" in-cluster , team-a ", {"name": "in-cluster", "namespace": "team-a"}),
    ],
)
def test_dest_flag_is_server_or_name_as_argocd_decides(text: str, expected: Obj) -> None:
    assert edit.destination_from_flag(text) == expected


@pytest.mark.parametrize("text", ["in-cluster", "a,b,c", ",team-a", ""])
def test_dest_flag_without_exactly_one_comma_and_a_cluster_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="--dest"):
        edit.destination_from_flag(text)


def test_group_kind_flags() -> None:
    assert edit.group_kind_from_flag("apps/Deployment", "--x") == {
        "group": "apps",
        "kind": "Deployment",
    }
    assert edit.group_kind_from_flag("Namespace", "--x") == {"group": "", "kind": "Namespace"}
    for bad in ("a/b/c", "apps/", ""):
        with pytest.raises(ConfigError, match="--x"):
            edit.group_kind_from_flag(bad, "--x")


def test_lists_split_at_commas_but_not_inside_braces() -> None:
    assert edit.split_list(["a,b", "c", " d , ", "{dev,test}-*,x"]) == [
        "a",
        "b",
        "c",
        "d",
        "{dev,test}-*",
        "x",
    ]


def test_create_flags_replace_only_the_fields_given() -> None:
    spec = edit.with_create_flags(
        team(),
        description="Team A",
        destinations=[{"name": "in-cluster", "namespace": "b"}],
        resources={("cluster", "allow"): [{"group": "", "kind": "Namespace"}]},
        orphaned_resources_warn=True,
    )
    assert spec["sourceRepos"] == [REPO]  # not given: kept from the file
    assert spec["destinations"] == [{"name": "in-cluster", "namespace": "b"}]
    assert spec["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]
    assert spec["orphanedResources"] == {"warn": True}
    assert spec["description"] == "Team A"


# -- sources and destinations -------------------------------------------------------------------


def test_add_and_remove_source() -> None:
    added = applied(team(), lambda s: edit.add_source(s, "https://github.com/org/other"))
    assert added.changed
    assert added.spec["sourceRepos"] == [REPO, "https://github.com/org/other"]
    same = applied(team(), lambda s: edit.add_source(s, "https://GitHub.com/org/app"))
    assert not same.changed
    assert same.message == f"Source repository '{REPO}' already allowed in project"
    removed = applied(team(), lambda s: edit.remove_source(s, "https://github.com/org/app"))
    assert removed.changed
    assert removed.spec["sourceRepos"] == []
    absent = applied(team(), lambda s: edit.remove_source(s, "https://x.example/r"))
    assert not absent.changed
    assert "does not exist" in absent.message


def test_star_is_only_the_same_as_star() -> None:
    assert edit.add_source({"sourceRepos": ["*"]}, REPO).changed
    assert not edit.add_source({"sourceRepos": ["*"]}, "*").changed


def test_add_and_remove_destination_by_server_or_name() -> None:
    added = applied(team(), lambda s: edit.add_destination(s, IN_CLUSTER, "b", by_name=False))
    assert added.spec["destinations"][-1] == {"server": IN_CLUSTER, "namespace": "b"}
    named = applied(team(), lambda s: edit.add_destination(s, "prod", "b", by_name=True))
    assert named.spec["destinations"][-1] == {"name": "prod", "namespace": "b"}
    again = edit.add_destination(team(), IN_CLUSTER, "team-a", by_name=False)
    assert not again.changed
    assert "already defined" in again.message
    removed = applied(named.spec, lambda s: edit.remove_destination(s, "prod", "b"))
    assert removed.spec["destinations"] == team()["destinations"]
    assert not edit.remove_destination(team(), IN_CLUSTER, "other").changed


def test_a_cluster_name_without_name_flag_is_refused_not_stored_as_a_server() -> None:
    with pytest.raises(ConfigError, match="--name"):
        edit.add_destination(team(), "in-cluster", "b", by_name=False)


# -- kinds --------------------------------------------------------------------------------------


def resource(spec: Obj, scope: str, allow: bool, group: str, kind: str, lst: str = "") -> Change:
    default = "allow" if scope == "cluster" else "deny"
    return applied(
        spec,
        lambda s: edit.change_resource_list(
            s, scope=scope, allow=allow, list_type=lst or default, group=group, kind=kind
        ),
    )


def test_cluster_resources_go_in_and_out_of_the_allow_list() -> None:
    allowed = resource(team(), "cluster", True, "", "Namespace")
    assert allowed.spec["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]
    assert allowed.message == "Group '' and kind 'Namespace' is added to allowed cluster resources"
    assert not resource(allowed.spec, "cluster", True, "", "Namespace").changed
    denied = resource(allowed.spec, "cluster", False, "", "Namespace")
    assert denied.spec["clusterResourceWhitelist"] == []
    assert not resource(denied.spec, "cluster", False, "", "Namespace").changed
    blacklisted = resource(team(), "cluster", False, "rbac.authorization.k8s.io", "*", "deny")
    assert blacklisted.spec["clusterResourceBlacklist"] == [
        {"group": "rbac.authorization.k8s.io", "kind": "*"}
    ]


def test_namespace_resources_go_in_and_out_of_the_deny_list() -> None:
    allowed = resource(team(), "namespaced", True, "", "ResourceQuota")
    assert allowed.spec["namespaceResourceBlacklist"] == []
    denied = resource(team(), "namespaced", False, "apps", "DaemonSet")
    assert denied.spec["namespaceResourceBlacklist"][-1] == {"group": "apps", "kind": "DaemonSet"}
    assert not resource(team(), "namespaced", True, "apps", "DaemonSet").changed


def test_the_namespaced_allow_list_narrowing_and_emptying_is_said() -> None:
    first = resource(team(), "namespaced", True, "apps", "Deployment", "allow")
    assert first.spec["namespaceResourceWhitelist"] == [{"group": "apps", "kind": "Deployment"}]
    assert "until now every namespaced kind was allowed" in first.message
    emptied = resource(first.spec, "namespaced", False, "apps", "Deployment", "allow")
    assert emptied.spec["namespaceResourceWhitelist"] == []  # none, not absent (= all)
    assert "no namespaced kind is allowed" in emptied.message


def test_an_unknown_list_is_refused() -> None:
    with pytest.raises(ConfigError, match="--list"):
        resource(team(), "cluster", True, "", "Namespace", "grey")


# -- windows ------------------------------------------------------------------------------------


def window(**extra: Any) -> Obj:
    flags: dict[str, Any] = {
        "kind": "deny",
        "schedule": "0 10 * * *",
        "duration": "1h",
        "applications": ["*"],
        "namespaces": [],
        "clusters": [],
        "manual_sync": False,
        "time_zone": "UTC",
        "and_operator": False,
    }
    return edit.window_from_flags(**{**flags, **extra})


def test_window_from_flags_leaves_empty_fields_out() -> None:
    assert window() == {
        "kind": "deny",
        "schedule": "0 10 * * *",
        "duration": "1h",
        "applications": ["*"],
        "timeZone": "UTC",
    }
    assert window(manual_sync=True, and_operator=True)["manualSync"] is True


def test_add_delete_and_manual_sync_of_windows() -> None:
    added = applied(team(), lambda s: edit.add_window(s, window()))
    assert added.message == "Sync window 0 added: deny '0 10 * * *' for 1h"
    assert not edit.add_window(added.spec, window()).changed
    two = edit.add_window(added.spec, window(kind="allow", schedule="0 22 * * *")).spec
    enabled = applied(two, lambda s: edit.set_manual_sync(s, 1, True))
    assert enabled.spec["syncWindows"][1]["manualSync"] is True
    assert not edit.set_manual_sync(enabled.spec, 1, True).changed
    assert (
        edit.set_manual_sync(enabled.spec, 1, False).spec["syncWindows"][1]["manualSync"] is False
    )
    deleted = applied(enabled.spec, lambda s: edit.delete_window(s, 0))
    assert [w["kind"] for w in deleted.spec["syncWindows"]] == ["allow"]
    assert "renumbered" in deleted.message


@pytest.mark.parametrize("index", [-1, 2, 99])
def test_a_window_id_that_is_not_there_is_an_error(index: int) -> None:
    spec = edit.add_window(edit.add_window({}, window()).spec, window(kind="allow")).spec
    with pytest.raises(ConfigError, match=f"no sync window {index} \\(IDs 0 to 1\\)"):
        edit.delete_window(spec, index)
    with pytest.raises(ConfigError, match="it has none"):
        edit.set_manual_sync({}, 0, True)


def test_edits_survive_a_malformed_stored_spec() -> None:
    junk: Obj = {"sourceRepos": "not-a-list", "destinations": ["x"], "syncWindows": ["y"]}
    assert edit.add_source(junk, REPO).spec["sourceRepos"] == [REPO]
    assert not edit.remove_destination(junk, IN_CLUSTER, "a").changed
    assert edit.set_manual_sync(junk, 0, True).spec["syncWindows"] == [{"manualSync": True}]
