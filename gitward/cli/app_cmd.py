"""``gitward app``: create, inspect and compare Applications (kubeconfig mode).

Applications are objects in the cluster (namespace ``--namespace``, default
``argocd``); every read that needs fresh state runs a refresh — render,
compare, assess — and stores the result in the Application's status, so
``kubectl get application`` shows what ``gitward app get`` shows.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.markup import escape

from gitward.cli import app_remote, app_view, context
from gitward.cli.console import err, out
from gitward.cli.output import print_object
from gitward.cluster import KubeClient, NotFound
from gitward.model.application import (
    API_VERSION,
    load_applications,
    parse_application,
    split_qualified,
)
from gitward.model.errors import ConfigError
from gitward.reposerver import ManifestService
from gitward.services import refresher_for
from gitward.sync import cascade as cascading
from gitward.sync.refresh import Refresher, parse_app_object
from gitward.sync.status import spec_changed_since_refresh

Obj = dict[str, Any]

app = typer.Typer(help="Manage Applications.", no_args_is_help=True)

OutputOption = typer.Option("", "--output", "-o", help="Output format: json, yaml or wide.")


async def fetch_app(client: KubeClient, name: str, namespace: str) -> Obj:
    """The Application ``name``: ``NAME`` in ``namespace``, or ``NS/NAME`` in another one."""
    app_namespace, plain = split_qualified(name, namespace)
    try:
        return await client.get(API_VERSION, "Application", plain, app_namespace)
    except NotFound:
        raise ConfigError(
            f"application {plain!r} not found in namespace {app_namespace!r}"
        ) from None


def where_of(obj: Obj) -> tuple[str, str]:
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
        obj = await fetch_app(client, name, cli.namespace)
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
        obj = await fetch_app(client, name, cli.namespace)
        refresher = await refresher_for(client, cli.namespace, local=local)
        comparison = await refresher.compare(obj, revision or None)
        if comparison.conditions and not comparison.resources:
            raise ConfigError("; ".join(c["message"] for c in comparison.conditions))
        if source_position:
            keep = await _source_keys(refresher, obj, source_position)
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
        obj = await fetch_app(client, name, cli.namespace)
        refresher = await refresher_for(client, cli.namespace)
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
        obj = await fetch_app(client, name, cli.namespace)
        done: list[str] = []
        if cascade:
            refresher = await refresher_for(client, cli.namespace)
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
                    API_VERSION, "Application", *where_of(obj), propagation="Background"
                )
        return done

    for line in context.run(ctx, body):
        err.print(escape(line))
    out.print(f"application '{name}' deleted")


# -- sync / wait / history / rollback --------------------------------------


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
        obj = await fetch_app(client, name, cli.namespace)
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
