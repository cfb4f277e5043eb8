"""How ``app get``, ``app list``, ``app resources`` and ``app diff`` print things.

Tables use Argo CD's column names so people (and their scripts that grep
them) find what they expect; colour follows status: green Synced/Healthy,
yellow OutOfSync/Progressing, red Degraded/Missing.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from gitward._util.redact import redact_userinfo
from gitward.cli.console import out

Obj = dict[str, Any]

_COLOURS = {
    "Synced": "green",
    "Healthy": "green",
    "OutOfSync": "yellow",
    "Progressing": "yellow",
    "Suspended": "blue",
    "Degraded": "red",
    "Missing": "red",
    "Unknown": "magenta",
}


def coloured(value: str) -> str:
    colour = _COLOURS.get(value)
    return f"[{colour}]{escape(value)}[/{colour}]" if colour else escape(value)


def _sync_policy(spec: Obj) -> str:
    automated = (spec.get("syncPolicy") or {}).get("automated")
    if automated is None or automated.get("enabled") is False:
        return "Manual"
    extras = [
        label for key, label in (("prune", "Prune"), ("selfHeal", "SelfHeal")) if automated.get(key)
    ]
    return "Automated" + (f" ({', '.join(extras)})" if extras else "")


def _source(spec: Obj) -> Obj:
    if spec.get("source"):
        return dict(spec["source"])
    sources = spec.get("sources") or [{}]
    return dict(sources[0])


def app_header(app: Obj) -> None:
    spec, status = app.get("spec") or {}, app.get("status") or {}
    meta = app["metadata"]
    source, dest = _source(spec), spec.get("destination") or {}
    sync = status.get("sync") or {}
    health = status.get("health") or {}
    revision = sync.get("revision", "")
    rows = [
        ("Name", f"{meta.get('namespace')}/{meta['name']}"),
        ("Project", spec.get("project") or "default"),
        ("Server", dest.get("server") or dest.get("name") or ""),
        ("Namespace", dest.get("namespace", "")),
        ("Repo", redact_userinfo(str(source.get("repoURL", "")))),
        ("Target", source.get("targetRevision") or "HEAD"),
        ("Path", source.get("path") or source.get("chart") or ""),
        ("Sync Policy", _sync_policy(spec)),
    ]
    for label, value in rows:
        out.print(f"{label + ':':<16}{escape(str(value))}")
    sync_text = coloured(sync.get("status", "Unknown"))
    if revision:
        target = source.get("targetRevision") or "HEAD"
        sync_text += f" to {escape(target)} ({revision[:7]})"
    out.print(f"{'Sync Status:':<16}{sync_text}")
    health_text = coloured(health.get("status", "Unknown"))
    if health.get("message"):
        health_text += f" ({escape(health['message'])})"
    out.print(f"{'Health Status:':<16}{health_text}")
    for cond in status.get("conditions") or []:
        kind, message = escape(cond.get("type", "")), escape(cond.get("message", ""))
        out.print(f"[red]CONDITION[/red] {kind}: {message}")


def resource_table(resources: list[Obj], wide: bool = False) -> Table:
    table = Table("GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", box=None)
    if wide:
        table.add_column("HOOK")
    table.add_column("MESSAGE", overflow="fold")
    for r in resources:
        health = r.get("health") or {}
        status = r.get("status", "")
        if r.get("requiresPruning"):
            status_text = coloured(status) + " [yellow](requires pruning)[/yellow]"
        else:
            status_text = coloured(status)
        row = [
            escape(r.get("group", "")),
            escape(r.get("kind", "")),
            escape(r.get("namespace", "")),
            escape(r.get("name", "")),
            status_text,
            coloured(health.get("status", "")) if health else "",
        ]
        if wide:
            row.append("true" if r.get("hook") else "")
        row.append(escape(health.get("message", "")))
        table.add_row(*row)
    return table


def app_list_table(apps: list[Obj], wide: bool = False) -> Table:
    table = Table(
        "NAME", "CLUSTER", "NAMESPACE", "PROJECT", "STATUS", "HEALTH", "SYNCPOLICY", box=None
    )
    table.add_column("CONDITIONS")
    if wide:
        table.add_column("REPO", overflow="fold")
        table.add_column("PATH")
        table.add_column("TARGET")
    for app in apps:
        spec, status = app.get("spec") or {}, app.get("status") or {}
        dest = spec.get("destination") or {}
        conditions = ",".join(c.get("type", "") for c in status.get("conditions") or []) or "<none>"
        row = [
            f"{app['metadata'].get('namespace')}/{app['metadata']['name']}",
            escape(dest.get("server") or dest.get("name") or ""),
            escape(dest.get("namespace", "")),
            escape(spec.get("project") or "default"),
            coloured((status.get("sync") or {}).get("status", "Unknown")),
            coloured((status.get("health") or {}).get("status", "Unknown")),
            _sync_policy(spec),
            escape(conditions),
        ]
        if wide:
            source = _source(spec)
            row += [
                escape(redact_userinfo(str(source.get("repoURL", "")))),
                escape(source.get("path", "")),
                escape(source.get("targetRevision") or "HEAD"),
            ]
        table.add_row(*row)
    return table


def colour_diff(text: str) -> None:
    for line in text.splitlines():
        if line.startswith(("+++", "---")):
            out.print(f"[bold]{escape(line)}[/bold]")
        elif line.startswith("+"):
            out.print(f"[green]{escape(line)}[/green]")
        elif line.startswith("-"):
            out.print(f"[red]{escape(line)}[/red]")
        elif line.startswith("@@"):
            out.print(f"[cyan]{escape(line)}[/cyan]")
        else:
            out.print(escape(line))


def sync_result_table(resources: list[Obj], healths: dict[tuple[str, str, str, str], str]) -> Table:
    """``syncResult.resources`` entries (Argo CD's shape), with each resource's health."""
    table = Table("GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "HOOK", box=None)
    table.add_column("MESSAGE", overflow="fold")
    for r in resources:
        key = (r.get("group", ""), r.get("kind", ""), r.get("namespace", ""), r.get("name", ""))
        health = healths.get(key, "")
        table.add_row(
            *(escape(str(part)) for part in key),
            coloured(str(r.get("status") or r.get("hookPhase") or "")),
            coloured(health) if health else "",
            escape(str(r.get("hookType") or "")),
            escape(str(r.get("message") or "")),
        )
    return table


def print_sync_result(
    state: Obj, healths: dict[tuple[str, str, str, str], str], dry_run: bool
) -> None:
    """What ``app sync`` prints for an ``operationState``-shaped dict."""
    result = state.get("syncResult") or {}
    out.print(f"{'Operation:':<16}Sync{' (dry run)' if dry_run else ''}")
    out.print(f"{'Sync Revision:':<16}{escape(str(result.get('revision') or ''))}")
    out.print(f"{'Phase:':<16}{coloured(str(state.get('phase') or ''))}")
    out.print(f"{'Message:':<16}{escape(str(state.get('message') or ''))}")
    resources = list(result.get("resources") or [])
    if resources:
        out.print()
        out.print(sync_result_table(resources, healths))
