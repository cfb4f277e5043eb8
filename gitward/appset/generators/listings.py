"""What an exported commit holds, listed once: the git generator's directory walk.

A tree exported at a commit never changes, so its listing is remembered by
(tree path, SHA). The memory belongs to :class:`TreeListings`, whose owner
decides how long it lives: the ApplicationSet reconciler keeps one for the
controller's lifetime (a set regenerated every three minutes from the same
commit walks its tree once); a one-shot generation (the CLI) gets its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from gitward._util.lru import BoundedLRU

Listing = tuple[list[str], list[str]]


def _walk(root: Path) -> tuple[list[str], list[str]]:
    """(directories, files) of a tree, relative, in lexical depth-first order.

    Directories whose name starts with ``.`` are skipped with all they hold (as
    Argo CD's repo server does for directories); symlinks are listed as files
    and never followed.
    """
    dirs: list[str] = []
    files: list[str] = []

    def visit(path: Path, rel: str) -> None:
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                if entry.name.startswith("."):
                    continue
                dirs.append(child)
                visit(Path(entry.path), child)
            else:
                files.append(child)

    visit(root, "")
    return dirs, files


class TreeListings:
    """(directories, files) of exported commits, by (tree path, SHA); at most ``size`` kept."""

    def __init__(self, size: int = 256) -> None:
        self._found: BoundedLRU[tuple[str, str], Listing] = BoundedLRU(size)

    def listing(self, tree_path: Path, sha: str) -> Listing:
        """The (directories, files) of the tree at ``tree_path``, exported at ``sha``."""
        key = (str(tree_path), sha)
        found = self._found.get(key)
        if found is None:
            found = _walk(tree_path)
            self._found.put(key, found)
        return found
