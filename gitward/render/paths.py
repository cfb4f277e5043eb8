"""Paths inside the checked-out repository: resolving them, fencing them in, copying them.

A render reads only the repository tree it was given. Every path that comes
from the spec (the source path, value files, file:// chart dependencies) is
resolved with symlinks followed and refused if it lands outside that tree,
and symlinks inside the rendered directory that point outside are refused
too: otherwise a repository could make gitward read ``/etc`` or a neighbour's
checkout. The tree itself is never written to; when a tool must write
(``kustomize edit``, ``helm dependency build``) it works on a copy.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from gitward.model.source_spec import normalise_path
from gitward.render.errors import PathError


def resolve_root(repo_root: Path) -> Path:
    """The repository root with symlinks resolved; it must be an existing directory."""
    try:
        root = repo_root.resolve(strict=True)
    except (FileNotFoundError, RuntimeError):
        raise PathError(f"repository tree {repo_root} does not exist", str(repo_root)) from None
    if not root.is_dir():
        raise PathError(f"repository tree {repo_root} is not a directory", str(repo_root))
    return root


def inside(root: Path, path: Path) -> bool:
    """Whether the resolved ``path`` is ``root`` or below it."""
    return path == root or path.is_relative_to(root)


def resolve_app_dir(root: Path, source_path: str) -> Path:
    """The directory ``spec.source.path`` names, resolved; it must stay inside ``root``."""
    if os.path.isabs(source_path):
        raise PathError(
            f"spec.source.path {source_path!r} is absolute; give a path relative to the "
            "repository root",
            source_path,
        )
    rel = normalise_path(source_path)
    candidate = root / rel if rel else root
    try:
        app = candidate.resolve(strict=False)
    except RuntimeError:
        raise PathError(f"spec.source.path {source_path!r}: symlink loop", source_path) from None
    if not inside(root, app):
        raise PathError(
            f"spec.source.path {source_path!r} leads outside the repository", source_path
        )
    if not app.exists():
        raise PathError(
            f"spec.source.path {source_path!r} does not exist in the repository", source_path
        )
    if not app.is_dir():
        raise PathError(f"spec.source.path {source_path!r} is not a directory", source_path)
    return app


def display(root: Path, path: Path) -> str:
    """``path`` relative to the repository root, for messages (``.`` for the root)."""
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
    return rel or "."


def check_symlinks(root: Path, top: Path) -> None:
    """Refuse any symlink under ``top`` whose target is outside ``root`` (dangling ones pass)."""
    stack = [top]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError as exc:
            raise PathError(f"{display(root, current)}: cannot list: {exc}", str(current)) from None
        for entry in entries:
            if entry.is_symlink():
                link = Path(entry.path)
                try:
                    target = link.resolve(strict=True)
                except (FileNotFoundError, RuntimeError):
                    continue
                if not inside(root, target):
                    raise PathError(
                        f"{display(root, link)}: symlink points outside the repository",
                        str(link),
                    )
            elif entry.is_dir(follow_symlinks=False) and entry.name != ".git":
                stack.append(Path(entry.path))


def resolve_in_repo(root: Path, base: Path, raw: str, what: str) -> Path:
    """A file path from the spec: relative to ``base``, or to ``root`` when it starts with ``/``.

    The result is resolved and must lie inside ``root``; it need not exist.
    """
    candidate = root / raw.lstrip("/") if raw.startswith("/") else base / raw
    try:
        path = candidate.resolve(strict=False)
    except RuntimeError:
        raise PathError(f"{what} {raw!r}: symlink loop", raw) from None
    if not inside(root, path):
        raise PathError(f"{what} {raw!r} leads outside the repository", raw)
    return path


def _ignore_git(_dir: str, names: list[str]) -> list[str]:
    return [name for name in names if name == ".git"]


def copy_tree(src: Path, dest: Path) -> None:
    """Copy a directory (symlinks kept as symlinks, ``.git`` left out)."""
    shutil.copytree(src, dest, symlinks=True, ignore=_ignore_git, dirs_exist_ok=True)


def make_mirror(root: Path, app: Path, dest: Path) -> Path:
    """A writable stand-in for ``root`` at ``dest`` in which only ``app`` is a real copy.

    Each directory on the way from the root to ``app`` is a real directory whose
    other entries are symlinks into the repository, so a relative reference
    from the copy (``../../base``) reaches the same place it would in the
    repository, at the cost of copying ``app`` alone. Returns the copy of ``app``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    src_dir, dst_dir = root, dest
    for part in app.relative_to(root).parts:
        for entry in os.scandir(src_dir):
            if entry.name not in (part, ".git"):
                os.symlink(entry.path, dst_dir / entry.name)
        src_dir, dst_dir = src_dir / part, dst_dir / part
        dst_dir.mkdir()
    copy_tree(app, dst_dir)
    return dst_dir
