"""AppProject rules: sources, destinations, kinds and namespaces as Argo CD decides them."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.model.errors import ConfigError
from gitward.model.project import parse_project
from gitward.projects import (
    destination_permitted,
    kind_permitted,
    resource_violation,
    source_namespace_permitted,
    source_permitted,
)


def project(**spec: Any) -> Any:
    return parse_project(
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
         "metadata": {"name": "team-a", "namespace": "argocd"}, "spec": spec}
    )  # fmt: skip


@pytest.mark.parametrize(
    ("patterns", "url", "allowed"),
    [
        (["*"], "https://anything.example/x.git", True),
        (["https://github.com/org/*"], "https://github.com/org/app.git", True),
        (["https://github.com/org/*"], "https://GitHub.com/org/app/", True),
        (["https://github.com/org/*"], "https://github.com/org/sub/app", False),  # * stops at /
        (["https://github.com/org/**"], "https://github.com/org/sub/app", True),
        (["git@github.com:org/*"], "ssh://git@github.com/org/app.git", True),
        (["https://github.com/org/app"], "https://github.com/other/app", False),
        ([], "https://github.com/org/app", False),
        (["!https://github.com/evil/*"], "https://github.com/org/app", True),
        (["!https://github.com/evil/*"], "https://github.com/evil/app", False),
        (["*", "!https://github.com/evil/*"], "https://github.com/evil/app", False),
        (["https://github.com/org/*", "!https://github.com/org/secret"],
         "https://github.com/org/secret", False),
    ],
)  # fmt: skip
def test_source_repos(patterns: list[str], url: str, allowed: bool) -> None:
    assert source_permitted(project(sourceRepos=patterns), url) is allowed


IN_CLUSTER = "https://kubernetes.default.svc"


@pytest.mark.parametrize(
    ("destinations", "server", "name", "namespace", "allowed"),
    [
        ([{"server": "*", "namespace": "*"}], IN_CLUSTER, "", "any", True),
        ([{"server": IN_CLUSTER, "namespace": "team-a"}], IN_CLUSTER, "", "team-a", True),
        ([{"server": IN_CLUSTER, "namespace": "team-a"}], IN_CLUSTER, "", "kube-system", False),
        ([{"server": IN_CLUSTER, "namespace": "team-a-*"}], IN_CLUSTER, "", "team-a-dev", True),
        ([{"name": "prod", "namespace": "*"}], "https://10.0.0.1", "prod", "x", True),
        ([{"name": "prod", "namespace": "*"}], "https://10.0.0.1", "staging", "x", False),
        ([{"server": "*", "namespace": "!kube-*"}], IN_CLUSTER, "", "kube-system", False),
        ([{"server": "*", "namespace": "!kube-*"}], IN_CLUSTER, "", "team-a", True),
        ([{"server": "*", "namespace": "*"}, {"server": "*", "namespace": "!kube-system"}],
         IN_CLUSTER, "", "kube-system", False),
        ([], IN_CLUSTER, "", "team-a", False),
    ],
)  # fmt: skip
def test_destinations(
    destinations: list[dict[str, str]], server: str, name: str, namespace: str, allowed: bool
) -> None:
    assert destination_permitted(project(destinations=destinations), server, name, namespace) is (
        allowed
    )


def test_cluster_scoped_kinds_need_the_whitelist() -> None:
    none = project()
    assert not kind_permitted(none, "rbac.authorization.k8s.io", "ClusterRole", namespaced=False)
    assert kind_permitted(none, "apps", "Deployment", namespaced=True)  # absent = all namespaced
    some = project(
        clusterResourceWhitelist=[{"group": "", "kind": "Namespace"}],
        namespaceResourceBlacklist=[{"group": "", "kind": "Secret"}],
    )
    assert kind_permitted(some, "", "Namespace", namespaced=False)
    assert not kind_permitted(some, "rbac.authorization.k8s.io", "ClusterRole", namespaced=False)
    assert not kind_permitted(some, "", "Secret", namespaced=True)
    all_cluster = project(clusterResourceWhitelist=[{"group": "*", "kind": "*"}])
    assert kind_permitted(all_cluster, "rbac.authorization.k8s.io", "ClusterRole", namespaced=False)


def test_an_empty_namespaced_whitelist_allows_nothing() -> None:
    empty = project(namespaceResourceWhitelist=[])
    assert not kind_permitted(empty, "apps", "Deployment", namespaced=True)
    only = project(namespaceResourceWhitelist=[{"group": "apps", "kind": "*"}])
    assert kind_permitted(only, "apps", "StatefulSet", namespaced=True)
    assert not kind_permitted(only, "", "ConfigMap", namespaced=True)


def test_violations_name_the_resource_and_the_rule() -> None:
    team = project(destinations=[{"server": IN_CLUSTER, "namespace": "team-a"}])
    v = resource_violation(team, "apps", "Deployment", "web", "kube-system", True, IN_CLUSTER, "")
    assert v is not None
    assert v.message == (
        "Deployment/web: namespace kube-system is not a permitted destination of project team-a"
    )
    c = resource_violation(
        team, "rbac.authorization.k8s.io", "ClusterRole", "admin", "", False, IN_CLUSTER, ""
    )
    assert c is not None
    assert c.rule == "clusterResourceWhitelist"
    assert "cluster-scoped kind rbac.authorization.k8s.io/ClusterRole" in c.message
    assert resource_violation(team, "", "ConfigMap", "c", "team-a", True, IN_CLUSTER, "") is None


def test_source_namespaces() -> None:
    team = project(sourceNamespaces=["team-a-*"])
    assert source_namespace_permitted(team, "argocd", "argocd")
    assert source_namespace_permitted(team, "team-a-apps", "argocd")
    assert not source_namespace_permitted(team, "team-b-apps", "argocd")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"destinations": [{"namespace": "x"}]}, r"destinations\[0\]: a destination needs"),
        ({"sourceRepos": "x"}, r"spec.sourceRepos: expected a list"),
        ({"signatureKeys": [{"keyID": "ABC"}]}, "not supported"),
        ({"syncWindows": [{"kind": "maybe", "schedule": "* * * * *", "duration": "1h",
                           "applications": ["*"]}]}, r"syncWindows\[0\].kind"),
        ({"syncWindows": [{"kind": "deny", "schedule": "61 * * * *", "duration": "1h",
                           "applications": ["*"]}]}, "not a cron schedule"),
        ({"syncWindows": [{"kind": "deny", "schedule": "* * * * *", "duration": "soon",
                           "applications": ["*"]}]}, "not a duration"),
        ({"syncWindows": [{"kind": "deny", "schedule": "* * * * *", "duration": "1h"}]},
         "needs applications, namespaces or clusters"),
        ({"syncWindows": [{"kind": "deny", "schedule": "* * * * *", "duration": "1h",
                           "timeZone": "Mars/Olympus", "applications": ["*"]}]},
         "not a time zone"),
        ({"roles": [{"name": "ci"}, {"name": "ci"}]}, "defined twice"),
        ({"namespaceResourceWhitelist": {"group": "x"}}, "expected a list"),
    ],
)  # fmt: skip
def test_bad_projects_name_the_field(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        project(**spec)
    assert "AppProject team-a" in str(info.value)
