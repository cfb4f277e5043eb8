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

from gitward.apiclient import ApiClient
from gitward.appstate.app_writes import (
    applications_in_file,
    create_or_update,
    get_app,
    set_spec,
)
from gitward.appstate.status import spec_changed_since_refresh
from gitward.cli import app_remote, app_remote_edit, app_view, context
from gitward.cli.console import err, out
from gitward.cli.output import print_object
from gitward.cluster import KubeClient
from gitward.model.app_edit import (
    NewApp,
    SpecEdit,
    new_application,
)
from gitward.model.application import parse_application
from gitward.model.destination import IN_CLUSTER_SERVER
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION, APPLICATION
from gitward.model.resource_options import propagation_policy
from gitward.services import refresher_for
from gitward.sync import cascade as cascading

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

    async def served(client: ApiClient) -> list[str]:
        return [
            await app_remote_edit.create(client, obj, upsert=upsert, namespace=cli.namespace)
            for obj in objects
        ]

    lines = context.run_api(ctx, served) if cli.remote() is not None else context.run(ctx, body)
    for line in lines:
        out.print(line)


# -- list / get ------------------------------------------------------------


@app.command("list")
def list_(ctx: typer.Context, output: str = OutputOption) -> None:
    """List Applications."""
    cli = context.get(ctx)

    async def body(client: KubeClient) -> list[Obj]:
        return await client.list(API_VERSION, APPLICATION, cli.namespace)

    if cli.remote() is not None:
        found = context.run_api(ctx, app_remote.list_apps)
    else:
        found = context.run(ctx, body)
    apps = sorted(found, key=lambda a: a["metadata"]["name"])
    if output in ("json", "yaml"):
        print_object(apps, output)
    elif output == "name":
        for a in apps:
            print(a["metadata"]["name"])
    else:
        out.print(app_view.app_list_table(apps, wide=output == "wide"))


def _refreshed(ctx: typer.Context, name: str, refresh: bool, hard: bool = False) -> Obj:
    cli = context.get(ctx)
    if cli.remote() is not None:
        how = "hard" if hard else "normal" if refresh else ""
        return context.run_api(ctx, lambda c: app_remote.get_app(c, name, cli.namespace, how))

    async def body(client: KubeClient) -> Obj:
        obj = await get_app(client, name, cli.namespace)
        if refresh or hard or spec_changed_since_refresh(obj):
            refresher = await refresher_for(client, cli.namespace, hard=hard)
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
    if cli.remote() is not None:
        if local or revision or source_position:
            raise ConfigError("--local, --revision and --source-position need --core")
        _print_diffs(context.run_api(ctx, lambda c: app_remote.diffs(c, name, cli.namespace)))

    async def body(client: KubeClient) -> list[tuple[str, str]]:
        obj = await get_app(client, name, cli.namespace)
        refresher = await refresher_for(client, cli.namespace, local=local)
        comparison = await refresher.compare(obj, revision or None)
        if comparison.conditions and not comparison.resources:
            raise ConfigError("; ".join(c["message"] for c in comparison.conditions))
        if source_position:
            keep = await refresher.source_keys(obj, source_position)
            comparison.resources = [
                r for r in comparison.resources if (r.key.group, r.key.kind, r.key.name) in keep
            ]
        return refresher.diffs(comparison)

    _print_diffs(context.run(ctx, body))


def _print_diffs(diffs: list[tuple[str, str]]) -> None:
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
    if cli.remote() is not None:
        if source_position:
            raise ConfigError("--source-position needs --core")
        _print_docs(
            context.run_api(
                ctx, lambda c: app_remote_edit.manifests(c, name, cli.namespace, source, revision)
            )
        )
        return

    async def body(client: KubeClient) -> list[Obj]:
        obj = await get_app(client, name, cli.namespace)
        refresher = await refresher_for(client, cli.namespace)
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

    _print_docs(context.run(ctx, body))


def _print_docs(docs: list[Obj]) -> None:
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
    timeout: float = typer.Option(
        300.0, "--timeout", help="Through a server: seconds to wait for the controller's delete."
    ),
) -> None:
    """Delete an Application; with --cascade (the default) also the resources it tracks.

    Resources annotated ``argocd.argoproj.io/sync-options: Delete=false`` are kept.
    With --no-cascade they are all left running (orphaned). Through a server, the
    controller deletes them and the command waits until the Application is gone.
    """
    del yes
    cli = context.get(ctx)
    policy = propagation_policy(propagation_policy_flag, "--propagation-policy")
    if cli.remote() is not None:
        context.run_api(
            ctx,
            lambda c: app_remote_edit.delete(
                c, name, cli.namespace, cascade=cascade, policy=policy, timeout=timeout
            ),
        )
        out.print(f"application '{name}' deleted")
        return

    async def body(client: KubeClient) -> list[str]:
        obj = await get_app(client, name, cli.namespace)
        refresher = await refresher_for(client, cli.namespace) if cascade else None

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

    if cli.remote() is not None:
        context.run_api(ctx, lambda c: app_remote_edit.set_spec(c, name, cli.namespace, edit))
    else:
        context.run(ctx, body)
    out.print(f"application '{name}' updated")
