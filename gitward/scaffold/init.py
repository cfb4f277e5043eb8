"""``gitward init``: the brief's repository layout, ready for its GitOps loop.

Writes ``src/`` with a ``Dockerfile`` (tests in a build stage, a distroless
non-root runtime), the manifests for dev, staging and production (plain
directories, a Kustomize base with overlays, or a Helm chart with one values
file per environment), ``argocd/application-<env>.yaml`` (dev and staging
synced automatically with prune and self-heal, production by hand), and a
GitHub Actions workflow that tests, builds, pushes (tagged with the commit
SHA), optionally signs with cosign, and runs ``gitward image set ... --push``
for dev — skipping CI on its own manifest commits so the loop ends.

Files that exist are never overwritten without ``force``; then nothing at all
is written, and the error lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from gitward.model.destination import IN_CLUSTER_SERVER
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION, APPLICATION

LAYOUTS = ("plain", "kustomize", "helm")
ENVIRONMENTS = ("dev", "staging", "production")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$")
_GITHUB = re.compile(r"github\.com[:/](?P<owner>[^/]+)/(?P<repo>[^/]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class InitOptions:
    name: str
    repo_url: str
    image: str
    layout: str = "plain"
    tag: str = "0.1.0"
    sign: bool = False
    branch: str = "main"


def default_image(name: str, repo_url: str) -> str:
    """``ghcr.io/<owner>/<repo>`` for a GitHub repository, else a placeholder to edit."""
    match = _GITHUB.search(repo_url)
    if match:
        return f"ghcr.io/{match['owner']}/{match['repo']}".lower()
    return f"registry.example.com/{name}"


def check(options: InitOptions) -> None:
    if not _NAME.match(options.name):
        raise ConfigError(
            f"--name {options.name!r}: lower-case letters, digits and '-', at most 42 characters "
            "(it names Kubernetes objects and namespaces)"
        )
    if options.layout not in LAYOUTS:
        raise ConfigError(f"layout {options.layout!r}: expected one of {', '.join(LAYOUTS)}")
    if not options.repo_url:
        raise ConfigError("--repo-url: needed (the URL gitward will fetch the repository from)")
    for value, what in ((options.image, "--image"), (options.tag, "--tag")):
        if not value or any(c.isspace() or c in "\"'\\$`" for c in value):
            raise ConfigError(f"{what} {value!r}: not a usable value")


def _templates(layout: str) -> dict[str, str]:
    """Template files of ``common`` and of ``layout``, by path relative to the new repository.

    Python templates end in ``.tmpl`` so that gitward's own linters leave them alone.
    """
    base = resources.files("gitward.scaffold") / "templates"
    found: dict[str, str] = {}
    for part in ("common", layout):
        root = Path(str(base / part))
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                rel = path.relative_to(root).as_posix().removesuffix(".tmpl")
                found[rel] = path.read_text()
    return found


def _app_path(layout: str, env: str) -> str:
    return {"plain": env, "kustomize": f"overlays/{env}", "helm": "chart"}[layout]


def application(options: InitOptions, env: str) -> str:
    """``argocd/application-<env>.yaml``."""
    source: dict[str, object] = {
        "repoURL": options.repo_url,
        "targetRevision": options.branch,
        "path": _app_path(options.layout, env),
    }
    if options.layout == "helm":
        source["helm"] = {"valueFiles": [f"values-{env}.yaml"]}
    policy: dict[str, object] = {"syncOptions": ["CreateNamespace=true"]}
    if env != "production":
        policy = {"automated": {"prune": True, "selfHeal": True}, **policy}
    app = {
        "apiVersion": API_VERSION,
        "kind": APPLICATION,
        "metadata": {
            "name": f"{options.name}-{env}",
            "namespace": "argocd",
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": "default",
            "source": source,
            "destination": {
                "server": IN_CLUSTER_SERVER,
                "namespace": f"{options.name}-{env}",
            },
            "syncPolicy": policy,
        },
    }
    comment = (
        "# Synced by hand: review the diff, then `gitward app sync`.\n"
        if env == "production"
        else "# Synced automatically: every commit that changes it is deployed.\n"
    )
    return comment + yaml.safe_dump(app, sort_keys=False)


def plan(options: InitOptions) -> dict[str, str]:
    """Every file ``init`` writes, by path, with its text."""
    check(options)
    ignored = {
        "plain": [*ENVIRONMENTS, "argocd"],
        "kustomize": ["base", "overlays", "argocd"],
        "helm": ["chart", "argocd"],
    }[options.layout]
    flags = " --helm-values values-dev.yaml" if options.layout == "helm" else ""
    values = {
        "@@NAME@@": options.name,
        "@@IMAGE@@": options.image,
        "@@TAG@@": options.tag,
        "@@SIGN@@": "true" if options.sign else "false",
        "@@DEV_PATH@@": _app_path(options.layout, "dev"),
        "@@IMAGE_SET_FLAGS@@": flags,
        "@@PATHS_IGNORE@@": "\n".join(f"      - '{d}/**'" for d in ignored),
    }
    files: dict[str, str] = {}
    for path, text in _templates(options.layout).items():
        for key, value in values.items():
            text = text.replace(key, value)
        files[path] = text
    for env in ENVIRONMENTS:
        files[f"argocd/application-{env}.yaml"] = application(options, env)
    return files


def write(root: Path, files: dict[str, str], *, force: bool) -> list[str]:
    """Write ``files`` under ``root``; refuse (writing nothing) if any exists, unless ``force``."""
    existing = sorted(p for p in files if (root / p).exists())
    if existing and not force:
        shown = ", ".join(existing[:8]) + (" ..." if len(existing) > 8 else "")
        raise ConfigError(
            f"{root}: {len(existing)} file(s) exist and would be overwritten: {shown}; "
            "pass --force to overwrite them"
        )
    for rel, text in sorted(files.items()):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return sorted(files)
