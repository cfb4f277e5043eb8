"""RBAC decisions as Argo CD makes them, over its documented examples."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitward.model.errors import ConfigError
from gitward.model.project import parse_project
from gitward.server.auth import Principal
from gitward.server.auth.rbac import RbacEnforcer, project_of
from gitward.server.auth.rbac_policy import parse_policy_csv, parse_rbac_cm

#: Argo CD's documented argocd-rbac-cm example (operator manual, RBAC), plus overlays.
DOC_POLICY = """
p, role:org-admin, applications, *, */*, allow
p, role:org-admin, clusters, get, *, allow
p, role:org-admin, repositories, get, *, allow
p, role:org-admin, repositories, create, *, allow
p, role:org-admin, repositories, update, *, allow
p, role:org-admin, repositories, delete, *, allow
p, role:org-admin, projects, get, *, allow
p, role:org-admin, projects, create, *, allow
p, role:org-admin, projects, update, *, allow
p, role:org-admin, projects, delete, *, allow
p, role:org-admin, logs, get, *, allow
p, role:org-admin, exec, create, */*, allow
g, your-github-org:your-team, role:org-admin
p, my-org:team-alpha, applications, sync, my-project/*, allow
g, my-org:team-beta, role:admin
g, user@example.org, role:admin
p, role:staging-db-admin, applications, create, staging-db-project/*, allow
p, role:staging-db-admin, applications, delete, staging-db-project/*, allow
p, role:staging-db-admin, applications, get, staging-db-project/*, allow
p, role:staging-db-admin, applications, override, staging-db-project/*, allow
p, role:staging-db-admin, applications, sync, staging-db-project/*, allow
p, role:staging-db-admin, applications, update, staging-db-project/*, allow
p, role:staging-db-admin, logs, get, staging-db-project/*, allow
p, role:staging-db-admin, projects, get, staging-db-project, allow
g, db-admins, role:staging-db-admin
p, alice, applications, delete, */*, allow
p, alice, applications, delete, prod/*, deny
p, carol, applications, update/*, default/prod-app, allow
p, carol, applications, action/apps/Deployment/restart, default/*, allow
"""


def enforcer(extra: dict[str, str] | None = None, projects: list[Any] = ()) -> RbacEnforcer:  # type: ignore[assignment]
    data = {"policy.csv": DOC_POLICY, **(extra or {})}
    e = RbacEnforcer(parse_rbac_cm({"data": data}))
    e.set_projects([parse_project(p) for p in projects])
    return e


def who(subject: str, *groups: str) -> Principal:
    return Principal(subject, tuple(groups))


CASES = [
    # built-in roles
    (who("admin"), "applications", "sync", "any/app", True),
    (who("admin"), "clusters", "delete", "https://kubernetes.default.svc", True),
    (who("admin"), "accounts", "update", "alice", True),
    (who("nobody"), "applications", "get", "default/app", False),
    (who("x", "my-org:team-beta"), "projects", "delete", "p", True),
    (who("user@example.org"), "repositories", "create", "https://x", True),
    # role:readonly via the admin role's inheritance is exercised through role:admin
    (who("x", "your-github-org:your-team"), "applications", "delete", "a/b", True),
    (who("x", "your-github-org:your-team"), "clusters", "delete", "https://c", False),
    (who("x", "your-github-org:your-team"), "exec", "create", "p/ns/app", True),
    # team alpha syncs only my-project
    (who("x", "my-org:team-alpha"), "applications", "sync", "my-project/web", True),
    (who("x", "my-org:team-alpha"), "applications", "sync", "other/web", False),
    (who("x", "my-org:team-alpha"), "applications", "delete", "my-project/web", False),
    # apps in other namespaces: PROJECT/NAMESPACE/NAME still matches PROJECT/*
    (who("x", "my-org:team-alpha"), "applications", "sync", "my-project/team-ns/web", True),
    (who("x", "db-admins"), "projects", "get", "staging-db-project", True),
    (who("x", "db-admins"), "projects", "get", "prod", False),
    # deny wins over allow for the same subject
    (who("alice"), "applications", "delete", "dev/web", True),
    (who("alice"), "applications", "delete", "prod/web", False),
    # sub-resource and action patterns
    (who("carol"), "applications", "update/apps/Deployment/ns/web", "default/prod-app", True),
    (who("carol"), "applications", "update", "default/prod-app", False),
    (who("carol"), "applications", "action/apps/Deployment/restart", "default/x", True),
    (who("carol"), "applications", "action/apps/Deployment/scale", "default/x", False),
]


@pytest.mark.parametrize(("principal", "resource", "action", "obj", "expected"), CASES)
def test_documented_policy(
    principal: Principal, resource: str, action: str, obj: str, expected: bool
) -> None:
    assert enforcer().allowed(principal, resource, action, obj) is expected


def test_default_role_is_granted_to_everyone_and_a_deny_cannot_take_it_away() -> None:
    e = enforcer(
        {
            "policy.default": "role:readonly",
            "policy.deny.csv": "p, mallory, applications, get, */*, deny",
        }
    )
    assert e.allowed(who("anyone"), "clusters", "get", "https://c")
    assert not e.allowed(who("anyone"), "clusters", "delete", "https://c")
    assert e.allowed(who("mallory"), "applications", "get", "p/a")


def test_overlay_keys_are_appended_in_sorted_order() -> None:
    cfg = parse_rbac_cm(
        {
            "data": {
                "policy.csv": "p, a, clusters, get, *, allow",
                "policy.z.csv": "p, z, clusters, get, *, allow",
                "policy.b.csv": "p, b, clusters, get, *, allow",
                "policy.default": "role:readonly",
            }
        }
    )
    assert [line[1] for line in cfg.lines] == ["a", "b", "z"]
    assert cfg.default_role == "role:readonly"
    assert cfg.scopes == ("groups",)


def test_regex_match_mode() -> None:
    e = RbacEnforcer(
        parse_rbac_cm(
            {
                "data": {
                    "policy.matchMode": "regex",
                    "policy.csv": "p, dev, applications, sync, ^team-(a|b)/.*$, allow",
                }
            }
        )
    )
    assert e.allowed(who("dev"), "applications", "sync", "team-a/web")
    assert not e.allowed(who("dev"), "applications", "sync", "team-c/web")
    assert e.allowed(who("admin"), "clusters", "delete", "x")  # built-ins still work


def _project(name: str, policies: list[str], groups: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {"roles": [{"name": "ci", "policies": policies, "groups": list(groups)}]},
    }


def test_project_role_reaches_only_its_own_project() -> None:
    team_a = _project(
        "team-a",
        [
            "p, proj:team-a:ci, applications, *, team-a/*, allow",
            "p, proj:team-a:ci, applications, *, *, allow",  # left out: not team-a's objects
            "p, proj:team-b:ci, applications, *, team-b/*, allow",  # left out: not its subject
        ],
        groups=["ci-bots"],
    )
    team_b = _project("team-b", ["p, proj:team-b:ci, applications, get, team-b/*, allow"])
    e = enforcer(projects=[team_a, team_b])
    token = who("proj:team-a:ci")
    assert e.allowed(token, "applications", "sync", "team-a/web")
    assert e.allowed(token, "applications", "delete", "team-a/ns/web")
    assert not e.allowed(token, "applications", "get", "team-b/web")
    assert not e.allowed(token, "applications", "sync", "team-b/web")
    assert not e.allowed(token, "clusters", "get", "https://c")
    assert len(e.problems) == 2
    # the role's groups get the role in team-a only
    bot = who("someone", "ci-bots")
    assert e.allowed(bot, "applications", "sync", "team-a/web")
    assert not e.allowed(bot, "applications", "sync", "team-b/web")
    # a global policy naming a project subject cannot reach another project either
    e2 = enforcer({"policy.x.csv": "p, proj:team-a:ci, applications, get, */*, allow"}, [team_a])
    assert not e2.allowed(token, "applications", "get", "team-b/web")


def test_projects_changing_are_seen() -> None:
    e = enforcer()
    token = who("proj:team-a:ci")
    assert not e.allowed(token, "applications", "get", "team-a/web")
    e.set_projects(
        [
            parse_project(
                _project("team-a", ["p, proj:team-a:ci, applications, get, team-a/*, allow"])
            )
        ]
    )
    assert e.allowed(token, "applications", "get", "team-a/web")
    e.set_projects([])
    assert not e.allowed(token, "applications", "get", "team-a/web")


def test_project_of() -> None:
    assert project_of("applications", "p/ns/app") == "p"
    assert project_of("logs", "p/app") == "p"
    assert project_of("projects", "p") == "p"
    assert project_of("clusters", "https://x/y") == ""


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("p, a, b, c", "line 1: expected 'p, SUBJECT"),
        ("\n\nx, a, b", "line 3: a policy line starts with p or g"),
        ("g, a", "expected 'g, SUBJECT, ROLE'"),
        ("p, a, applications, get, */*, maybe", "the effect must be allow or deny"),
        ('p, a, "applications, get, */*, allow', "not a valid CSV line"),
        ("p, a, applications, get, [a-, allow", "object '[a-'"),
    ],
)
def test_bad_policy_lines_name_key_and_line(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=r"argocd-rbac-cm key policy\.csv") as info:
        parse_rbac_cm({"data": {"policy.csv": text}})
    assert fragment in str(info.value)


def test_bad_match_mode_and_scopes() -> None:
    with pytest.raises(ConfigError, match=r"policy\.matchMode"):
        parse_rbac_cm({"data": {"policy.matchMode": "fuzzy"}})
    with pytest.raises(ConfigError, match="scopes"):
        parse_rbac_cm({"data": {"scopes": "{a: 1}"}})
    assert parse_rbac_cm({"data": {"scopes": "[groups, email]"}}).scopes == ("groups", "email")


_FIELD = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(_FIELD, max_size=7).map(", ".join), max_size=6).map("\n".join))
def test_policy_parser_accepts_or_names_the_line(text: str) -> None:
    try:
        lines = parse_policy_csv(text, "k")
    except ConfigError as exc:
        assert str(exc).startswith("k")  # noqa: PT017 - any input either parses or names the key
        return
    for line in lines:
        assert line[0] in ("p", "g")
        assert len(line) == (6 if line[0] == "p" else 3)
    RbacEnforcer().allowed(who("x"), "applications", "get", "a/b")


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["*", "team-a/*", "team-?/web", "{team-a,team-b}/*", "team-[ab]/*"]),
    st.text(max_size=20),
)
def test_glob_objects_never_crash(pattern: str, obj: str) -> None:
    e = RbacEnforcer(
        parse_rbac_cm({"data": {"policy.csv": f'p, u, applications, get, "{pattern}", allow'}})
    )
    e.allowed(who("u"), "applications", "get", obj)
