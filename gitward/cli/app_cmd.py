"""``gitward app``: create, inspect and compare Applications (kubeconfig mode).

Applications are objects in the cluster (namespace ``--namespace``, default
``argocd``); every read that needs fresh state runs a refresh — render,
compare, assess — and stores the result in the Application's status, so
``kubectl get application`` shows what ``gitward app get`` shows.
"""

from __future__ import annotations

import sys
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
from gitward.cluster import KubeClient
from gitward.model.app_edit import (
    NewApp,
    SpecEdit,
    new_application,
    resource_selector,
    retry_from_flags,
)
from gitward.model.application import parse_application
from gitward.model.destination import IN_CLUSTER_SERVER
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION, APPLICATION
from gitward.sync import cascade as cascading
from gitward.sync.app_writes import (
    applications_in_file,
    create_or_update,
    disable_automated,
    get_app,
    set_spec,
)
from gitward.sync.lock import release
from gitward.sync.operation import OperationResult, run_sync
from gitward.sync.options import propagation_policy
from gitward.sync.plan import SyncRequest, SyncTask
from gitward.sync.rollback import rollback_entry, rollback_request
from gitward.sync.status import spec_changed_since_refresh
from gitward.sync.wait import WaitFor, wait_for

Obj = dict[str, Any]

app = typer.Typer(help="Manage Applications.", no_args_is_help=True)

OutputOption = typer.Option("", "--output", "-o", help="Output format: json, yaml or wide.")


# -- create -----------------------------------------------------------------


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
        IN_CLUSTER_SERVER, "--dest-server", help="Destination cluster URL."
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
        objects = applications_in_file(text, str(file), cli.namespace)
    elif name:
        flags = NewApp(
            name=name,
            namespace=cli.namespace,
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
            sync_options=tuple(sync_option),
            helm_chart=helm_chart,
        )
        objects.append(new_application(flags))
        parse_application(objects[-1], "flags")
    else:
        raise ConfigError("give an application NAME with --repo/--path, or -f FILE")

    async def body(client: KubeClient) -> list[str]:
        return [await create_or_update(client, obj, upsert=upsert) for obj in objects]

    for line in context.run(ctx, body):
        out.print(line)


# -- list / get ------------------------------------------------------------


@app.command("list")
def list_(ctx: typer.Context, output: str = OutputOption) -> None:
    """List Applications."""
    cli = context.get(ctx)

    async def body(client: KubeClient) -> list[Obj]:
        return await client.list(API_VERSION, APPLICATION, cli.namespace)

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
        obj = await get_app(client, name, cli.namespace)
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
        obj = await get_app(client, name, cli.namespace)
        refresher = await Refresher.create(client, cli.namespace, local=local)
        comparison = await refresher.compare(obj, revision or None)
        if comparison.conditions and not comparison.resources:
            raise ConfigError("; ".join(c["message"] for c in comparison.conditions))
        if source_position:
            keep = await refresher.source_keys(obj, source_position)
            comparison.resources = [
                r for r in comparison.resources if (r.key.group, r.key.kind, r.key.name) in keep
            ]
        return refresher.diffs(comparison)

    diffs = context.run(ctx, body)
    for label, text in diffs:
        out.print(f"[bold]===== {label} =====[/bold]")
        app_view.colour_diff(text)
    raise typer.Exit(1 if diffs else 0)


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
        obj = await get_app(client, name, cli.namespace)
        refresher = await Refresher.create(client, cli.namespace)
        comparison = await refresher.compare(obj, revision or None)
        if comparison.conditions and not comparison.resources:
            raise ConfigError("; ".join(c["message"] for c in comparison.conditions))
        resources = comparison.resources
        if source_position:
            keep = await refresher.source_keys(obj, source_position)
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
    propagation_policy_flag: str = typer.Option(
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
    policy = propagation_policy(propagation_policy_flag, "--propagation-policy")

    async def body(client: KubeClient) -> list[str]:
        obj = await get_app(client, name, cli.namespace)
        refresher = await Refresher.create(client, cli.namespace) if cascade else None

        async def destination(app_obj: Obj) -> KubeClient:
            # The resources live on the app's destination cluster, not necessarily this one.
            assert refresher is not None
            return (await refresher.target(app_obj)).client

        try:
            return await cascading.delete_application(
                client,
                obj,
                policy,
                compare=refresher.compare if refresher is not None else None,
                destination=destination,
            )
        except cascading.DeletionError as exc:
            for line in exc.done:
                err.print(escape(line))
            raise

    for line in context.run(ctx, body):
        err.print(escape(line))
    out.print(f"application '{name}' deleted")


# -- sync / wait / history / rollback --------------------------------------


def _print_progress(task: SyncTask) -> None:
    state = (
        task.hook_phase if task.action == "hook" and task.hook_phase != "Succeeded" else task.status
    )
    colour = {"Synced": "green", "Pruned": "green", "SyncFailed": "red", "Failed": "red"}.get(
        state, "yellow"
    )
    err.print(
        f"[{colour}]{state:<12}[/{colour}] {task.phase.label:<8} {escape(str(task.key))}  "
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
            app_view.coloured(task.status or task.hook_phase),
            app_view.coloured(str(live_health.status)) if live_health else "",
            task.phase.label if task.action == "hook" else "",
            escape(task.message),
        )
    return table


def _sync(
    ctx: typer.Context, name: str, request: SyncRequest, timeout: float, output: str
) -> OperationResult:
    cli = context.get(ctx)

    async def body(client: KubeClient) -> OperationResult:
        obj = await get_app(client, name, cli.namespace)
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
        resources=frozenset(resource_selector(r) for r in resource) if resource else None,
        sync_options=tuple(options),
        retry=retry_from_flags(
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
    want = WaitFor(sync=sync_, health=health_, operation=operation)

    async def body(client: KubeClient) -> Obj:
        refresher = await Refresher.create(client, cli.namespace)
        return await wait_for(
            refresher, lambda: get_app(client, name, cli.namespace), want, timeout, name
        )

    obj = context.run(ctx, body)
    app_view.app_header(obj)


@app.command("history")
def history_(ctx: typer.Context, name: str, output: str = OutputOption) -> None:
    """List what was deployed, newest last: ID, date, revision."""
    cli = context.get(ctx)

    async def body(client: KubeClient) -> Obj:
        return await get_app(client, name, cli.namespace)

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
        obj = await get_app(client, name, cli.namespace)
        request = rollback_request(rollback_entry(obj, history_id, name), prune=prune)
        disabled = await disable_automated(client, obj)
        if disabled is not None:
            err.print(
                "[yellow]warning:[/yellow] automated sync is disabled for "
                f"{escape(name)} so the rollback is not undone; re-enable it with "
                f"gitward app set {escape(name)} --sync-policy automated"
            )
            obj = disabled
        refresher = await Refresher.create(client, cli.namespace)
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
        obj = await get_app(client, name, cli.namespace)
        await release(client, obj)

    context.run(ctx, body)
    out.print(f"operation of application '{name}' terminated")


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

    edit = SpecEdit(
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
        sync_options=tuple(sync_option),
        kustomize_images=tuple(kustomize_image),
        helm_params=tuple(helm_set),
        values_files=tuple(values),
    )

    async def body(client: KubeClient) -> None:
        await set_spec(client, name, cli.namespace, edit)

    context.run(ctx, body)
    out.print(f"application '{name}' updated")
