"""``gitward init``: scaffold the brief's repository layout (flags and output only)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import typer

from gitward.cli.console import out
from gitward.model.errors import ConfigError
from gitward.scaffold import LAYOUTS, InitOptions, default_image, plan, write


def init(
    directory: Path = typer.Argument(Path("."), help="Repository to write into (made if absent)."),
    name: str = typer.Option("", "--name", help="Application name (default: the directory's)."),
    repo_url: str = typer.Option(
        "", "--repo-url", help="URL gitward fetches the repository from (default: git origin)."
    ),
    image: str = typer.Option(
        "", "--image", help="Image repository (default: ghcr.io/OWNER/REPO for GitHub)."
    ),
    kustomize: bool = typer.Option(False, "--kustomize", help="base/ + overlays/ layout."),
    helm: bool = typer.Option(False, "--helm", help="A Helm chart with values per environment."),
    tag: str = typer.Option("0.1.0", "--tag", help="Image tag the manifests start with."),
    sign: bool = typer.Option(False, "--sign", help="Sign images with cosign in CI."),
    branch: str = typer.Option("main", "--branch", help="Branch the Applications track."),
    force: bool = typer.Option(False, "--force", help="Overwrite files that exist."),
) -> None:
    """Scaffold src/ + Dockerfile, dev/staging/production manifests, argocd/ Applications
    and a CI workflow that builds, pushes and updates the dev manifests (gitward image set)."""
    if kustomize and helm:
        raise ConfigError("--kustomize and --helm: choose one layout")
    layout = "kustomize" if kustomize else "helm" if helm else "plain"
    assert layout in LAYOUTS
    root = directory.resolve()
    name = name or root.name.lower()
    url = repo_url or _origin(root) or f"https://github.com/OWNER/{name}.git"
    options = InitOptions(name, url, image or default_image(name, url), layout, tag, sign, branch)
    files = plan(options)
    root.mkdir(parents=True, exist_ok=True)
    written = write(root, files, force=force)
    out.print(f"wrote {len(written)} files for {name} ({layout}) in {root}:")
    for rel in written:
        out.print(f"  {rel}")
    if not repo_url and url.startswith("https://github.com/OWNER/"):
        out.print("edit repoURL in argocd/*.yaml (no git origin was found), then commit and push")


def _origin(root: Path) -> str:
    if not (root / ".git").exists():
        return ""
    done = subprocess.run(
        ["git", "-C", str(root), "remote", "get-url", "origin"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else ""
