"""The brief's example repository as a real git repo, and the gitward CLI as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.git import GitRepo

BRIEF = Path(__file__).resolve().parents[2] / "examples" / "brief"
BRIEF_REPO_URL = "https://github.com/username/repo.git"


def brief_files(
    repo_url: str, app_name: str | None = None, namespace: str | None = None
) -> dict[str, str]:
    """The example's files, with ``repoURL`` (and optionally name/namespace) replaced."""
    files = {}
    for path in sorted(BRIEF.rglob("*")):
        if path.is_file():
            files[str(path.relative_to(BRIEF))] = path.read_text()
    app = files["argocd/application.yaml"].replace(BRIEF_REPO_URL, repo_url)
    if app_name:
        app = app.replace("name: myapp-argo-application", f"name: {app_name}")
    if namespace:
        app = app.replace("namespace: myapp", f"namespace: {namespace}")
    files["argocd/application.yaml"] = app
    return files


def brief_repo(repo: GitRepo, app_name: str | None = None, namespace: str | None = None) -> Path:
    """Commit the example into ``repo``; return the path of its application.yaml."""
    repo.commit(brief_files(repo.url, app_name, namespace), "the brief's layout")
    return repo.path / "argocd" / "application.yaml"


def gitward(kubeconfig: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess, exactly as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "gitward.cli", "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )
