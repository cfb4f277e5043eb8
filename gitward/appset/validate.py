"""Check generated Applications before any is written: names, spec, project, destination.

As in Argo CD, an Application that fails a check is reported (one condition
naming the last failure and how many more) and neither created nor updated —
but it still counts as generated, so an existing app of that name is never
deleted because its new version is invalid. gitward checks more than Argo CD
before the API server sees an app: the name (non-empty, a DNS-1123 subdomain,
unique in the set) and the whole spec as gitward parses Applications.

The project must exist, and allow each source repository and the destination
(Argo CD's ``sourceRepos`` and ``destinations`` rules, :mod:`gitward.projects`);
which kinds a project allows is checked by the Application's own sync, as for
any Application. :data:`ProjectRules` is the seam for more checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gitward._util.lru import BoundedLRU
from gitward.appset.template import Desired
from gitward.model.application import parse_application
from gitward.model.destination import DestinationProblem, destination_ref
from gitward.model.errors import ConfigError
from gitward.model.project import AppProject, parse_project
from gitward.projects.fence import destination_refusal, repo_refusal

Obj = dict[str, Any]

_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")

#: (generated Application, its AppProject object, cluster names to servers) -> why the
#: project refuses the app, or None.
ProjectRules = Callable[[Obj, Obj, Mapping[str, str]], str | None]


class ProjectChecks:
    """Argo CD's checks of generated apps against their projects (a :data:`ProjectRules`).

    It remembers parsed AppProjects by (namespace, name, resourceVersion), so the
    hundreds of apps of one generation parse their project once; the memory lives
    as long as the object, which the ApplicationSet reconciler owns.
    """

    def __init__(self, size: int = 256) -> None:
        self._parsed: BoundedLRU[tuple[str, str, str], AppProject] = BoundedLRU(size)

    def _project(self, obj: Obj) -> AppProject:
        meta = obj.get("metadata") or {}
        key = (str(meta.get("namespace")), str(meta.get("name")), str(meta.get("resourceVersion")))
        found = self._parsed.get(key)
        if found is None:
            found = parse_project(obj, f"AppProject {meta.get('name')}")
            self._parsed.put(key, found)
        return found

    def __call__(self, app: Obj, project_obj: Obj, clusters: Mapping[str, str]) -> str | None:
        """Argo CD's checks of a generated app against its project: repositories, destination."""
        try:
            project = self._project(project_obj)
        except ConfigError as exc:
            return f"its AppProject is invalid: {exc}"
        spec = app.get("spec") or {}
        sources = list(spec.get("sources") or []) or [spec.get("source") or {}]
        refused = repo_refusal(project, [str((s or {}).get("repoURL") or "") for s in sources])
        if refused is not None:
            return refused
        dest = destination_ref(spec.get("destination"))
        return destination_refusal(project, dest.server_in(clusters), dest.name, dest.namespace)


@dataclass
class Validation:
    """Which generated apps may be written, and why the others may not (by name)."""

    valid: list[Desired]
    errors: dict[str, str]

    def message(self) -> str:
        """Argo CD's condition text: the last error, and how many more there are."""
        if not self.errors:
            return ""
        last = list(self.errors.values())[-1]
        more = len(self.errors) - 1
        return f"{last} (and {more} more)" if more else last


def check_name(name: str) -> str | None:
    if not name:
        return "application name is empty (the template's metadata.name rendered to '')"
    if len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
        return (
            f"application name {name!r} is not a valid name: lowercase letters, digits, '-' and "
            "'.', starting and ending with a letter or digit, at most 253 characters"
        )
    return None


#: Argo CD's condition texts for the destination problems, as ApplicationSet users see them.
_ARGO_TEXT = {
    DestinationProblem.BOTH: "application destination can't have both name and server defined",
    DestinationProblem.NEITHER: "application destination must have a server or a name",
}


def check_destination(app: Obj, cluster_names: Mapping[str, str]) -> str | None:
    dest = destination_ref((app.get("spec") or {}).get("destination"))
    problem = dest.problem
    if problem is not None:
        return _ARGO_TEXT[problem]
    if dest.name and not dest.known_in(cluster_names):
        return f"there are no clusters with this name: {dest.name}"
    return None


def validate(
    appset_name: str,
    desired: list[Desired],
    projects: Mapping[str, Obj | None],
    cluster_names: Mapping[str, str],
    rules: ProjectRules | None = None,
) -> Validation:
    """Sort ``desired`` into writable apps and errors (name -> message), in order.

    ``rules``: the caller's project checks (which remember parsed projects); fresh ones
    when not given.
    """
    rules = rules or ProjectChecks()
    seen: set[str] = set()
    valid: list[Desired] = []
    errors: dict[str, str] = {}
    for index, item in enumerate(desired):
        app = item.app
        name = item.name
        key = name or f"#{index + 1}"
        problem = check_name(name)
        if problem is None and name in seen:
            problem = (
                f"ApplicationSet {appset_name} contains applications with duplicate name: {name}"
            )
        seen.add(name)
        if problem is None:
            try:
                parse_application(app, f"application {name}")
            except ConfigError as exc:
                problem = str(exc)
        if problem is None:
            project_name = str((app.get("spec") or {}).get("project") or "default")
            project = projects.get(project_name)
            if project is None:
                problem = f"application references project {project_name} which does not exist"
            else:
                problem = rules(app, project, cluster_names)
        if problem is None:
            bad_destination = check_destination(app, cluster_names)
            if bad_destination:
                problem = f"application destination spec is invalid: {bad_destination}"
        if problem is None:
            valid.append(item)
        else:
            errors[key] = problem
    return Validation(valid, errors)
