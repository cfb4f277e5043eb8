"""``gitward image set``: change an image tag where Git keeps it, commit and push it (CI's step).

Parses flags and prints; the work is in :mod:`gitward.images`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import cast

import typer

from gitward.appstate import load_settings
from gitward.cli import context
from gitward.cli.console import out
from gitward.cluster import KubeClient, NotFound
from gitward.images import KINDS, Outcome, Target, parse_change, set_images
from gitward.images.gitpush import Remote, branch_of, current_branch, local_git, private_clone
from gitward.images.imageset import Kind
from gitward.images.reference import ImageChange
from gitward.model.application import parse_application
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION, APPLICATION
from gitward.services import repo_credentials
from gitward.source import GitSource
from gitward.source.policy import RepoURLPolicy

app = typer.Typer(help="Change container images in the source of truth.", no_args_is_help=True)


@app.command("set")
def set_command(
    ctx: typer.Context,
    args: list[str] = typer.Argument(
        ...,
        metavar="[APP] IMAGE...",
        help="The Application (unless --path is given), then one or more "
        "NAME[=NEWNAME][:TAG]\\[@DIGEST] (kustomize edit set image's syntax).",
    ),
    path: Path | None = typer.Option(
        None, "--path", help="Edit this directory of a local checkout instead of an app's repo."
    ),
    app_name_option: str = typer.Option(
        "", "--app-name", help="With --path: the application, for the write-back file's name."
    ),
    kind: str = typer.Option(
        "auto", "--kind", help=f"Where the image is kept: {', '.join(KINDS)} (auto: detect)."
    ),
    helm_values: str = typer.Option(
        "", "--helm-values", help="Values file to edit, relative to the chart (values.yaml)."
    ),
    helm_path: str = typer.Option(
        "", "--helm-path", help="Dotted path of the image in the values (default: search)."
    ),
    commit: bool = typer.Option(False, "--commit", help="Commit the change."),
    push: bool = typer.Option(False, "--push", help="Push the commit (implies --commit)."),
    message: str = typer.Option("", "--message", "-m", help="Commit message."),
    branch: str = typer.Option("", "--branch", help="Branch to commit to and push."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; write nothing."),
    output: str = typer.Option("text", "--output", "-o", help="text or json."),
) -> None:
    """Set images in the app's source (Kustomize images, Helm values, plain manifests,
    or the .argocd-source-<app>.yaml write-back file), optionally commit and push.

    With an APP the repository, path and credentials come from the Application and
    the change is pushed from a private clone; with --path the local checkout's own
    remote and credentials are used. A push that loses a race to another pusher is
    re-applied on the new tip, so no update is lost.
    """
    if output not in ("text", "json"):
        raise ConfigError(f"--output: expected text or json, got {output!r}")
    if kind not in KINDS:
        raise ConfigError(f"--kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    commit = commit or push
    app_name = app_name_option
    kind_checked = cast(Kind, kind)
    images = list(args)
    if path is None:
        if len(images) < 2:
            raise ConfigError("give the APP and at least one IMAGE (or --path DIR and IMAGEs)")
        app_name, images = images[0], images[1:]
    changes = [parse_change(text) for text in images]

    if path is not None:
        checkout = path.resolve()
        if not checkout.is_dir():
            raise ConfigError(f"--path {path}: not a directory")

        async def local() -> Outcome:
            root = await _toplevel(checkout)
            target = Target(
                str(checkout.relative_to(root)), kind_checked, helm_values, helm_path, app_name
            )
            remote = Remote(branch or await current_branch(root)) if commit else None
            return await set_images(
                root,
                target,
                changes,
                commit=commit,
                push=push,
                remote=remote,
                message=message,
                dry_run=dry_run,
            )

        outcome = asyncio.run(local())
    else:

        async def from_app(client: KubeClient) -> Outcome:
            return await _set_for_app(
                client,
                context.get(ctx).namespace,
                app_name,
                changes,
                kind_checked,
                helm_values,
                helm_path,
                commit,
                push,
                message,
                branch,
                dry_run,
            )

        outcome = context.run(ctx, from_app)
    _print(outcome, output)


async def _toplevel(directory: Path) -> Path:
    return Path((await local_git(directory, "rev-parse", "--show-toplevel")).strip())


async def _set_for_app(
    client: KubeClient,
    namespace: str,
    name: str,
    changes: list[ImageChange],
    kind: Kind,
    helm_values: str,
    helm_path: str,
    commit: bool,
    push: bool,
    message: str,
    branch: str,
    dry_run: bool,
) -> Outcome:
    try:
        obj = await client.get(API_VERSION, APPLICATION, name, namespace)
    except NotFound:
        raise ConfigError(f"application {name!r} not found in namespace {namespace}") from None
    application = parse_application(obj, f"Application {namespace}/{name}")
    source = application.source
    if source is None:
        raise ConfigError(f"application {name}: image set needs a single-source application")
    if not helm_values and source.helm is not None and source.helm.value_files:
        helm_values = source.helm.value_files[-1]
    settings = await load_settings(client, namespace)
    creds = (await repo_credentials(client, namespace)).lookup(source.repo_url, application.project)
    git = GitSource(policy=RepoURLPolicy.create(settings.local_repositories))
    target_branch = branch or branch_of(source.target_revision)
    if not target_branch:
        raise ConfigError(
            f"application {name} tracks {source.target_revision!r}, not a branch: "
            "say which branch to commit to with --branch"
        )
    remote = Remote(target_branch, git.runner, source.repo_url, creds)
    refs = await git.ls_remote(source.repo_url, creds, force=True)
    if f"refs/heads/{target_branch}" not in refs.refs:
        raise ConfigError(
            f"application {name}: {target_branch!r} is not a branch of its repository; "
            "say which branch to commit to with --branch"
        )
    target = Target(source.path or ".", kind, helm_values, helm_path, name)
    async with private_clone(remote) as checkout:
        return await set_images(
            checkout,
            target,
            changes,
            commit=commit,
            push=push,
            remote=remote,
            message=message,
            dry_run=dry_run,
        )


def _print(outcome: Outcome, output: str) -> None:
    if output == "json":
        print(json.dumps(outcome.__dict__, indent=2))
        return
    if not outcome.edits:
        out.print("no change: every image is already as asked")
        return
    for edit in outcome.edits:
        out.print(f"{edit['file']}: {edit['image']} {edit['old']} -> {edit['new']}")
    if outcome.commit:
        pushed = "pushed" if outcome.pushed else "not pushed"
        out.print(f"commit {outcome.commit[:12]} ({pushed}, attempt {outcome.attempts})")
