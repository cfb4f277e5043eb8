"""Edits of an AppProject's spec, as ``argocd proj`` makes them: pure, on plain dicts.

Each edit takes the spec as stored (Argo CD's JSON field names) and returns a
:class:`Change`: the whole new spec (a copy; the input is never modified), what
happened in words, and whether anything changed at all. An edit that would change
nothing says so and its caller writes nothing. Whether the *result* is a valid project
(cron, time zone, globs, duplicates) is :func:`~gitward.projects.validate.validate_project`'s
question, asked of the whole object before anything is written.

Also the parsers of argocd's flag syntaxes: ``--dest SERVER,NAMESPACE`` (a cluster name
in place of the server, decided as argocd decides: what is not a URL is a name),
``GROUP/KIND``, and comma-separated lists. Pure: no I/O.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION, APP_PROJECT
from gitward.model.repourl import normalize_url

Obj = dict[str, Any]

#: A URL scheme and its colon: what makes Go's ``url.ParseRequestURI`` accept a string.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")

_RESOURCE_LISTS = {
    ("cluster", "allow"): "clusterResourceWhitelist",
    ("cluster", "deny"): "clusterResourceBlacklist",
    ("namespaced", "allow"): "namespaceResourceWhitelist",
    ("namespaced", "deny"): "namespaceResourceBlacklist",
}


@dataclass(frozen=True)
class Change:
    """The spec after an edit, what the edit did in words, and whether it changed anything."""

    spec: Obj
    message: str
    changed: bool = True


# -- flag syntaxes --------------------------------------------------------------------------


def is_server_url(text: str) -> bool:
    """Whether argocd reads ``text`` as a cluster's server URL rather than its name.

    argocd asks Go's ``url.ParseRequestURI``: ``*``, an absolute path or anything with a
    scheme (``https:``) is a server; everything else (``in-cluster``, ``prod-*``) a name.
    A leading ``!`` (a deny pattern) is looked through, which argocd does not do.
    """
    body = text[1:] if text.startswith("!") else text
    return body == "*" or body.startswith("/") or bool(_SCHEME.match(body))


def destination_from_flag(text: str) -> Obj:
    """argocd's ``--dest SERVER,NAMESPACE`` (or ``NAME,NAMESPACE``) as a destination entry."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise ConfigError(
            f"--dest {text!r}: expected SERVER,NAMESPACE or NAME,NAMESPACE (one comma)"
        )
    target, namespace = parts
    if not target:
        raise ConfigError(f"--dest {text!r}: the server URL or cluster name is empty")
    return {"server" if is_server_url(target) else "name": target, "namespace": namespace}


def group_kind_from_flag(text: str, flag: str) -> Obj:
    """``GROUP/KIND`` or a bare ``KIND`` (the core group), as argocd's resource flags take."""
    parts = text.strip().split("/")
    if len(parts) > 2 or not parts[-1]:
        raise ConfigError(f"{flag} {text!r}: expected GROUP/KIND or KIND")
    return {"group": parts[0] if len(parts) == 2 else "", "kind": parts[-1]}


def split_list(values: Iterable[str]) -> list[str]:
    """Repeatable, comma-separated flag values as one list (``--namespaces a,b --namespaces c``).

    A comma inside braces belongs to a glob (``{dev,test}-*``) and does not split.
    """
    found: list[str] = []
    for value in values:
        depth, start = 0, 0
        for i, ch in enumerate(value):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            if ch == "," and depth <= 0:
                found.append(value[start:i])
                start = i + 1
        found.append(value[start:])
    return [v.strip() for v in found if v.strip()]


# -- create --------------------------------------------------------------------------------


def new_project(name: str, namespace: str, spec: Obj | None = None) -> Obj:
    """An AppProject object with this name, namespace and spec (empty: permits nothing)."""
    return {
        "apiVersion": API_VERSION,
        "kind": APP_PROJECT,
        "metadata": {"name": name, "namespace": namespace},
        "spec": copy.deepcopy(spec or {}),
    }


def with_create_flags(
    spec: Obj,
    *,
    description: str | None = None,
    sources: list[str] | None = None,
    destinations: list[Obj] | None = None,
    source_namespaces: list[str] | None = None,
    resources: dict[tuple[str, str], list[Obj]] | None = None,
    orphaned_resources: bool | None = None,
    orphaned_resources_warn: bool | None = None,
) -> Obj:
    """``spec`` with each field whose flag was given replaced (argocd: flags win over -f)."""
    new = copy.deepcopy(spec)
    if description is not None:
        new["description"] = description
    if sources:
        new["sourceRepos"] = list(sources)
    if destinations:
        new["destinations"] = copy.deepcopy(destinations)
    if source_namespaces:
        new["sourceNamespaces"] = list(source_namespaces)
    for (scope, kind), entries in (resources or {}).items():
        if entries:
            new[_RESOURCE_LISTS[scope, kind]] = copy.deepcopy(entries)
    if orphaned_resources or orphaned_resources_warn:
        current = new.get("orphanedResources")
        orphaned = dict(current) if isinstance(current, dict) else {}
        if orphaned_resources_warn is not None:
            orphaned["warn"] = orphaned_resources_warn
        new["orphanedResources"] = orphaned
    return new


# -- sources and destinations ---------------------------------------------------------------


def _items(spec: Obj, key: str) -> list[Any]:
    """The list at ``spec[key]`` (a stored spec may hold anything: no list is none)."""
    value = spec.get(key)
    return list(value) if isinstance(value, list) else []


def _field(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else None


def _same_repo(a: str, b: str) -> bool:
    if a == b:
        return True
    if "*" in (a, b):
        return False
    return normalize_url(a).lower() == normalize_url(b).lower()


def add_source(spec: Obj, repo: str) -> Change:
    repos = _items(spec, "sourceRepos")
    for item in repos:
        if isinstance(item, str) and _same_repo(item, repo):
            return Change(spec, f"Source repository '{item}' already allowed in project", False)
    new = copy.deepcopy(spec)
    new["sourceRepos"] = [*repos, repo]
    return Change(new, f"Source repository '{repo}' added to project")


def remove_source(spec: Obj, repo: str) -> Change:
    repos = _items(spec, "sourceRepos")
    index = next((i for i, r in enumerate(repos) if r == repo), None)
    if index is None:
        index = next(
            (i for i, r in enumerate(repos) if isinstance(r, str) and _same_repo(r, repo)), None
        )
    if index is None:
        return Change(spec, f"Source repository '{repo}' does not exist in project", False)
    new = copy.deepcopy(spec)
    removed = repos.pop(index)
    new["sourceRepos"] = repos
    return Change(new, f"Source repository '{removed}' removed from project")


def add_destination(spec: Obj, target: str, namespace: str, *, by_name: bool) -> Change:
    """argocd's ``add-destination PROJECT SERVER NAMESPACE`` (``--name``: a cluster name)."""
    if not by_name and not is_server_url(target):
        raise ConfigError(
            f"{target!r} is not a server URL; to permit a cluster by its name add --name"
        )
    key = "name" if by_name else "server"
    dests = _items(spec, "destinations")
    for dest in dests:
        if _field(dest, key) == target and (_field(dest, "namespace") or "") == namespace:
            return Change(
                spec, f"Destination {target},{namespace} is already defined in project", False
            )
    new = copy.deepcopy(spec)
    new["destinations"] = [*dests, {key: target, "namespace": namespace}]
    return Change(new, f"Destination {target},{namespace} added to project")


def remove_destination(spec: Obj, target: str, namespace: str) -> Change:
    """The destination with this server (else this cluster name) and namespace."""
    dests = _items(spec, "destinations")
    index = None
    for key in ("server", "name"):
        index = next(
            (
                i
                for i, d in enumerate(dests)
                if _field(d, key) == target and (_field(d, "namespace") or "") == namespace
            ),
            None,
        )
        if index is not None:
            break
    if index is None:
        return Change(spec, f"Destination {target},{namespace} does not exist in project", False)
    new = copy.deepcopy(spec)
    dests.pop(index)
    new["destinations"] = dests
    return Change(new, f"Destination {target},{namespace} removed from project")


# -- kinds ----------------------------------------------------------------------------------


def change_resource_list(
    spec: Obj, *, scope: str, allow: bool, list_type: str, group: str, kind: str
) -> Change:
    """argocd's ``allow-``/``deny-`` ``cluster-resource``/``namespace-resource``.

    ``list_type`` picks the list (argocd's ``--list``: ``allow`` by default for
    cluster-scoped kinds, ``deny`` for namespaced ones); allowing adds to an allow list
    and removes from a deny list, denying the opposite.
    """
    kinds = {"allow": "allow", "white": "allow", "deny": "deny", "black": "deny"}
    if list_type not in kinds:
        raise ConfigError(f"--list: expected allow or deny, got {list_type!r}")
    which = kinds[list_type]
    field = _RESOURCE_LISTS[scope, which]
    add = allow if which == "allow" else not allow
    desc = f"{'allowed' if which == 'allow' else 'denied'} {scope} resources"
    absent = spec.get(field) is None
    entries = _items(spec, field)
    at = next(
        (
            i
            for i, e in enumerate(entries)
            if (_field(e, "group") or "") == group and _field(e, "kind") == kind
        ),
        None,
    )
    what = f"Group '{group}' and kind '{kind}'"
    new = copy.deepcopy(spec)
    if add:
        if at is not None:
            return Change(spec, f"{what} already present in {desc}", False)
        new[field] = [*entries, {"group": group, "kind": kind}]
        message = f"{what} is added to {desc}"
        if field == "namespaceResourceWhitelist" and absent:
            message += " (until now every namespaced kind was allowed; now only the listed ones)"
        return Change(new, message)
    if at is None:
        return Change(spec, f"{what} not in {desc}", False)
    del entries[at]
    new[field] = entries
    message = f"{what} is removed from {desc}"
    if field == "namespaceResourceWhitelist" and not entries:
        message += " (the list is now empty: no namespaced kind is allowed)"
    return Change(new, message)


# -- sync windows ---------------------------------------------------------------------------


def window_from_flags(
    *,
    kind: str,
    schedule: str,
    duration: str,
    applications: list[str],
    namespaces: list[str],
    clusters: list[str],
    manual_sync: bool,
    time_zone: str,
    and_operator: bool,
    description: str = "",
) -> Obj:
    """A ``spec.syncWindows`` entry in Argo CD's field order; empty fields left out."""
    window: Obj = {"kind": kind, "schedule": schedule, "duration": duration}
    for key, values in (
        ("applications", applications),
        ("namespaces", namespaces),
        ("clusters", clusters),
    ):
        if values:
            window[key] = list(values)
    if manual_sync:
        window["manualSync"] = True
    if time_zone:
        window["timeZone"] = time_zone
    if and_operator:
        window["andOperator"] = True
    if description:
        window["description"] = description
    return window


def _meaningful(window: Any) -> Obj:
    if not isinstance(window, dict):
        return {}
    return {k: v for k, v in window.items() if v not in (None, "", [], False)}


def _windows(spec: Obj) -> list[Obj]:
    return _items(spec, "syncWindows")


def _window_at(spec: Obj, index: int) -> Obj:
    windows = _windows(spec)
    if not 0 <= index < len(windows):
        ids = f"IDs 0 to {len(windows) - 1}" if windows else "it has none"
        raise ConfigError(f"project has no sync window {index} ({ids})")
    window = windows[index]
    return dict(window) if isinstance(window, dict) else {}


def _describe(window: Obj) -> str:
    return f"{window.get('kind')} '{window.get('schedule')}' for {window.get('duration')}"


def add_window(spec: Obj, window: Obj) -> Change:
    windows = _windows(spec)
    for i, existing in enumerate(windows):
        if _meaningful(existing) == _meaningful(window):
            return Change(spec, f"Sync window {i} is already exactly this window", False)
    new = copy.deepcopy(spec)
    new["syncWindows"] = [*copy.deepcopy(windows), copy.deepcopy(window)]
    return Change(new, f"Sync window {len(windows)} added: {_describe(window)}")


def delete_window(spec: Obj, index: int) -> Change:
    removed = _window_at(spec, index)
    new = copy.deepcopy(spec)
    del new["syncWindows"][index]
    later = " (the windows after it are renumbered)" if index < len(new["syncWindows"]) else ""
    return Change(new, f"Sync window {index} deleted: {_describe(removed)}{later}")


def set_manual_sync(spec: Obj, index: int, enabled: bool) -> Change:
    window = _window_at(spec, index)
    state = "enabled" if enabled else "disabled"
    if bool(window.get("manualSync")) == enabled:
        return Change(spec, f"Manual sync is already {state} for sync window {index}", False)
    new = copy.deepcopy(spec)
    new["syncWindows"][index] = {**window, "manualSync": enabled}
    return Change(new, f"Manual sync {state} for sync window {index}: {_describe(window)}")
