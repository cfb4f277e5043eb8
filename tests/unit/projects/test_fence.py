"""The fence of one app: its project's rules bound to the cluster it resolved to."""

from __future__ import annotations

from typing import Any

from gitward.model.project import parse_project
from gitward.model.tracking import ResourceKey
from gitward.projects.fence import BUILT_IN_DEFAULT, Fence, app_refusal

IN_CLUSTER = "https://kubernetes.default.svc"


def project(**spec: Any) -> Any:
    return parse_project(
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
         "metadata": {"name": "team-a", "namespace": "argocd"}, "spec": spec}
    )  # fmt: skip


TEAM_A = project(
    sourceRepos=["https://git.example/team-a/*"],
    destinations=[{"server": IN_CLUSTER, "namespace": "team-a"}],
)


def refusal(repo: str, namespace: str = "team-a", app_ns: str = "argocd") -> str | None:
    return app_refusal(TEAM_A, [repo], IN_CLUSTER, "in-cluster", namespace, app_ns, "argocd")


def test_the_whole_app_is_refused_for_its_repository_destination_or_namespace() -> None:
    assert refusal("https://git.example/team-a/app.git") is None
    assert "repo https://git.example/team-b/app.git is not permitted" in str(
        refusal("https://git.example/team-b/app.git")
    )
    assert "do not match any of the allowed destinations" in str(
        refusal("https://git.example/team-a/app.git", namespace="kube-system")
    )
    assert "not permitted to use project 'team-a'" in str(
        refusal("https://git.example/team-a/app.git", app_ns="team-a-apps")
    )


def test_credentials_in_a_refused_repository_never_reach_the_message() -> None:
    message = str(refusal("https://bot:s3cret@git.example/team-b/app.git"))
    assert "s3cret" not in message
    assert "git.example/team-b/app.git" in message


def test_resources_are_fenced_by_kind_and_namespace() -> None:
    fence = Fence(TEAM_A, IN_CLUSTER, "in-cluster")
    assert fence.violation("", "ConfigMap", "c", "team-a", namespaced=True) is None
    assert fence.violation("apps", "Deployment", "web", "kube-system", namespaced=True) == (
        "Deployment/web: namespace kube-system is not a permitted destination of project team-a"
    )
    assert "cluster-scoped kind rbac.authorization.k8s.io/ClusterRole" in str(
        fence.violation("rbac.authorization.k8s.io", "ClusterRole", "r", "", namespaced=False)
    )
    assert fence.live_violation(ResourceKey("", "ConfigMap", "other", "c")) is not None
    assert fence.live_violation(ResourceKey("", "ConfigMap", "team-a", "c")) is None


def test_the_built_in_default_project_permits_everything() -> None:
    fence = Fence(BUILT_IN_DEFAULT, IN_CLUSTER, "in-cluster")
    assert fence.violation("rbac.authorization.k8s.io", "ClusterRole", "r", "", False) is None
    assert fence.violation("apps", "Deployment", "web", "kube-system", True) is None
    assert (
        app_refusal(
            BUILT_IN_DEFAULT, ["https://any/x"], IN_CLUSTER, "in-cluster", "x", "argocd", "argocd"
        )
        is None
    )


def test_the_first_matching_destination_service_account_is_impersonated() -> None:
    with_accounts = project(
        sourceRepos=["*"],
        destinations=[{"server": "*", "namespace": "*"}],
        destinationServiceAccounts=[
            {"server": IN_CLUSTER, "namespace": "team-*", "defaultServiceAccount": "deployer"},
            {"server": "*", "namespace": "*", "defaultServiceAccount": "ops:fallback"},
        ],
    )
    fence = Fence(with_accounts, IN_CLUSTER, "in-cluster")
    assert fence.service_account("team-a") == "system:serviceaccount:team-a:deployer"
    assert fence.service_account("other") == "system:serviceaccount:ops:fallback"
    assert Fence(TEAM_A, IN_CLUSTER, "in-cluster").service_account("team-a") is None


def test_permit_only_project_scoped_clusters_refuses_every_other_cluster() -> None:
    own = project(
        sourceRepos=["*"],
        destinations=[{"server": "*", "namespace": "*"}],
        permitOnlyProjectScopedClusters=True,
    )
    args = (own, ["https://git.example/x"], "https://c.example", "c", "ns", "argocd", "argocd")
    assert app_refusal(*args, cluster_project="team-a") is None
    assert "permitOnlyProjectScopedClusters" in str(app_refusal(*args, cluster_project="other"))
    assert "permitOnlyProjectScopedClusters" in str(app_refusal(*args))
