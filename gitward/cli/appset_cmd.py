"""``gitward appset``: create, inspect, generate and approve ApplicationSets.

ApplicationSets are objects in the cluster (namespace ``--namespace``, default
``argocd``); the controller generates their Applications. ``generate -f`` runs
the same generation locally and prints the Applications a file would produce
without writing anything — for CI on a pull request. ``approve`` lets a held
deletion (more than ``gitward.io/max-delete`` of a set's apps) go ahead.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.markup import escape

from gitward._util.yamlload import KubeLoader
from gitward.apiclient import ApiClient
from gitward.appset import AppSetSources, GenerationError, generate
from gitward.appset.plan import deletion_digest
from gitward.appset.validate import check_name
from gitward.cli import appset_remote, context
from gitward.cli.console import err, out
from gitward.cli.output import check_output, print_object, print_table
from gitward.cluster import KubeClient, NotFound
from gitward.model.applicationset import APPROVE_ANNOTATION, parse_applicationset
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION, APPLICATION_SET
from gitward.services import gotemplates
from gitward.source import CredentialStore, GitSource
from gitward.source.policy import RepoURLPolicy

Obj = dict[str, Any]

app = typer.Typer(help="Manage ApplicationSets.", no_args_is_help=True)

OutputOption = typer.Option("", "--output", "-o", help="Output format: json or yaml.")
CLUSTER_SECRETS = "argocd.argoproj.io/secret-type=cluster"


def load_file(file: Path) -> list[Obj]:
    """Every ApplicationSet of a multi-document YAML file (checked as the controller would)."""
    try:
        text = file.read_text()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from None
    found: list[Obj] = []
    try:
        docs = list(yaml.load_all(text, Loader=KubeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{file}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    for index, doc in enumerate(docs, start=1):
        if doc is None:
            continue
        where = f"{file}: document {index}"
        if not isinstance(doc, dict) or doc.get("kind") != APPLICATION_SET:
            raise ConfigError(f"{where}: not an {API_VERSION} {APPLICATION_SET}")
        parse_applicationset(doc, where)
        found.append(doc)
    if not found:
        raise ConfigError(f"{file}: no ApplicationSet in the file")
    return found


async def _get(client: KubeClient, name: str, namespace: str) -> Obj:
    try:
        return await client.get(API_VERSION, APPLICATION_SET, name, namespace)
    except NotFound:
        raise ConfigError(f"applicationset {name!r} not found in namespace {namespace!r}") from None


@app.command()
def create(
    ctx: typer.Context,
    file: Path = typer.Option(..., "--file", "-f", help="ApplicationSet manifest(s)."),
    upsert: bool = typer.Option(False, "--upsert", help="Replace an existing spec."),
) -> None:
    """Create ApplicationSets from a file (the controller then generates their apps)."""
    cli = context.get(ctx)
    objects = load_file(file)

    async def body(client: KubeClient) -> list[str]:
        done = []
        for obj in objects:
            meta = {
                **obj["metadata"],
                "namespace": obj["metadata"].get("namespace") or cli.namespace,
            }
            obj = {**obj, "metadata": meta}
            try:
                existing = await client.get(
                    API_VERSION, APPLICATION_SET, meta["name"], meta["namespace"]
                )
            except NotFound:
                existing = None
            if existing is None:
                await client.create(obj)
                done.append(f"applicationset '{meta['name']}' created")
            elif existing.get("spec") == obj.get("spec"):
                done.append(f"applicationset '{meta['name']}' unchanged")
            elif not upsert:
                raise ConfigError(
                    f"applicationset {meta['name']!r} exists in {meta['namespace']!r} with a "
                    "different spec; use --upsert to replace it"
                )
            else:
                await client.replace({**existing, "spec": obj["spec"]})
                done.append(f"applicationset '{meta['name']}' updated")
        return done

    async def served(client: ApiClient) -> list[str]:
        return [await appset_remote.create(client, obj, cli.namespace, upsert) for obj in objects]

    lines = context.run_api(ctx, served) if cli.remote() is not None else context.run(ctx, body)
    for line in lines:
        out.print(line)


def _true_conditions(obj: Obj) -> str:
    conditions = (obj.get("status") or {}).get("conditions") or []
    shown = [
        c["type"]
        for c in conditions
        if c.get("status") == "True"
        and c.get("type") not in ("ParametersGenerated", "ResourcesUpToDate")
    ]
    return ",".join(shown) or "-"


@app.command("list")
def list_(ctx: typer.Context, output: str = OutputOption) -> None:
    """List ApplicationSets with their app counts and any problem conditions."""
    check_output(output, "json", "yaml", "name")
    cli = context.get(ctx)

    async def body(client: KubeClient) -> list[Obj]:
        return await client.list(API_VERSION, APPLICATION_SET, cli.namespace)

    found = (
        context.run_api(ctx, appset_remote.list_sets)
        if cli.remote() is not None
        else context.run(ctx, body)
    )
    sets = sorted(found, key=lambda a: a["metadata"]["name"])
    if output in ("json", "yaml"):
        print_object(sets, output)
        return
    if output == "name":
        for s in sets:
            print(s["metadata"]["name"])
        return
    rows = []
    for s in sets:
        spec = s.get("spec") or {}
        policy = (spec.get("syncPolicy") or {}).get("applicationsSync") or "sync"
        resources = (s.get("status") or {}).get("resources") or []
        rows.append(
            [
                s["metadata"]["name"],
                str(len(resources)),
                ",".join(k for g in spec.get("generators") or [] for k in g if k != "selector"),
                policy,
                _true_conditions(s),
            ]
        )
    print_table(["NAME", "APPS", "GENERATORS", "POLICY", "CONDITIONS"], rows)


@app.command()
def get(ctx: typer.Context, name: str, output: str = OutputOption) -> None:
    """Show an ApplicationSet: its conditions, a held deletion, and its generated apps."""
    check_output(output, "json", "yaml")
    cli = context.get(ctx)
    if cli.remote() is not None:
        obj = context.run_api(ctx, lambda c: appset_remote.read(c, name, cli.namespace))
    else:
        obj = context.run(ctx, lambda client: _get(client, name, cli.namespace))
    if output:
        print_object(obj, output)
        return
    spec = obj.get("spec") or {}
    state = obj.get("status") or {}
    out.print(f"Name:        {escape(obj['metadata']['name'])}")
    out.print(f"Namespace:   {escape(obj['metadata'].get('namespace', ''))}")
    kinds = ",".join(k for g in spec.get("generators") or [] for k in g if k != "selector")
    out.print(f"Generators:  {escape(kinds)}")
    policy = (spec.get("syncPolicy") or {}).get("applicationsSync") or "sync"
    out.print(f"Sync policy: {escape(policy)}")
    out.print(f"Template:    {'goTemplate' if spec.get('goTemplate') else 'fasttemplate'}")
    for cond in state.get("conditions") or []:
        out.print(
            f"Condition:   {escape(cond.get('type', ''))}={escape(str(cond.get('status')))}: "
            f"{escape(cond.get('message', ''))}"
        )
    held = state.get("heldDeletion")
    if held:
        out.print(
            f"Held:        {len(held.get('applications') or [])} deletion(s) wait for "
            f"`gitward appset approve {escape(name)}`: "
            f"{escape(', '.join(held.get('applications') or []))}"
        )
    resources = state.get("resources") or []
    if resources:
        out.print()
        rows = [
            [r.get("name", ""), r.get("status", ""), (r.get("health") or {}).get("status", "")]
            for r in resources
        ]
        steps = {s.get("application"): s for s in state.get("applicationStatus") or []}
        if steps:
            headers = ["APPLICATION", "SYNC", "HEALTH", "STEP", "ROLLOUT"]
            rows = [
                [
                    *row,
                    str(steps.get(row[0], {}).get("step", "")),
                    steps.get(row[0], {}).get("status", ""),
                ]
                for row in rows
            ]
        else:
            headers = ["APPLICATION", "SYNC", "HEALTH"]
        print_table(headers, rows)


@app.command()
def delete(
    ctx: typer.Context,
    name: str,
    cascade: bool = typer.Option(
        True,
        "--cascade/--no-cascade",
        help="Also delete the generated Applications (and, through their finalizers, their "
        "resources); --no-cascade leaves the Applications in place.",
    ),
    yes: bool = typer.Option(True, "--yes", "-y", help="Accepted for argocd compatibility."),
) -> None:
    """Delete an ApplicationSet."""
    del yes
    cli = context.get(ctx)

    async def body(client: KubeClient) -> None:
        await _get(client, name, cli.namespace)
        await client.delete(
            API_VERSION,
            APPLICATION_SET,
            name,
            cli.namespace,
            propagation="Background" if cascade else "Orphan",
        )

    if cli.remote() is not None:
        if not cascade:
            raise ConfigError("--no-cascade needs --core: the server's delete always cascades")
        context.run_api(ctx, lambda c: appset_remote.delete(c, name, cli.namespace))
    else:
        context.run(ctx, body)
    out.print(f"applicationset '{name}' deleted")


@app.command()
def approve(
    ctx: typer.Context,
    name: str,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not print the apps first."),
) -> None:
    """Let a held deletion go ahead: exactly the apps the set's status lists as held.

    If the held list changes before the controller acts (the generators returned
    some apps, or dropped more), the approval no longer matches and nothing is deleted.
    """
    cli = context.get(ctx)

    async def body(client: KubeClient) -> list[str]:
        obj = await _get(client, name, cli.namespace)
        held = (obj.get("status") or {}).get("heldDeletion") or {}
        apps = list(held.get("applications") or [])
        if not apps:
            raise ConfigError(f"applicationset {name!r} holds no deletion: nothing to approve")
        digest = held.get("digest") or deletion_digest(apps)
        await client.patch(
            API_VERSION,
            APPLICATION_SET,
            name,
            cli.namespace,
            {"metadata": {"annotations": {APPROVE_ANNOTATION: digest}}},
        )
        return apps

    apps = context.run(ctx, body)
    if not yes:
        for app_name in apps:
            err.print(f"  will delete application '{escape(app_name)}'")
    out.print(f"applicationset '{name}': deletion of {len(apps)} application(s) approved")


@app.command("generate")
def generate_(
    ctx: typer.Context,
    file: Path = typer.Option(..., "--file", "-f", help="ApplicationSet manifest(s)."),
    output: str = typer.Option("yaml", "--output", "-o", help="Output format: yaml or json."),
    repo_creds: Path | None = typer.Option(
        None, "--repo-creds", help="YAML file of repository credentials (as `gitward render`)."
    ),
    cluster_secrets: Path | None = typer.Option(
        None,
        "--cluster-secrets",
        help="YAML file of cluster Secrets for a clusters generator (default: read them from "
        "the cluster, only when a clusters generator needs them).",
    ),
) -> None:
    """Print the Applications a file would generate; nothing is written anywhere.

    With --core, git generators read repositories as the controller does (local paths
    allowed: the file is your own). Through a server, the server generates them with
    the installation's repositories and clusters. Exits non-zero when generation
    fails or an app is invalid.
    """
    if output not in ("yaml", "json"):
        raise ConfigError(f"--output: expected yaml or json, got {output!r}")
    objects = load_file(file)
    creds = CredentialStore.from_file(repo_creds) if repo_creds is not None else None
    secrets_from_file: list[Obj] | None = None
    if cluster_secrets is not None:
        loaded = [d for d in yaml.load_all(cluster_secrets.read_text(), Loader=KubeLoader) if d]
        secrets_from_file = [d for d in loaded if isinstance(d, dict)]
    cli = context.get(ctx)

    async def secrets() -> list[Obj]:
        if secrets_from_file is not None:
            return secrets_from_file
        async with await cli.client() as client:
            return await client.list("v1", "Secret", cli.namespace, CLUSTER_SECRETS)

    async def run() -> list[Obj]:
        source = GitSource(policy=RepoURLPolicy.create(["/"]))
        sources = AppSetSources(source, secrets, lambda: creds)
        go = gotemplates()
        apps: list[Obj] = []
        for obj in objects:
            appset = parse_applicationset(
                {
                    **obj,
                    "metadata": {
                        **obj["metadata"],
                        "namespace": obj["metadata"].get("namespace") or cli.namespace,
                    },
                },
                str(file),
            )
            try:
                generation = await generate(appset, sources, go)
            except GenerationError as exc:
                raise ConfigError(f"{appset.where}: {exc}") from None
            seen: set[str] = set()
            for item in generation.desired:
                problem = check_name(item.name)
                if problem is None and item.name in seen:
                    problem = f"duplicate application name {item.name!r}"
                if problem:
                    raise ConfigError(f"{appset.where}: {item.where}: {problem}")
                seen.add(item.name)
                apps.append(item.app)
        return apps

    if cli.remote() is not None:
        if repo_creds is not None or cluster_secrets is not None:
            raise ConfigError(
                "--repo-creds and --cluster-secrets need --core: through a server, the "
                "installation's repositories and clusters are used"
            )
        apps = context.run_api(ctx, lambda c: appset_remote.generate(c, objects, cli.namespace))
    else:
        apps = asyncio.run(run())
    if output == "json":
        sys.stdout.write(json.dumps(apps, indent=2) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump_all(apps, sort_keys=False, default_flow_style=False))
