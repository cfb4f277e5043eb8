"""``gitward image set``: the "update the manifest with the new tag" step of the brief's CI.

:func:`edit_source` changes images where the source of truth keeps them
(Kustomize ``images:``, Helm values, plain manifests, or Argo CD Image
Updater's ``.argocd-source-<app>.yaml`` write-back file), and
:func:`set_images` adds the commit and the race-proof push. Nothing is
written when any part of the edit fails; an image that is nowhere in the
source is an error, an image already at the wanted tag is "no change".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gitward.images.editors import (
    Edited,
    ImageNotFound,
    detect_kind,
    edit_helm,
    edit_kustomize,
    edit_plain,
)
from gitward.images.gitpush import PushResult, Remote, commit_and_push, require_clean
from gitward.images.reference import ImageChange
from gitward.images.writeback import edit_writeback
from gitward.model.errors import ConfigError

Kind = Literal["auto", "kustomize", "helm", "plain", "write-back"]
KINDS: tuple[str, ...] = ("auto", "kustomize", "helm", "plain", "write-back")


@dataclass(frozen=True)
class Target:
    """Where to edit: ``path`` (the app's directory) relative to the repository ``root``."""

    path: str = "."
    kind: Kind = "auto"
    helm_values: str = ""  # relative to the app directory; default values.yaml
    helm_path: str = ""
    app_name: str = ""  # for the write-back file name
    #: Images whose values live at given paths: (image name, name path or "", tag path).
    helm_images: tuple[tuple[str, str, str], ...] = ()


def _directory(root: Path, path: str) -> Path:
    directory = (root / path).resolve()
    if directory != root.resolve() and not directory.is_relative_to(root.resolve()):
        raise ConfigError(f"path {path!r} leads outside the repository")
    if not directory.is_dir():
        raise ConfigError(f"path {path!r} is not a directory of the repository")
    return directory


def edit_source(root: Path, target: Target, changes: list[ImageChange]) -> tuple[str, Edited]:
    """The edit of every change at ``target`` (nothing written yet) and the kind used."""
    root = root.resolve()
    directory = _directory(root, target.path)
    kind = detect_kind(directory) if target.kind == "auto" else target.kind
    if kind == "kustomize":
        edited = edit_kustomize(root, directory, changes)
    elif kind == "helm":
        values = directory / (target.helm_values or "values.yaml")
        if not values.is_file():
            raise ConfigError(f"{values.relative_to(root)}: no such values file")
        paths = {image: (name, tag) for image, name, tag in target.helm_images}
        edited = edit_helm(root, values, changes, target.helm_path, paths)
    elif kind == "write-back":
        if not target.app_name:
            raise ConfigError("the write-back file is per application: give the APP")
        edited = edit_writeback(root, directory, target.app_name, changes)
    else:
        edited = edit_plain(root, directory, changes)
    if kind in ("helm", "plain"):
        missing = [c.name for c in changes if c.name not in edited.matched]
        if missing:
            raise ImageNotFound(
                f"{', '.join(missing)}: not found in the {kind} source at {target.path} "
                "(nothing was changed)"
            )
    return kind, edited


@dataclass(frozen=True)
class Outcome:
    kind: str
    edits: list[dict[str, str]]
    commit: str
    pushed: bool
    attempts: int


def commit_message(subject: str, edited: Edited) -> str:
    lines = [f"{e.image}: {e.old} -> {e.new}" for e in edited.edits]
    return f"{subject}: {'; '.join(lines)}"[:400]


async def set_images(
    checkout: Path,
    target: Target,
    changes: list[ImageChange],
    *,
    commit: bool,
    push: bool,
    remote: Remote | None,
    message: str = "",
    dry_run: bool = False,
) -> Outcome:
    """Edit, and with ``commit`` commit (and with ``push`` push) the change in ``checkout``."""
    kind, edited = edit_source(checkout, target, changes)
    record = [{"file": e.file, "image": e.image, "old": e.old, "new": e.new} for e in edited.edits]
    if dry_run or not edited.texts:
        return Outcome(kind, record, "", False, 0)
    if not commit:
        edited.write(checkout)
        return Outcome(kind, record, "", False, 0)
    if remote is None:
        raise ConfigError("--commit needs a branch to commit to")
    await require_clean(checkout)
    subject = f"gitward image set {target.app_name or target.path}"

    async def apply(tree: Path) -> list[str]:
        _, again = edit_source(tree, target, changes)
        again.write(tree)
        return sorted(again.texts)

    result: PushResult = await commit_and_push(
        checkout, apply, message or commit_message(subject, edited), remote, push=push
    )
    return Outcome(kind, record, result.commit, result.pushed, result.attempts)
