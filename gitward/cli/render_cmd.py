"""``gitward render``: an Application file's manifests, without a cluster.

Reads Applications from a local YAML file, resolves the source's revision,
fetches and renders it exactly as the controller would, and prints the objects
(multi-document YAML or a JSON list) on stdout — for reviewing a change,
piping into ``kubectl diff``, or CI. Repository credentials come from a local
file (``--repo-creds``) in Argo CD's fields, since there is no cluster to hold
the Secrets.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import typer
import yaml

from gitward.model.application import Application, load_applications
from gitward.model.errors import ConfigError
from gitward.render import RenderTools
from gitward.reposerver import Manifests, ManifestService
from gitward.source import CredentialStore, GitSource
from gitward.source.policy import RepoURLPolicy


def render_tools() -> RenderTools:
    """kustomize, helm and jsonnet from the local toolchain when built, else from ``PATH``."""
    from gitward.services import render_tools as tools

    return tools()


def pick_application(apps: list[Application], name: str | None, filename: str) -> Application:
    """The one Application to render: ``name`` if given, else the file's only one."""
    if not apps:
        raise ConfigError(f"{filename}: no Application in the file")
    if name is not None:
        for candidate in apps:
            if candidate.name == name:
                return candidate
        names = ", ".join(a.name for a in apps)
        raise ConfigError(f"{filename}: no Application named {name!r} (found: {names})")
    if len(apps) > 1:
        names = ", ".join(a.name for a in apps)
        raise ConfigError(
            f"{filename} holds {len(apps)} Applications ({names}); pick one with --app"
        )
    return apps[0]


def format_objects(objects: list[dict[str, Any]], output: str) -> str:
    if output == "json":
        return json.dumps(objects, indent=2) + "\n"
    return yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False)


def render(
    file: Path = typer.Option(
        ..., "--file", "-f", help="YAML file with one or more argoproj.io Applications."
    ),
    app_name: str | None = typer.Option(
        None, "--app", help="Which Application of the file to render (needed if it holds several)."
    ),
    revision: str | None = typer.Option(
        None, "--revision", help="Render this branch, tag, SHA or semver range instead."
    ),
    repo_creds: Path | None = typer.Option(
        None,
        "--repo-creds",
        help="YAML file of repository credentials (url, username, password, sshPrivateKey, "
        "bearerToken; secretType: repo-creds for a URL prefix), or Argo CD repository Secrets.",
    ),
    output: str = typer.Option("yaml", "--output", "-o", help="Output format: yaml or json."),
    allow_empty: bool = typer.Option(
        False, "--allow-empty", help="Accept a source that renders no objects."
    ),
) -> None:
    """Render an Application's manifests from Git, without a cluster."""
    if output not in ("yaml", "json"):
        raise ConfigError(f"--output: expected yaml or json, got {output!r}")
    try:
        text = file.read_text()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from None
    app = pick_application(load_applications(text, str(file)), app_name, str(file))
    creds = CredentialStore.from_file(repo_creds) if repo_creds is not None else None

    async def run() -> Manifests:
        # The file is the caller's own, read with the caller's rights: local repositories are
        # allowed here (gitward's caches still are not), unlike in anything a cluster feeds.
        source = GitSource(policy=RepoURLPolicy.create(["/"]))
        service = ManifestService(source=source, tools=render_tools(), credentials=creds)
        return await service.generate(app, revision, allow_empty=allow_empty)

    manifests = asyncio.run(run())
    sys.stdout.write(format_objects(manifests.objects, output))
