"""The fence around one Application: its project's rules bound to where the app deploys.

Two questions, asked by the state layer at compare time and by the sync engine
before anything is applied, pruned, run as a hook or deleted by cascade:

- may this Application use its project at all (:func:`app_refusal`): the project
  permits every source repository, the destination cluster and namespace, and the
  namespace the Application itself lives in;
- may this one resource be touched (:meth:`Fence.violation`): its kind is permitted
  (namespaced or cluster-scoped lists) and, for a namespaced object, its namespace is
  a permitted destination on the app's cluster.

The cluster is always the one the destination *resolved* to (server URL and
registered name), never a spelling taken from the Application, so a deny pattern
cannot be dodged by naming the same cluster differently.

Pure: no I/O. Messages follow Argo CD's wording where it has one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from gitward._util.redact import redact_userinfo
from gitward.model.project import AppProject, GroupKind, ProjectDestination
from gitward.model.tracking import ResourceKey
from gitward.projects.rules import (
    destination_permitted,
    match_glob,
    resource_violation,
    source_namespace_permitted,
    source_permitted,
)
from gitward.projects.windows import SyncVerdict, can_sync

#: Argo CD's built-in ``default`` project: everything permitted. Used when the
#: ``default`` AppProject object is absent, as Argo CD recreates it at start.
BUILT_IN_DEFAULT = AppProject(
    name="default",
    source_repos=("*",),
    destinations=(ProjectDestination(server="*", namespace="*"),),
    cluster_resource_whitelist=(GroupKind("*", "*"),),
)


@dataclass(frozen=True)
class Fence:
    """One app's project rules, bound to the cluster it deploys to."""

    project: AppProject
    server: str
    cluster_name: str

    def violation(
        self, group: str, kind: str, name: str, namespace: str, namespaced: bool
    ) -> str | None:
        """None when the resource may be touched; otherwise why not, naming the rule."""
        found = resource_violation(
            self.project, group, kind, name, namespace, namespaced, self.server, self.cluster_name
        )
        return found.message if found is not None else None

    def window_verdict(
        self, app_name: str, namespace: str, *, manual: bool, now: dt.datetime | None = None
    ) -> SyncVerdict:
        """Whether the project's sync windows let this app sync now (and until when)."""
        return can_sync(
            self.project.sync_windows,
            app_name,
            self.server,
            self.cluster_name,
            namespace,
            manual=manual,
            now=now,
        )

    def service_account(self, namespace: str) -> str | None:
        """The user a sync impersonates for ``namespace`` (``system:serviceaccount:NS:SA``).

        The first of the project's ``destinationServiceAccounts`` whose ``server`` and
        ``namespace`` globs match; ``defaultServiceAccount`` is ``SA`` (in the destination
        namespace) or ``NS:SA``. None when no entry matches.
        """
        for entry in self.project.destination_service_accounts:
            if not match_glob(entry.server, self.server, negation=False):
                continue
            if not match_glob(entry.namespace or "*", namespace, negation=False):
                continue
            account_ns, _, account = entry.default_service_account.rpartition(":")
            return f"system:serviceaccount:{account_ns or namespace}:{account}"
        return None

    def live_violation(self, key: ResourceKey) -> str | None:
        """The same for a live or recorded object, whose key has a namespace iff namespaced."""
        return self.violation(key.group, key.kind, key.name, key.namespace, bool(key.namespace))


def app_refusal(
    project: AppProject,
    repo_urls: Iterable[str],
    server: str,
    cluster_name: str,
    namespace: str,
    app_namespace: str,
    control_namespace: str,
    cluster_project: str = "",
) -> str | None:
    """Why the project refuses the whole Application; None when it is permitted.

    ``cluster_project`` is the project the destination's cluster Secret is scoped to;
    with ``permitOnlyProjectScopedClusters`` the project's apps may use only its own.
    """
    if not source_namespace_permitted(project, app_namespace, control_namespace):
        return (
            f"application in namespace '{app_namespace}' is not permitted to use project "
            f"'{project.name}' (add it to the project's sourceNamespaces)"
        )
    refusal = repo_refusal(project, repo_urls) or destination_refusal(
        project, server, cluster_name, namespace
    )
    if refusal is not None:
        return refusal
    if project.permit_only_project_scoped_clusters and cluster_project != project.name:
        return (
            f"application destination server '{server}' is not permitted in project "
            f"'{project.name}': it permits only clusters scoped to it "
            "(permitOnlyProjectScopedClusters)"
        )
    return None


def repo_refusal(project: AppProject, repo_urls: Iterable[str]) -> str | None:
    """Why the project refuses one of ``repo_urls`` (user-info masked); None if it does not."""
    for url in repo_urls:
        if url and not source_permitted(project, url):
            return (
                f"application repo {redact_userinfo(url)} is not permitted in project "
                f"'{project.name}'"
            )
    return None


def destination_refusal(
    project: AppProject, server: str, cluster_name: str, namespace: str
) -> str | None:
    """Why the project refuses the destination; None if it permits it."""
    if destination_permitted(project, server, cluster_name, namespace):
        return None
    return (
        f"application destination server '{server}' (name '{cluster_name}') and namespace "
        f"'{namespace}' do not match any of the allowed destinations in project "
        f"'{project.name}'"
    )
