"""Which repositories, destinations, kinds and namespaces a project permits — Argo CD's rules.

- ``sourceRepos``: glob patterns over the normalised repository URL with ``/`` as the
  separator (``https://github.com/org/*`` is one level, ``**`` any); ``*`` alone allows
  every repository; a pattern starting with ``!`` denies what it matches, and as in
  Argo CD a deny pattern that does not match counts as a match (``["!…/evil/*"]`` alone
  permits everything else).
- ``destinations``: ``server`` or ``name`` and ``namespace`` globs, with the same ``!``
  rule on each field.
- kinds: namespaced kinds need ``namespaceResourceWhitelist`` absent or naming them,
  and not ``namespaceResourceBlacklist``; cluster-scoped kinds need
  ``clusterResourceWhitelist`` to name them (absent or empty allows none), and not the
  blacklist. Group and kind entries are globs.
- ``sourceNamespaces``: where the project's Applications may live besides gitward's own
  namespace.

Each check returns a bool; :func:`resource_violation` turns a refusal into the sentence
a condition shows ("Deployment/web: namespace kube-system is not a permitted destination
of project team-a").
"""

from __future__ import annotations

from dataclasses import dataclass

from gitward._util.glob import GlobSyntaxError, glob_match
from gitward.model.project import AppProject, GroupKind
from gitward.model.repourl import normalize_url


def match_glob(pattern: str, value: str, *, negation: bool, separators: str = "") -> bool:
    """gobwas-style glob; with ``negation``, ``!p`` matches what ``p`` does not."""
    if negation and pattern.startswith("!"):
        return not match_glob(pattern[1:], value, negation=False, separators=separators)
    if pattern == "*":
        return True
    try:
        return glob_match(pattern, value, separators)
    except GlobSyntaxError:
        return False  # as Argo CD: a pattern that does not compile matches nothing


def _deny(pattern: str) -> bool:
    return pattern.startswith("!")


def _normal(url: str) -> str:
    return normalize_url(url).lower()


def source_permitted(project: AppProject, repo_url: str) -> bool:
    """Whether ``repo_url`` is one of the project's ``sourceRepos``."""
    source = _normal(repo_url)
    any_matched = False
    for raw in project.source_repos:
        pattern = "!" + _normal(raw[1:]) if _deny(raw) else _normal(raw) if raw != "*" else "*"
        if match_glob(pattern, source, negation=True, separators="/"):
            any_matched = True
        elif _deny(pattern):
            return False
    return any_matched


def destination_permitted(project: AppProject, server: str, name: str, namespace: str) -> bool:
    """Whether the cluster (by ``server`` URL or ``name``) and ``namespace`` are permitted."""
    any_matched = False
    for item in project.destinations:
        name_ok = bool(name) and bool(item.name) and match_glob(item.name, name, negation=True)
        server_ok = (
            bool(server) and bool(item.server) and match_glob(item.server, server, negation=True)
        )
        namespace_ok = match_glob(item.namespace, namespace, negation=True)
        if (server_ok or name_ok) and namespace_ok:
            any_matched = True
        elif (
            (not name_ok and _deny(item.name))
            or (not server_ok and _deny(item.server))
            or (not namespace_ok and _deny(item.namespace))
        ):
            return False
    return any_matched


def _in_list(group: str, kind: str, entries: tuple[GroupKind, ...]) -> bool:
    return any(
        match_glob(e.kind, kind, negation=False, separators="/")
        and match_glob(e.group, group, negation=False, separators="/")
        for e in entries
    )


def kind_permitted(project: AppProject, group: str, kind: str, namespaced: bool) -> bool:
    """Whether objects of ``group``/``kind`` may be deployed by the project's apps."""
    if namespaced:
        allowed = project.namespace_resource_whitelist is None or _in_list(
            group, kind, project.namespace_resource_whitelist
        )
        return allowed and not _in_list(group, kind, project.namespace_resource_blacklist)
    return _in_list(group, kind, project.cluster_resource_whitelist) and not _in_list(
        group, kind, project.cluster_resource_blacklist
    )


def source_namespace_permitted(
    project: AppProject, app_namespace: str, control_namespace: str
) -> bool:
    """Whether an Application living in ``app_namespace`` may use this project."""
    if app_namespace == control_namespace:
        return True
    return any(match_glob(p, app_namespace, negation=False) for p in project.source_namespaces)


@dataclass(frozen=True)
class Violation:
    """Why one resource is outside the fence: ``rule`` names the project field."""

    rule: str
    message: str


def resource_violation(
    project: AppProject,
    group: str,
    kind: str,
    name: str,
    namespace: str,
    namespaced: bool,
    server: str,
    cluster_name: str,
) -> Violation | None:
    """None when the resource may be deployed; otherwise the rule it breaks, in words."""
    what = f"{kind}/{name}"
    gk = f"{group}/{kind}" if group else kind
    if not kind_permitted(project, group, kind, namespaced):
        scope = "namespaced" if namespaced else "cluster-scoped"
        field = "namespaceResource" if namespaced else "clusterResource"
        return Violation(
            f"{field}Whitelist",
            f"{what}: {scope} kind {gk} is not permitted in project {project.name}",
        )
    if namespaced and not destination_permitted(project, server, cluster_name, namespace):
        return Violation(
            "destinations",
            f"{what}: namespace {namespace} is not a permitted destination of project "
            f"{project.name}",
        )
    return None
