"""``gitward proj``: AppProjects — the fence around applications — with ``argocd proj``'s verbs.

Projects are AppProject objects in gitward's namespace (``--namespace``). This module
parses flags and prints; the edits are pure functions in :mod:`gitward.projects.edit`,
the checks in :mod:`gitward.projects.validate`, and the read-validate-write loop (with
the resourceVersion guard, and the refusal to delete a project in use) in
:mod:`gitward.appstate.project_writes`. Nothing invalid is ever written: a bad cron, time
zone or glob is an error naming the field, and the stored project stays as it was.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.markup import escape

from gitward._util.yamlload import KubeLoader
from gitward.apiclient import ApiClient
from gitward.appstate import project_writes
from gitward.cli import context, proj_remote, proj_view
from gitward.cli.console import out
from gitward.cli.output import check_output, print_object
from gitward.cluster import KubeClient
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION, APP_PROJECT
from gitward.projects import edit
from gitward.projects.edit import Change

Obj = dict[str, Any]

app = typer.Typer(
    help="Manage projects (AppProjects): which repositories, clusters, namespaces and kinds "
    "their applications may use, and when they may sync.",
    no_args_is_help=True,
)
windows_app = typer.Typer(help="Manage a project's sync windows.", no_args_is_help=True)
app.add_typer(windows_app, name="windows")

ProjectArgument = typer.Argument(..., metavar="PROJECT", help="The project's name.")
WindowIdArgument = typer.Argument(
    ..., metavar="ID", help="The window's ID (its position, from `proj windows list`)."
)


def _edit(ctx: typer.Context, name: str, change: Callable[[Obj], Change]) -> None:
    """Read, edit, validate and write one project; print what the edit did (or did not)."""
    cli = context.get(ctx)
    if cli.remote() is not None:
        result = context.run_api(ctx, lambda c: proj_remote.update(c, name, cli.namespace, change))
    else:
        result = context.run(
            ctx, lambda client: project_writes.update_project(client, name, cli.namespace, change)
        )
    out.print(escape(result.message))


# -- create, get, list, delete ----------------------------------------------------------------


def load_file(source: str) -> Obj:
    """The one AppProject in a YAML or JSON file (``-`` is standard input)."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None
    try:
        docs = [d for d in yaml.load_all(text, Loader=KubeLoader) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{source}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if len(docs) != 1 or not isinstance(docs[0], dict) or docs[0].get("kind") != APP_PROJECT:
        raise ConfigError(f"{source}: expected exactly one {API_VERSION} AppProject")
    return docs[0]


def _dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _from_file(source: str, name: str | None, namespace: str) -> Obj:
    obj = load_file(source)
    meta = _dict(obj.get("metadata"))
    file_name = str(meta.get("name") or "")
    if name and file_name and name != file_name:
        raise ConfigError(
            f"project name {name!r} does not match metadata.name {file_name!r} in {source}"
        )
    if meta.get("namespace") and meta["namespace"] != namespace:
        raise ConfigError(
            f"{source}: metadata.namespace {meta['namespace']!r}: projects live in gitward's "
            f"namespace {namespace!r} (--namespace)"
        )
    project = edit.new_project(name or file_name, namespace, _dict(obj.get("spec")))
    for key in ("labels", "annotations", "finalizers"):
        if meta.get(key):
            project["metadata"][key] = meta[key]
    return project


def _group_kinds(values: list[str], flag: str) -> list[Obj]:
    return [edit.group_kind_from_flag(v, flag) for v in values]


@app.command()
def create(
    ctx: typer.Context,
    name: str | None = typer.Argument(
        None, metavar="PROJECT", help="Name (optional with -f: the file's metadata.name)."
    ),
    file: str | None = typer.Option(
        None, "--file", "-f", help="AppProject manifest (YAML or JSON; - for stdin)."
    ),
    description: str | None = typer.Option(None, "--description", help="Project description."),
    src: list[str] = typer.Option(
        [], "--src", "-s", help="Permitted source repository URL or glob (repeatable)."
    ),
    dest: list[str] = typer.Option(
        [],
        "--dest",
        "-d",
        help="Permitted destination SERVER,NAMESPACE or CLUSTER-NAME,NAMESPACE (repeatable).",
    ),
    source_namespaces: list[str] = typer.Option(
        [], "--source-namespaces", help="Namespaces its Applications may live in (a,b,...)."
    ),
    allow_cluster: list[str] = typer.Option(
        [], "--allow-cluster-resource", help="Allowed cluster-scoped GROUP/KIND (repeatable)."
    ),
    deny_cluster: list[str] = typer.Option(
        [], "--deny-cluster-resource", help="Denied cluster-scoped GROUP/KIND (repeatable)."
    ),
    allow_namespaced: list[str] = typer.Option(
        [], "--allow-namespaced-resource", help="Allowed namespaced GROUP/KIND (repeatable)."
    ),
    deny_namespaced: list[str] = typer.Option(
        [], "--deny-namespaced-resource", help="Denied namespaced GROUP/KIND (repeatable)."
    ),
    orphaned_resources: bool = typer.Option(
        False, "--orphaned-resources", help="Enable orphaned-resource monitoring."
    ),
    orphaned_resources_warn: bool = typer.Option(
        False, "--orphaned-resources-warn", help="Warn (a condition) about orphaned resources."
    ),
    upsert: bool = typer.Option(
        False, "--upsert", help="Replace an existing project's spec even if it differs."
    ),
) -> None:
    """Create a project from flags, or from a file (-f) with flags overriding its fields.

    An existing project with the same spec is left alone; one with a different spec
    is refused unless --upsert.
    """
    cli = context.get(ctx)
    if file:
        project = _from_file(file, name, cli.namespace)
    elif name:
        project = edit.new_project(name, cli.namespace)
    else:
        raise ConfigError("give the project's name, or a file with -f")
    project["spec"] = edit.with_create_flags(
        project["spec"],
        description=description,
        sources=src,
        destinations=[edit.destination_from_flag(d) for d in dest],
        source_namespaces=edit.split_list(source_namespaces),
        resources={
            ("cluster", "allow"): _group_kinds(allow_cluster, "--allow-cluster-resource"),
            ("cluster", "deny"): _group_kinds(deny_cluster, "--deny-cluster-resource"),
            ("namespaced", "allow"): _group_kinds(allow_namespaced, "--allow-namespaced-resource"),
            ("namespaced", "deny"): _group_kinds(deny_namespaced, "--deny-namespaced-resource"),
        },
        orphaned_resources=orphaned_resources or None,
        orphaned_resources_warn=orphaned_resources_warn or None,
    )
    if cli.remote() is not None:
        action = context.run_api(ctx, lambda c: proj_remote.create(c, project, upsert=upsert))
    else:
        action = context.run(
            ctx, lambda client: project_writes.create_project(client, project, upsert=upsert)
        )
    out.print(escape(f"project '{project['metadata']['name']}' {action}"))


@app.command()
def get(
    ctx: typer.Context,
    name: str = ProjectArgument,
    output: str = typer.Option("", "--output", "-o", help="Output format: json, yaml or wide."),
) -> None:
    """Show a project: destinations, repositories, allowed and denied kinds, sync windows."""
    check_output(output, "json", "yaml", "wide")
    cli = context.get(ctx)
    if cli.remote() is not None:
        obj = context.run_api(ctx, lambda c: proj_remote.read(c, name, cli.namespace))
    else:
        obj = context.run(ctx, lambda c: project_writes.read_project(c, name, cli.namespace))
    if output in ("json", "yaml"):
        print_object(obj, output)
    else:
        proj_view.print_project(obj, dt.datetime.now(dt.UTC))


@app.command("list")
def list_(
    ctx: typer.Context,
    output: str = typer.Option(
        "", "--output", "-o", help="Output format: json, yaml, wide or name."
    ),
) -> None:
    """List projects (argocd's columns; wide adds source namespaces and sync windows)."""
    check_output(output, "json", "yaml", "wide", "name")
    cli = context.get(ctx)

    async def body(client: KubeClient) -> list[Obj]:
        return await client.list(API_VERSION, APP_PROJECT, cli.namespace)

    if cli.remote() is not None:
        found = context.run_api(ctx, lambda c: c.get("/api/v1/projects"))["items"]
    else:
        found = context.run(ctx, body)
    projects = sorted(found, key=lambda p: str(p["metadata"]["name"]))
    if output in ("json", "yaml"):
        print_object(projects, output)
    elif output == "name":
        for project in projects:
            print(project["metadata"]["name"])
    else:
        proj_view.print_project_table(projects, wide=output == "wide")


@app.command()
def delete(
    ctx: typer.Context,
    names: list[str] = typer.Argument(..., metavar="PROJECT...", help="Projects to delete."),
) -> None:
    """Delete projects; refused while an Application in the namespace still uses one.

    ``default`` is never deleted: without it every app would fall back to a built-in
    default that permits everything.
    """
    cli = context.get(ctx)

    async def body(client: KubeClient) -> None:
        for name in names:
            await project_writes.delete_project(client, name, cli.namespace)
            out.print(escape(f"project '{name}' deleted"))

    async def served(client: ApiClient) -> None:
        for name in names:
            await proj_remote.delete(client, name, cli.namespace)
            out.print(escape(f"project '{name}' deleted"))

    if cli.remote() is not None:
        context.run_api(ctx, served)
    else:
        context.run(ctx, body)


# -- sources, destinations, kinds ---------------------------------------------------------------


@app.command("add-source")
def add_source(
    ctx: typer.Context,
    name: str = ProjectArgument,
    repo: str = typer.Argument(..., metavar="URL", help="Repository URL or glob."),
) -> None:
    """Permit a source repository (URL or glob; !PATTERN denies)."""
    _edit(ctx, name, lambda spec: edit.add_source(spec, repo))


@app.command("remove-source")
def remove_source(
    ctx: typer.Context,
    name: str = ProjectArgument,
    repo: str = typer.Argument(..., metavar="URL", help="Repository URL or glob, as listed."),
) -> None:
    """Stop permitting a source repository."""
    _edit(ctx, name, lambda spec: edit.remove_source(spec, repo))


@app.command("add-destination")
def add_destination(
    ctx: typer.Context,
    name: str = ProjectArgument,
    target: str = typer.Argument(..., metavar="SERVER", help="Server URL (or glob)."),
    namespace: str = typer.Argument(..., metavar="NAMESPACE", help="Namespace (or glob)."),
    by_name: bool = typer.Option(
        False, "--name", help="SERVER is a cluster name (or name glob), not a URL."
    ),
) -> None:
    """Permit a destination: a cluster (server URL, or name with --name) and namespace."""
    _edit(ctx, name, lambda spec: edit.add_destination(spec, target, namespace, by_name=by_name))


@app.command("remove-destination")
def remove_destination(
    ctx: typer.Context,
    name: str = ProjectArgument,
    target: str = typer.Argument(..., metavar="SERVER", help="Server URL or cluster name."),
    namespace: str = typer.Argument(..., metavar="NAMESPACE", help="Namespace, as listed."),
) -> None:
    """Stop permitting a destination."""
    _edit(ctx, name, lambda spec: edit.remove_destination(spec, target, namespace))


def _resource_command(scope: str, allow: bool, default_list: str, doc: str) -> Any:
    def command(
        ctx: typer.Context,
        name: str = ProjectArgument,
        group: str = typer.Argument(..., metavar="GROUP", help="API group ('' for core)."),
        kind: str = typer.Argument(..., metavar="KIND", help="Kind (or glob)."),
        list_type: str = typer.Option(
            default_list, "--list", "-l", help="The list to change: allow or deny."
        ),
    ) -> None:
        _edit(
            ctx,
            name,
            lambda spec: edit.change_resource_list(
                spec, scope=scope, allow=allow, list_type=list_type, group=group, kind=kind
            ),
        )

    command.__doc__ = doc
    return command


app.command("allow-cluster-resource")(
    _resource_command(
        "cluster",
        True,
        "allow",
        "Permit a cluster-scoped kind: add it to the allow list (--list deny: remove it "
        "from the deny list).",
    )
)
app.command("deny-cluster-resource")(
    _resource_command(
        "cluster",
        False,
        "allow",
        "Refuse a cluster-scoped kind: remove it from the allow list (--list deny: add it "
        "to the deny list).",
    )
)
app.command("allow-namespace-resource")(
    _resource_command(
        "namespaced",
        True,
        "deny",
        "Permit a namespaced kind: remove it from the deny list (--list allow: add it to "
        "the allow list).",
    )
)
app.command("deny-namespace-resource")(
    _resource_command(
        "namespaced",
        False,
        "deny",
        "Refuse a namespaced kind: add it to the deny list (--list allow: remove it from "
        "the allow list).",
    )
)


# -- sync windows ---------------------------------------------------------------------------


@windows_app.command("add")
def windows_add(
    ctx: typer.Context,
    name: str = ProjectArgument,
    kind: str = typer.Option(..., "--kind", help="allow or deny."),
    schedule: str = typer.Option(
        ..., "--schedule", help="Five-field cron: when the window opens (e.g. '0 22 * * *')."
    ),
    duration: str = typer.Option(..., "--duration", help="How long it stays open (e.g. 1h30m)."),
    applications: list[str] = typer.Option(
        [], "--applications", help="Application name globs (a,b,...; repeatable)."
    ),
    namespaces: list[str] = typer.Option(
        [], "--namespaces", help="Destination namespace globs (a,b,...; repeatable)."
    ),
    clusters: list[str] = typer.Option(
        [], "--clusters", help="Destination cluster name or server globs (a,b,...; repeatable)."
    ),
    manual_sync: bool = typer.Option(
        False, "--manual-sync", help="Let manual syncs through while the window holds syncs."
    ),
    time_zone: str = typer.Option("UTC", "--time-zone", help="IANA time zone of the schedule."),
    and_operator: bool = typer.Option(
        False, "--use-and-operator", help="Apply only when all of the given globs match."
    ),
    description: str = typer.Option("", "--description", help="What the window is for."),
) -> None:
    """Add a sync window (it gets the next ID)."""
    window = edit.window_from_flags(
        kind=kind,
        schedule=schedule,
        duration=duration,
        applications=edit.split_list(applications),
        namespaces=edit.split_list(namespaces),
        clusters=edit.split_list(clusters),
        manual_sync=manual_sync,
        time_zone=time_zone,
        and_operator=and_operator,
        description=description,
    )
    _edit(ctx, name, lambda spec: edit.add_window(spec, window))


@windows_app.command("list")
def windows_list(
    ctx: typer.Context,
    name: str = ProjectArgument,
    output: str = typer.Option("", "--output", "-o", help="Output format: json, yaml or wide."),
) -> None:
    """List sync windows: whether each is open now, and when that next changes."""
    check_output(output, "json", "yaml", "wide")
    cli = context.get(ctx)
    if cli.remote() is not None:
        obj = context.run_api(ctx, lambda c: proj_remote.read(c, name, cli.namespace))
    else:
        obj = context.run(ctx, lambda c: project_writes.read_project(c, name, cli.namespace))
    states = proj_view.window_states_of(obj, dt.datetime.now(dt.UTC))
    if output in ("json", "yaml"):
        print_object([proj_view.window_view(s) for s in states], output)
    else:
        proj_view.print_window_table(states)


@windows_app.command("delete")
def windows_delete(
    ctx: typer.Context, name: str = ProjectArgument, index: int = WindowIdArgument
) -> None:
    """Delete a sync window (the windows after it move up one ID)."""
    _edit(ctx, name, lambda spec: edit.delete_window(spec, index))


@windows_app.command("enable-manual-sync")
def windows_enable_manual_sync(
    ctx: typer.Context, name: str = ProjectArgument, index: int = WindowIdArgument
) -> None:
    """Let manual syncs through while this window holds syncs."""
    _edit(ctx, name, lambda spec: edit.set_manual_sync(spec, index, True))


@windows_app.command("disable-manual-sync")
def windows_disable_manual_sync(
    ctx: typer.Context, name: str = ProjectArgument, index: int = WindowIdArgument
) -> None:
    """Hold manual syncs too while this window holds syncs."""
    _edit(ctx, name, lambda spec: edit.set_manual_sync(spec, index, False))
