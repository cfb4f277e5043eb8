"""How ``proj get``, ``proj list`` and ``proj windows list`` print projects.

Labels and columns are ``argocd proj``'s, so what people grep for is there; gitward
adds what argocd leaves out (denied cluster kinds, allowed namespaced kinds, sync
windows, a named destination's name) and keeps Argo CD's one distinction that decides
what may be deployed visible: a missing ``namespaceResourceWhitelist`` allows every
namespaced kind (``<all>``), an empty one allows none (``<none>``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.markup import escape

from gitward.cli.console import out
from gitward.cli.output import print_table
from gitward.model.errors import ConfigError
from gitward.model.project import parse_project
from gitward.projects.windows import WindowState, window_states

Obj = dict[str, Any]

_LABEL_WIDTH = 31


def _spec(project: Obj) -> Obj:
    spec = project.get("spec")
    return spec if isinstance(spec, dict) else {}


def _list(spec: Obj, key: str) -> list[Any]:
    value = spec.get(key)
    return value if isinstance(value, list) else []


def _field(item: Any, key: str) -> str:
    return str(item.get(key) or "") if isinstance(item, dict) else str(item)


def destination_text(dest: Any) -> str:
    """``server,namespace`` (argocd's form), or ``name,namespace`` for a cluster by name."""
    return f"{_field(dest, 'server') or _field(dest, 'name')},{_field(dest, 'namespace')}"


def group_kind_text(entry: Any) -> str:
    return f"{_field(entry, 'group')}/{_field(entry, 'kind')}"


def _orphaned(spec: Obj) -> str:
    orphaned = spec.get("orphanedResources")
    if not isinstance(orphaned, dict):
        return "disabled"
    details = f"warn={str(bool(orphaned.get('warn'))).lower()}"
    ignore = _list(orphaned, "ignore")
    if ignore:
        details += f", ignored {len(ignore)}"
    return f"enabled ({details})"


def _count(items: list[Any], one: str, many: str) -> str:
    if not items:
        return "<none>"
    return one if len(items) == 1 else f"{len(items)} {many}"


# -- proj list ----------------------------------------------------------------------------------


def print_project_table(projects: list[Obj], wide: bool) -> None:
    """argocd's ``proj list`` columns; ``wide`` adds source namespaces and sync windows."""
    headers = [
        "NAME",
        "DESCRIPTION",
        "DESTINATIONS",
        "SOURCES",
        "CLUSTER-RESOURCE-WHITELIST",
        "NAMESPACE-RESOURCE-BLACKLIST",
        "SIGNATURE-KEYS",
        "ORPHANED-RESOURCES",
        "DESTINATION-SERVICE-ACCOUNTS",
    ]
    if wide:
        headers += ["SOURCE-NAMESPACES", "SYNC-WINDOWS"]
    rows = []
    for project in projects:
        spec = _spec(project)
        dests = _list(spec, "destinations")
        repos = _list(spec, "sourceRepos")
        whitelist = _list(spec, "clusterResourceWhitelist")
        accounts = _list(spec, "destinationServiceAccounts")
        row = [
            str(project["metadata"]["name"]),
            " ".join(str(spec.get("description") or "").split()),
            _count(dests, destination_text(dests[0]) if dests else "", "destinations"),
            _count(repos, str(repos[0]) if repos else "", "repos"),
            _count(whitelist, group_kind_text(whitelist[0]) if whitelist else "", "resources"),
            _count(_list(spec, "namespaceResourceBlacklist"), "1 resources", "resources"),
            _count(_list(spec, "signatureKeys"), "1 key(s)", "key(s)"),
            _orphaned(spec),
            _count(
                accounts,
                ",".join(
                    _field(accounts[0], k) for k in ("server", "namespace", "defaultServiceAccount")
                )
                if accounts
                else "",
                "destinationServiceAccounts",
            ),
        ]
        if wide:
            namespaces = [str(n) for n in _list(spec, "sourceNamespaces")]
            row += [",".join(namespaces) or "<none>", str(len(_list(spec, "syncWindows")))]
        rows.append(row)
    print_table(headers, rows)


# -- proj windows list ----------------------------------------------------------------------


def _when(at: dt.datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else ""


def next_change(state: WindowState) -> str:
    """``closes AT`` for an open window, ``opens AT`` for a closed one; ``stays open`` for one
    that fires again before it closes (``* * * * *`` for 1h), ``never opens``."""
    if state.changes_at is None:
        return "stays open" if state.active else "never opens"
    return f"{'closes' if state.active else 'opens'} {_when(state.changes_at)}"


def window_states_of(project: Obj, now: dt.datetime) -> list[WindowState]:
    """The project's windows and whether each is open at ``now`` (a ConfigError if invalid)."""
    return window_states(parse_project(project).sync_windows, now)


def window_view(state: WindowState) -> Obj:
    """One window for ``-o json|yaml``: its fields plus ``active`` and ``nextChange``."""
    w = state.window
    return {
        "id": state.index,
        "kind": w.kind,
        "schedule": w.schedule,
        "duration": w.duration,
        "applications": list(w.applications),
        "namespaces": list(w.namespaces),
        "clusters": list(w.clusters),
        "manualSync": w.manual_sync,
        "timeZone": w.time_zone or "UTC",
        "andOperator": w.and_operator,
        "active": state.active,
        "nextChange": state.changes_at.isoformat() if state.changes_at else None,
    }


def print_window_table(states: list[WindowState]) -> None:
    """argocd's ``proj windows list`` columns, plus when each window next opens or closes."""
    headers = [
        "ID",
        "STATUS",
        "KIND",
        "SCHEDULE",
        "DURATION",
        "APPLICATIONS",
        "NAMESPACES",
        "CLUSTERS",
        "MANUALSYNC",
        "TIMEZONE",
        "USEANDOPERATOR",
        "NEXT-CHANGE",
    ]
    rows = [
        [
            str(s.index),
            "Active" if s.active else "Inactive",
            s.window.kind,
            s.window.schedule,
            s.window.duration,
            ",".join(s.window.applications) or "-",
            ",".join(s.window.namespaces) or "-",
            ",".join(s.window.clusters) or "-",
            "Enabled" if s.window.manual_sync else "Disabled",
            s.window.time_zone or "UTC",
            "Enabled" if s.window.and_operator else "Disabled",
            next_change(s),
        ]
        for s in states
    ]
    print_table(headers, rows)


# -- proj get -------------------------------------------------------------------------------


def _line(label: str, values: list[str], empty: str = "<none>") -> None:
    for i, value in enumerate(values or [empty]):
        out.print(escape(f"{label if i == 0 else '':<{_LABEL_WIDTH}}{value}"))


def _windows_lines(project: Obj, now: dt.datetime) -> list[str]:
    try:
        states = window_states_of(project, now)
    except ConfigError as exc:
        return [f"(invalid: {exc})"]
    return [
        f"{s.index}: {s.window.kind} '{s.window.schedule}' for {s.window.duration}, "
        f"{'Active' if s.active else 'Inactive'}, {next_change(s)}"
        for s in states
    ]


def print_project(project: Obj, now: dt.datetime) -> None:
    """argocd's ``proj get`` lines, with gitward's additions."""
    spec = _spec(project)
    kinds = {k: [group_kind_text(e) for e in _list(spec, k)] for k in _KIND_LISTS}
    namespaced_allowed = (
        kinds["namespaceResourceWhitelist"]
        if isinstance(spec.get("namespaceResourceWhitelist"), list)
        else ["<all>"]
    )
    _line("Name:", [str(project["metadata"]["name"])])
    _line("Description:", [str(spec.get("description") or "")], "")
    _line("Destinations:", [destination_text(d) for d in _list(spec, "destinations")])
    _line("Repositories:", [str(r) for r in _list(spec, "sourceRepos")])
    _line("Source Namespaces:", [str(n) for n in _list(spec, "sourceNamespaces")])
    _line("Allowed Cluster Resources:", kinds["clusterResourceWhitelist"])
    _line("Denied Cluster Resources:", kinds["clusterResourceBlacklist"])
    _line("Allowed Namespaced Resources:", namespaced_allowed)
    _line("Denied Namespaced Resources:", kinds["namespaceResourceBlacklist"])
    _line("Signature keys:", [_field(k, "keyID") for k in _list(spec, "signatureKeys")])
    _line("Orphaned Resources:", [_orphaned(spec)])
    _line("Sync Windows:", _windows_lines(project, now))


_KIND_LISTS = (
    "clusterResourceWhitelist",
    "clusterResourceBlacklist",
    "namespaceResourceWhitelist",
    "namespaceResourceBlacklist",
)
