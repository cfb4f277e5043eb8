"""``gitward app``: create, inspect and compare Applications (kubeconfig mode).

Applications are objects in the cluster (namespace ``--namespace``, default
``argocd``); every read that needs fresh state runs a refresh — render,
compare, assess — and stores the result in the Application's status, so
``kubectl get application`` shows what ``gitward app get`` shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from gitward import health
from gitward.cli import app_view, context
from gitward.cli.console import err, out
from gitward.cli.output import print_object
from gitward.cli.services import Refresher
from gitward.cluster import KubeClient, NotFound
from gitward.model.application import (
    API_VERSION,
    Backoff,
    Retry,
    load_applications,
    parse_application,
    parse_duration,
    split_qualified,
)
from gitward.model.errors import ConfigError, GitwardError
from gitward.reposerver import ManifestService
from gitward.sync import cascade as cascading
from gitward.sync import history
from gitward.sync.attempt import OperationResult
from gitward.sync.lock import release
from gitward.sync.plan import SyncRequest, SyncTask
from gitward.sync.refresh import parse_app_object
from gitward.sync.runner import run_sync
from gitward.sync.status import spec_changed_since_refresh, status_fields

Obj = dict[str, Any]

app = typer.Typer(help="Manage Applications.", no_args_is_help=True)

OutputOption = typer.Option("", "--output", "-o", help="Output format: json, yaml or wide.")


async def _get_app(client: KubeClient, name: str, namespace: str) -> Obj:
    """The Application ``name``: ``NAME`` in ``namespace``, or ``NS/NAME`` in another one."""
    app_namespace, plain = split_qualified(name, namespace)
    try:
        return await client.get(API_VERSION, "Application", plain, app_namespace)
    except NotFound:
        raise ConfigError(
            f"application {plain!r} not found in namespace {app_namespace!r}"
        ) from None


def _where(obj: Obj) -> tuple[str, str]:
    """(name, namespace) of a stored Application, for requests about that very object."""
    meta = obj["metadata"]
    return str(meta["name"]), str(meta.get("namespace") or "")


# -- create -----------------------------------------------------------------


def _app_from_flags(
    name: str,
    namespace: str,
    repo: str,
    path: str,
    revision: str,
    dest_server: str,
    dest_name: str,
    dest_namespace: str,
    project: str,
    sync_policy: str,
    self_heal: bool,
    auto_prune: bool,
    sync_options: list[str],
    helm_chart: str = "",
) -> Obj:
    source: Obj = {"repoURL": repo, "chart": helm_chart} if helm_chart else {"repoURL": repo}
    if path or not helm_chart:
        source["path"] = path
    if revision:
        source["targetRevision"] = revision
    destination: Obj = {"namespace": dest_namespace}
    if dest_name:
        destination["name"] = dest_name
    else:
        destination["server"] = dest_server
    spec: Obj = {"project": project, "source": source, "destination": destination}
    policy: Obj = {}
    if sync_policy in ("automated", "auto", "automatic"):
        policy["automated"] = {"prune": auto_prune, "selfHeal": self_heal}
    elif sync_policy not in ("", "none", "manual"):
        raise ConfigError(f"--sync-policy: unknown policy {sync_policy!r} (automated or none)")
    if sync_options:
        policy["syncOptions"] = list(sync_options)
    if policy:
        spec["syncPolicy"] = policy
    return {
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


@app.command()
def create(
    ctx: typer.Context,
    name: str = typer.Argument("", help="Application name (omit with -f)."),
    file: Path | None = typer.Option(
        None, "--file", "-f", help="Application manifest(s) to create."
    ),
    repo: str = typer.Option("", "--repo", help="Repository URL."),
    path: str = typer.Option("", "--path", help="Path inside the repository."),
    helm_chart: str = typer.Option(
        "", "--helm-chart", help="Chart name in a Helm repository (--repo is its URL)."
    ),
    revision: str = typer.Option(
        "", "--revision", help="Target revision (default HEAD; a version or range for charts)."
    ),
    dest_server: str = typer.Option(
        "https://kubernetes.default.svc", "--dest-server", help="Destination cluster URL."
    ),
    dest_name: str = typer.Option("", "--dest-name", help="Destination cluster name."),
    dest_namespace: str = typer.Option("", "--dest-namespace", help="Destination namespace."),
    project: str = typer.Option("default", "--project", help="AppProject."),
    sync_policy: str = typer.Option("", "--sync-policy", help="automated or none."),
    self_heal: bool = typer.Option(False, "--self-heal", help="Automated sync heals drift."),
    auto_prune: bool = typer.Option(False, "--auto-prune", help="Automated sync prunes."),
    sync_option: list[str] = typer.Option([], "--sync-option", help="e.g. CreateNamespace=true"),
    upsert: bool = typer.Option(False, "--upsert", help="Replace an existing spec."),
) -> None:
    """Create an Application from a file (-f) or from flags."""
    cli = context.get(ctx)
    objects: list[Obj] = []
    if file is not None:
        try:
            text = file.read_text()
        except OSError as exc:
            raise ConfigError(f"{file}: {exc.strerror}") from None
        for parsed in load_applications(text, str(file)):
            obj = dict(parsed.raw)
            obj["metadata"] = {
                **obj["metadata"],
                "namespace": parsed.raw["metadata"].get("namespace") or cli.namespace,
            }
            objects.append(obj)
    elif name:
        if not repo:
            raise ConfigError("--repo is required when creating from flags")
        objects.append(
            _app_from_flags(
                name,
                cli.namespace,
                repo,
                path,
                revision,
                dest_server,
                dest_name,
                dest_namespace,
                project,
                sync_policy,
                self_heal,
                auto_prune,
                sync_option,
                helm_chart,
            )
        )
        parse_application(objects[-1], "flags")
    else:
        raise ConfigError("give an application NAME with --repo/--path, or -f FILE")

    async def body(client: KubeClient) -> list[str]:
        done = []
        for obj in objects:
            meta = obj["metadata"]
            try:
                existing = await client.get(
                    API_VERSION, "Application", meta["name"], meta["namespace"]
                )
            except NotFound:
                existing = None
            if existing is not None and not upsert:
                if existing.get("spec") == obj.get("spec"):
                    done.append(f"application '{meta['name']}' unchanged")
                    continue
                raise ConfigError(
                    f"application {meta['name']!r} exists in {meta['namespace']!r} with a "
                    "different spec; use --upsert to replace it"
                )
            if existing is not None:
                body_obj = {**existing, "spec": obj["spec"]}
                await client.replace(body_obj)
                done.append(f"application '{meta['name']}' updated")
            else:
                await client.create(obj)
                done.append(f"application '{meta['name']}' created")
        return done

    for line in context.run(ctx, body):
        out.print(line)


# -- list / get ------------------------------------------------------------


@app.command("list")
def list_(ctx: typer.Context, output: str = OutputOption) -> None:
    """List Applications."""
    cli = context.get(ctx)

    async def body(client: KubeClient) -> list[Obj]:
        return await client.list(API_VERSION, "Application", cli.namespace)

    apps = sorted(context.run(ctx, body), key=lambda a: a["metadata"]["name"])
    if output in ("json", "yaml"):
        print_object(apps, output)
    elif output == "name":
        for a in apps:
            print(a["metadata"]["name"])
    else:
        out.print(app_view.app_list_table(apps, wide=output == "wide"))


def _refreshed(ctx: typer.Context, name: str, refresh: bool, hard: bool = False) -> Obj:
    cli = context.get(ctx)

    async def body(client: KubeClient) -> Obj:
        obj = await _get_app(client, name, cli.namespace)
        if refresh or hard or spec_changed_since_refresh(obj):
            refresher = await Refresher.create(client, cli.namespace, hard=hard)
            obj, _ = await refresher.refresh(obj)
        return obj

    return context.run(ctx, body)


@app.command()
def get(
    ctx: typer.Context,
    name: str,
    output: str = OutputOption,
    refresh: bool = typer.Option(False, "--refresh", help="Compare with Git and the cluster now."),
    hard_refresh: bool = typer.Option(
        False, "--hard-refresh", help="Refresh, re-rendering even if cached."
    ),
) -> None:
    """Show an Application: header, then its resources with sync and health."""
    obj = _refreshed(ctx, name, refresh, hard_refresh)
    if output in ("json", "yaml"):
        print_object(obj, output)
        return
    app_view.app_header(obj)
    resources = (obj.get("status") or {}).get("resources") or []
    if resources:
        out.print()
        out.print(app_view.resource_table(resources, wide=output == "wide"))


@app.command()
def resources(
    ctx: typer.Context,
    name: str,
    output: str = OutputOption,
    refresh: bool = typer.Option(False, "--refresh", help="Refresh first."),
) -> None:
    """List an Application's resources with their sync and health status."""
    obj = _refreshed(ctx, name, refresh)
    items = (obj.get("status") or {}).get("resources") or []
    if output in ("json", "yaml"):
        print_object(items, output)
    else:
        out.print(app_view.resource_table(items, wide=output == "wide"))


# -- diff / manifests ------------------------------------------------------


@app.command()
def diff(
    ctx: typer.Context,
    name: str,
    local: Path | None = typer.Option(
        None, "--local", help="Compare a local directory instead of Git."
    ),
    revision: str = typer.Option(
        "", "--revision", help="Compare this revision instead of the target."
    ),
    source_position: int = typer.Option(
        0, "--source-position", help="Only the resources of this source (1-based, multi-source)."
    ),
) -> None:
    """Show how the live state differs from Git; exit 1 when it does, 0 when equal."""
    cli = context.get(ctx)

    async def body(client: KubeClient) -> list[tuple[str, str]]:
        obj = await _get_app(client, name, cli.namespace)
        refresher = await Refresher.create(client, cli.namespace, local=local)
        comparison = await refresher.compare(obj, revision or None)
        if comparison.conditions and not comparison.resources:
            raise ConfigError("; ".join(c["message"] for c in comparison.conditions))
        if source_position:
            keep = await _source_keys(refresher, obj, source_position)
            comparison.resources = [
                r for r in comparison.resources if (r.key.group, r.key.kind, r.key.name) in keep
            ]
        return refresher.diffs(comparison)

    diffs = context.run(ctx, body)
    for label, text in diffs:
        out.print(f"[bold]===== {label} =====[/bold]")
        app_view.colour_diff(text)
    raise typer.Exit(1 if diffs else 0)


async def _source_keys(refresher: Refresher, obj: Obj, position: int) -> set[tuple[str, str, str]]:
    """(group, kind, name) of what source ``position`` (1-based) of a multi-source app renders."""
    app = parse_app_object(obj)
    if not app.sources:
        raise ConfigError("--source-position applies to applications with spec.sources")
    service = refresher.manifests
    if not isinstance(service, ManifestService):
        raise ConfigError("--source-position cannot be combined with --local")
    rendered = await service.generate(app, positions=[position], allow_empty=True)
    return {
        (str(o["apiVersion"]).rpartition("/")[0], str(o["kind"]), str(o["metadata"].get("name")))
        for o in rendered.objects
    }


@app.command()
def manifests(
    ctx: typer.Context,
    name: str,
    source: str = typer.Option("git", "--source", help="git (rendered target) or live."),
    revision: str = typer.Option("", "--revision", help="Render this revision instead."),
    source_position: int = typer.Option(
        0, "--source-position", help="Only the resources of this source (1-based, multi-source)."
    ),
) -> None:
    """Print the Application's manifests, as rendered from Git or as live in the cluster."""
    if source not in ("git", "live"):
        raise ConfigError(f"--source: expected git or live, got {source!r}")
    cli = context.get(ctx)

    async def body(client: KubeClient) -> list[Obj]:
        obj = await _get_app(client, name, cli.namespace)
        refresher = await Refresher.create(client, cli.namespace)
        comparison = await refresher.compare(obj, revision or None)
        if comparison.conditions and not comparison.resources:
            raise ConfigError("; ".join(c["message"] for c in comparison.conditions))
        resources = comparison.resources
        if source_position:
            keep = await _source_keys(refresher, obj, source_position)
            resources = [r for r in resources if (r.key.group, r.key.kind, r.key.name) in keep]
        if source == "git":
            return [r.desired for r in resources if r.desired is not None]
        return [r.live for r in resources if r.live is not None]

    docs = context.run(ctx, body)
    sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False) if docs else "")


# -- delete ----------------------------------------------------------------


@app.command()
def delete(
    ctx: typer.Context,
    name: str,
    cascade: bool = typer.Option(
        True, "--cascade/--no-cascade", help="Also delete the resources the app tracks."
    ),
    propagation_policy: str = typer.Option(
        "foreground", "--propagation-policy", "-p", help="foreground, background or orphan."
    ),
    yes: bool = typer.Option(True, "--yes", "-y", help="Accepted for argocd compatibility."),
) -> None:
    """Delete an Application; with --cascade (the default) also the resources it tracks.

    Resources annotated ``argocd.argoproj.io/sync-options: Delete=false`` are kept.
    With --no-cascade they are all left running (orphaned).
    """
    del yes
    cli = context.get(ctx)
    policy = {"foreground": "Foreground", "background": "Background", "orphan": "Orphan"}.get(
        propagation_policy.lower()
    )
    if policy is None:
        raise ConfigError(f"--propagation-policy: unknown policy {propagation_policy!r}")

    async def body(client: KubeClient) -> list[str]:
        obj = await _get_app(client, name, cli.namespace)
        done: list[str] = []
        if cascade:
            refresher = await Refresher.create(client, cli.namespace)
            comparison = await refresher.compare(obj)
            reason = cascading.comparison_failure(comparison)
            if reason is not None:
                raise ConfigError(
                    "cannot find the app's resources to cascade the delete: "
                    + reason
                    + " (use --no-cascade to delete only the Application)"
                )
            # The resources live on the app's destination cluster, not necessarily this one.
            target = (await refresher.target(obj)).client
            try:
                done = await cascading.delete_app_resources(
                    target, comparison.resources, policy, owner=obj
                )
            except cascading.DeletionError as exc:
                for line in exc.done:
                    err.print(escape(line))
                raise
        # Only gitward's own resources finalizer goes, with a resourceVersion guard: another
        # controller's finalizer stays, and that controller finishes the deletion.
        if await cascading.remove_resources_finalizers(client, obj) is not None:
            with contextlib.suppress(NotFound):
                await client.delete(
                    API_VERSION, "Application", *_where(obj), propagation="Background"
                )
        return done

    for line in context.run(ctx, body):
        err.print(escape(line))
    out.print(f"application '{name}' deleted")


# -- sync / wait / history / rollback --------------------------------------


def _parse_resource(spec: str) -> tuple[str, str, str]:
    parts = spec.split(":")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise ConfigError(f"--resource {spec!r}: expected GROUP:KIND:NAME (GROUP may be empty)")
    return parts[0], parts[1], parts[2]


def _print_progress(task: SyncTask) -> None:
    shown = task.hook_phase if task.action == "hook" and task.hook_phase != "Succeeded" else None
    state = str(shown or task.status or "")
    colour = {"Synced": "green", "Pruned": "green", "SyncFailed": "red", "Failed": "red"}.get(
        state, "yellow"
    )
    err.print(
        f"[{colour}]{state:<12}[/{colour}] {task.phase:<8} {escape(str(task.key))}  "
        f"[dim]{escape(task.message)}[/dim]"
    )


def _result_table(result: OperationResult) -> Table:
    table = Table("GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "HOOK", box=None)
    table.add_column("MESSAGE", overflow="fold")
    for task in result.tasks:
        live_health = health.assess(task.live) if task.live is not None else None
        table.add_row(
            escape(task.key.group),
            escape(task.key.kind),
            escape(task.key.namespace),
            escape(task.key.name),
            app_view.coloured(str(task.status or task.hook_phase or "")),
            app_view.coloured(str(live_health.status)) if live_health else "",
            str(task.phase) if task.action == "hook" else "",
            escape(task.message),
        )
    return table


def _retry(limit: int, duration: str, factor: int, max_duration: str) -> Retry | None:
    """A retry policy from flags; None (use the app's own) when no retry was asked for."""
    if limit == 0:
        return None
    for flag, value in (
        ("--retry-backoff-duration", duration),
        ("--retry-backoff-max-duration", max_duration),
    ):
        try:
            parse_duration(value)
        except ValueError as exc:
            raise ConfigError(f"{flag}: {exc}") from None
    if factor < 1:
        raise ConfigError("--retry-backoff-factor: must be 1 or more")
    return Retry(
        limit=limit, backoff=Backoff(duration=duration, factor=factor, max_duration=max_duration)
    )


def _sync(
    ctx: typer.Context, name: str, request: SyncRequest, timeout: float, output: str
) -> OperationResult:
    cli = context.get(ctx)

    async def body(client: KubeClient) -> OperationResult:
        obj = await _get_app(client, name, cli.namespace)
        refresher = await Refresher.create(client, cli.namespace)
        return await run_sync(
            refresher,
            obj,
            request,
            timeout=timeout,
            progress=_print_progress if output != "json" else lambda _t: None,
            notice=lambda msg: err.print(f"[yellow]{escape(msg)}[/yellow]"),
        )

    return context.run(ctx, body)


@app.command()
def sync(
    ctx: typer.Context,
    name: str,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would change; change nothing."
    ),
    prune: bool = typer.Option(False, "--prune", help="Delete resources Git no longer declares."),
    force: bool = typer.Option(
        False, "--force", help="Re-create resources that cannot be patched."
    ),
    resource: list[str] = typer.Option([], "--resource", help="Only GROUP:KIND:NAME (repeatable)."),
    revision: str = typer.Option(
        "", "--revision", help="Sync this revision instead of the target."
    ),
    sync_option: list[str] = typer.Option([], "--sync-option", help="e.g. ApplyOutOfSyncOnly=true"),
    apply_out_of_sync_only: bool = typer.Option(
        False, "--apply-out-of-sync-only", help="Skip resources that are already Synced."
    ),
    timeout: float = typer.Option(300.0, "--timeout", help="Seconds before the sync gives up."),
    retry_limit: int = typer.Option(
        0, "--retry-limit", help="Retry a failed sync this many times (-1: until --timeout)."
    ),
    retry_backoff_duration: str = typer.Option(
        "5s", "--retry-backoff-duration", help="Wait before the first retry."
    ),
    retry_backoff_factor: int = typer.Option(
        2, "--retry-backoff-factor", help="Multiply the wait by this after each retry."
    ),
    retry_backoff_max_duration: str = typer.Option(
        "3m", "--retry-backoff-max-duration", help="Longest wait between retries."
    ),
    output: str = OutputOption,
) -> None:
    """Sync an Application to its target revision; exit non-zero if anything failed.

    Without --retry-limit the app's spec.syncPolicy.retry applies.
    """
    options = list(sync_option)
    if apply_out_of_sync_only:
        options.append("ApplyOutOfSyncOnly=true")
    request = SyncRequest(
        revision=revision or None,
        prune=prune,
        dry_run=dry_run,
        force=force,
        resources=frozenset(_parse_resource(r) for r in resource) if resource else None,
        sync_options=tuple(options),
        retry=_retry(
            retry_limit, retry_backoff_duration, retry_backoff_factor, retry_backoff_max_duration
        ),
    )
    result = _sync(ctx, name, request, timeout, output)
    if output == "json":
        print_object(
            {
                "phase": result.phase,
                "message": result.message,
                "revision": result.revision,
                "resources": [t.as_result() for t in result.tasks],
            },
            "json",
        )
    else:
        out.print(f"{'Operation:':<16}Sync{' (dry run)' if dry_run else ''}")
        out.print(f"{'Sync Revision:':<16}{result.revision}")
        out.print(f"{'Phase:':<16}{app_view.coloured(result.phase)}")
        out.print(f"{'Message:':<16}{escape(result.message)}")
        if result.tasks:
            out.print()
            out.print(_result_table(result))
    if result.phase != "Succeeded":
        raise typer.Exit(1)


@app.command()
def wait(
    ctx: typer.Context,
    name: str,
    sync_: bool = typer.Option(False, "--sync", help="Wait until Synced."),
    health_: bool = typer.Option(False, "--health", help="Wait until Healthy."),
    operation: bool = typer.Option(False, "--operation", help="Wait until no operation runs."),
    timeout: float = typer.Option(300.0, "--timeout", help="Seconds to wait."),
) -> None:
    """Wait for an Application to be Synced and/or Healthy (both when neither is given).

    Only reads: the cluster is compared in memory, never written, so a wait beside a
    running controller does not race its status writes."""
    cli = context.get(ctx)
    want_sync = sync_ or not (health_ or operation)
    want_health = health_ or not (sync_ or operation)

    async def body(client: KubeClient) -> Obj:
        refresher = await Refresher.create(client, cli.namespace)
        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            obj = await _get_app(client, name, cli.namespace)
            if not obj.get("operation"):
                comparison = await refresher.compare(obj)
                obj = {
                    **obj,
                    "status": {**(obj.get("status") or {}), **status_fields(comparison, obj)},
                }
            status = obj.get("status") or {}
            done = (
                (not want_sync or (status.get("sync") or {}).get("status") == "Synced")
                and (not want_health or (status.get("health") or {}).get("status") == "Healthy")
                and (not operation or not obj.get("operation"))
            )
            if done:
                return obj
            if time.monotonic() > deadline:
                sync_status = (status.get("sync") or {}).get("status")
                health_status = (status.get("health") or {}).get("status")
                raise WaitTimeout(
                    f"timed out after {timeout:.0f} s waiting for application {name!r}: "
                    f"sync {sync_status}, health {health_status}"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 3.0)

    obj = context.run(ctx, body)
    app_view.app_header(obj)


@app.command("history")
def history_(ctx: typer.Context, name: str, output: str = OutputOption) -> None:
    """List what was deployed, newest last: ID, date, revision."""
    cli = context.get(ctx)

    async def body(client: KubeClient) -> Obj:
        return await _get_app(client, name, cli.namespace)

    entries = list(((context.run(ctx, body).get("status") or {}).get("history")) or [])
    if output in ("json", "yaml"):
        print_object(entries, output)
        return
    table = Table("ID", "DATE", "REVISION", box=None)
    for entry in entries:
        if entry.get("revisions"):
            sources = entry.get("sources") or []
            shown = ", ".join(
                f"{(sources[i] if i < len(sources) else {}).get('targetRevision') or 'HEAD'} "
                f"({str(rev)[:7]})"
                for i, rev in enumerate(entry["revisions"])
            )
            table.add_row(str(entry.get("id")), entry.get("deployedAt", ""), shown)
            continue
        source = entry.get("source") or {}
        revision = entry.get("revision", "")
        target = source.get("targetRevision") or "HEAD"
        table.add_row(
            str(entry.get("id")), entry.get("deployedAt", ""), f"{target} ({revision[:7]})"
        )
    out.print(table)


@app.command()
def rollback(
    ctx: typer.Context,
    name: str,
    history_id: int | None = typer.Argument(None, help="History ID (default: the previous one)."),
    timeout: float = typer.Option(300.0, "--timeout", help="Seconds before the sync gives up."),
    prune: bool = typer.Option(False, "--prune", help="Also prune what the old revision lacks."),
) -> None:
    """Deploy a previous revision from the history. Disables automated sync, as Argo CD does."""
    cli = context.get(ctx)

    async def body(client: KubeClient) -> OperationResult:
        obj = await _get_app(client, name, cli.namespace)
        entries = list((obj.get("status") or {}).get("history") or [])
        if not entries:
            raise ConfigError(f"application {name!r} has no history to roll back to")
        if history_id is None:
            if len(entries) < 2:
                raise ConfigError(f"application {name!r} has only one history entry")
            entry = entries[-2]
        else:
            found = history.find(entries, history_id)
            if found is None:
                ids = ", ".join(str(e.get("id")) for e in entries)
                raise ConfigError(
                    f"application {name!r} has no history ID {history_id} (IDs: {ids})"
                )
            entry = found
        automated = ((obj.get("spec") or {}).get("syncPolicy") or {}).get("automated")
        if automated is not None:
            err.print(
                "[yellow]warning:[/yellow] automated sync is disabled for "
                f"{escape(name)} so the rollback is not undone; re-enable it with "
                f"gitward app set {escape(name)} --sync-policy automated"
            )
            obj = await client.patch(
                API_VERSION,
                "Application",
                *_where(obj),
                {"spec": {"syncPolicy": {"automated": None}}},
            )
        refresher = await Refresher.create(client, cli.namespace)
        if entry.get("revisions"):
            revisions = tuple(str(r) for r in entry["revisions"])
            request = SyncRequest(revisions=revisions, prune=prune)
        else:
            request = SyncRequest(revision=str(entry["revision"]), prune=prune)
        return await run_sync(
            refresher,
            obj,
            request,
            timeout=timeout,
            progress=_print_progress,
        )

    result = context.run(ctx, body)
    out.print(f"{'Phase:':<16}{app_view.coloured(result.phase)}")
    out.print(f"{'Revision:':<16}{result.revision}")
    out.print(f"{'Message:':<16}{escape(result.message)}")
    if result.phase != "Succeeded":
        raise typer.Exit(1)


@app.command("terminate-op")
def terminate_op(ctx: typer.Context, name: str) -> None:
    """Clear a stuck operation lock (e.g. left by a killed sync)."""
    cli = context.get(ctx)

    async def body(client: KubeClient) -> None:
        obj = await _get_app(client, name, cli.namespace)
        await release(client, obj)

    context.run(ctx, body)
    out.print(f"operation of application '{name}' terminated")


class WaitTimeout(GitwardError):
    """``app wait`` ran out of time."""


def _set_patch(
    spec: Obj,
    *,
    repo: str,
    path: str,
    revision: str,
    dest_server: str,
    dest_name: str,
    dest_namespace: str,
    project: str,
    sync_policy: str,
    self_heal: bool | None,
    auto_prune: bool | None,
    allow_empty: bool | None,
    sync_options: list[str],
    kustomize_images: list[str],
    helm_params: list[str],
    values_files: list[str],
) -> Obj:
    """The new spec: ``spec`` with every given flag applied (the input is not modified)."""
    new: Obj = json.loads(json.dumps(spec))
    if new.get("sources"):
        raise ConfigError("app set edits single-source applications; edit spec.sources directly")
    source = new.setdefault("source", {})
    for key, value in (("repoURL", repo), ("path", path), ("targetRevision", revision)):
        if value:
            source[key] = value
    dest = new.setdefault("destination", {})
    if dest_server:
        dest["server"] = dest_server
        dest.pop("name", None)
    if dest_name:
        dest["name"] = dest_name
        dest.pop("server", None)
    if dest_namespace:
        dest["namespace"] = dest_namespace
    if project:
        new["project"] = project
    policy = new.setdefault("syncPolicy", {})
    if sync_policy in ("none", "manual"):
        policy.pop("automated", None)
    elif sync_policy in ("automated", "auto", "automatic"):
        policy.setdefault("automated", {})
    elif sync_policy:
        raise ConfigError(f"--sync-policy: unknown policy {sync_policy!r} (automated or none)")
    for key, flag in (("selfHeal", self_heal), ("prune", auto_prune), ("allowEmpty", allow_empty)):
        if flag is not None:
            if "automated" not in policy:
                raise ConfigError(
                    "--self-heal/--auto-prune/--allow-empty need --sync-policy automated"
                )
            policy["automated"][key] = flag
    if sync_options:
        existing = {o.partition("=")[0]: o for o in policy.get("syncOptions", [])}
        existing.update({o.partition("=")[0]: o for o in sync_options})
        policy["syncOptions"] = list(existing.values())
    if not policy:
        new.pop("syncPolicy")
    if kustomize_images:
        kustomize = source.setdefault("kustomize", {})
        images = {_image_name(i): i for i in kustomize.get("images", [])}
        images.update({_image_name(i): i for i in kustomize_images})
        kustomize["images"] = list(images.values())
    if helm_params or values_files:
        helm_spec = source.setdefault("helm", {})
        params = {p["name"]: p for p in helm_spec.get("parameters", [])}
        for item in helm_params:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ConfigError(f"--helm-set {item!r}: expected NAME=VALUE")
            params[key] = {"name": key, "value": value}
        if params:
            helm_spec["parameters"] = list(params.values())
        if values_files:
            helm_spec["valueFiles"] = list(values_files)
    return new


def _image_name(image: str) -> str:
    """``nginx`` of ``nginx=nginx:1.2`` / ``nginx:1.2`` / ``nginx@sha256:...``."""
    name = image.partition("=")[0] if "=" in image else image
    name = name.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name


@app.command("set")
def set_(
    ctx: typer.Context,
    name: str,
    repo: str = typer.Option("", "--repo", help="Repository URL."),
    path: str = typer.Option("", "--path", help="Path inside the repository."),
    revision: str = typer.Option("", "--revision", help="Target revision."),
    dest_server: str = typer.Option("", "--dest-server", help="Destination cluster URL."),
    dest_name: str = typer.Option("", "--dest-name", help="Destination cluster name."),
    dest_namespace: str = typer.Option("", "--dest-namespace", help="Destination namespace."),
    project: str = typer.Option("", "--project", help="AppProject."),
    sync_policy: str = typer.Option("", "--sync-policy", help="automated or none."),
    self_heal: bool | None = typer.Option(None, "--self-heal/--no-self-heal", help="Heal drift."),
    auto_prune: bool | None = typer.Option(None, "--auto-prune/--no-auto-prune", help="Prune."),
    allow_empty: bool | None = typer.Option(
        None, "--allow-empty/--no-allow-empty", help="Allow syncing to an empty render."
    ),
    sync_option: list[str] = typer.Option([], "--sync-option", help="e.g. CreateNamespace=true"),
    kustomize_image: list[str] = typer.Option(
        [], "--kustomize-image", help="Kustomize image override, e.g. myapp=myapp:1.2.0."
    ),
    helm_set: list[str] = typer.Option([], "--helm-set", "-p", help="Helm parameter NAME=VALUE."),
    values: list[str] = typer.Option([], "--values", help="Helm value files (replaces the list)."),
) -> None:
    """Change an Application's spec: source, destination, sync policy, parameters."""
    cli = context.get(ctx)

    async def body(client: KubeClient) -> None:
        obj = await _get_app(client, name, cli.namespace)
        spec = _set_patch(
            obj.get("spec") or {},
            repo=repo,
            path=path,
            revision=revision,
            dest_server=dest_server,
            dest_name=dest_name,
            dest_namespace=dest_namespace,
            project=project,
            sync_policy=sync_policy,
            self_heal=self_heal,
            auto_prune=auto_prune,
            allow_empty=allow_empty,
            sync_options=sync_option,
            kustomize_images=kustomize_image,
            helm_params=helm_set,
            values_files=values,
        )
        updated = {**obj, "spec": spec}
        parse_application(updated, f"application {name}")
        await client.replace(updated)

    context.run(ctx, body)
    out.print(f"application '{name}' updated")
