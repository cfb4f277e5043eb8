"""Exported trees: each commit written out once, shared, read-only, evicted by LRU.

``<cache>/trees/<repo-key>/<sha>/`` holds the files of one commit. It is written
into a temporary sibling with ``git read-tree -u`` (a private index file, so the
mirror is never touched) and renamed into place, so a reader sees a complete
tree or none. Files and directories are then made read-only: a renderer that
writes into its input would corrupt every later render of that commit.

Concurrent callers for one commit share one export task. A caller holds a tree
through a reference count (:meth:`TreeCache.acquire` / :meth:`release`);
eviction removes the least-recently-used trees beyond ``max_trees`` and never
one this process holds. Last use is the directory's mtime, refreshed on every
acquire and release, so the order survives restarts. (The in-use count is per
process: processes sharing one cache directory protect only their own trees.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import tempfile
import time
from pathlib import Path

from gitward._util.tasks import shared_task
from gitward.source.errors import ExportError, GitCommandError
from gitward.source.gitcmd import GitRunner
from gitward.source.mirror import remove_tree
from gitward.source.refs import FULL_SHA

log = logging.getLogger("gitward.source")

_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def make_read_only(root: Path) -> None:
    """Clear every write bit under ``root`` (symlinks are left alone)."""
    for dirpath, dirs, files in os.walk(root):
        for name in files + dirs:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            mode = os.lstat(path).st_mode
            if not stat.S_ISDIR(mode):
                os.chmod(path, stat.S_IMODE(mode) & ~_WRITE_BITS)
    for dirpath, dirs, _files in os.walk(root, topdown=False):
        for name in dirs:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o555)  # noqa: S103 - read-only is the point
    os.chmod(root, 0o555)  # noqa: S103 - read-only is the point


def _publish(tmp: Path, path: Path) -> bool:
    """Rename ``tmp`` to ``path``; False when another process published it first."""
    try:
        tmp.rename(path)
    except OSError:
        if path.is_dir():
            return False
        raise
    return True


def _discard(tmp: Path, index: Path) -> None:
    index.unlink(missing_ok=True)
    if tmp.exists():
        remove_tree(tmp)


class TreeCache:
    """Exported commit trees under one directory, with reference counts and LRU eviction."""

    def __init__(self, root: Path, runner: GitRunner, timeout: float, max_trees: int = 200) -> None:
        self.root = root
        self.runner = runner
        self.timeout = timeout
        self.max_trees = max_trees
        self._in_use: dict[Path, int] = {}
        self._exporting: dict[Path, asyncio.Task[bool]] = {}

    def path_for(self, repo_key: str, sha: str) -> Path:
        return self.root / repo_key / sha

    async def export(self, mirror: Path, url: str, repo_key: str, sha: str) -> tuple[Path, bool]:
        """The tree of ``sha``, exported now if needed; True when this call wrote it."""
        path = self.path_for(repo_key, sha)
        if path.is_dir():
            return path, False
        task = self._exporting.get(path)
        if task is None:
            task = shared_task(self._export(mirror, url, sha, path))
            self._exporting[path] = task
            task.add_done_callback(lambda _t: self._exporting.pop(path, None))
            created = await asyncio.shield(task)
            return path, created
        await asyncio.shield(task)
        return path, False

    async def _export(self, mirror: Path, url: str, sha: str, path: Path) -> bool:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{sha[:12]}-", dir=path.parent))
        index = tmp.with_name(tmp.name + ".index")
        try:
            await self.runner.run(
                [f"--work-tree={tmp}", "read-tree", "--reset", "-u", sha],
                url=url,
                timeout=self.timeout,
                git_dir=mirror,
                env_extra={"GIT_INDEX_FILE": str(index)},
            )
            await asyncio.to_thread(make_read_only, tmp)
            if not _publish(tmp, path):
                return False
            self.touch(path)
            log.debug("exported %s of %s to %s", sha[:12], url, path)
            return True
        except GitCommandError as exc:
            raise ExportError(f"cannot export {sha} of {exc.url}: {exc.stderr}") from None
        except OSError as exc:
            raise ExportError(f"cannot export {sha} to {path}: {exc}") from None
        finally:
            await asyncio.to_thread(_discard, tmp, index)

    def acquire(self, path: Path) -> None:
        self._in_use[path] = self._in_use.get(path, 0) + 1
        self.touch(path)

    def release(self, path: Path) -> None:
        count = self._in_use.get(path, 0) - 1
        if count > 0:
            self._in_use[path] = count
        else:
            self._in_use.pop(path, None)
        self.touch(path)

    def in_use(self, path: Path) -> bool:
        return self._in_use.get(path, 0) > 0

    @staticmethod
    def touch(path: Path) -> None:
        """Record a use. Explicit nanoseconds: the kernel's own file times are
        tick-grained, which would tie uses a few milliseconds apart."""
        now = time.time_ns()
        with contextlib.suppress(OSError):
            os.utime(path, ns=(now, now))

    def trees(self) -> list[Path]:
        """Every published tree, least recently used first."""
        found: list[tuple[int, Path]] = []
        if not self.root.is_dir():
            return []
        for repo in self.root.iterdir():
            if not repo.is_dir() or repo.name.startswith("."):
                continue
            for tree in repo.iterdir():
                if FULL_SHA.match(tree.name) and tree.is_dir():
                    with contextlib.suppress(OSError):
                        found.append((tree.stat().st_mtime_ns, tree))
        found.sort(key=lambda item: item[0])
        return [tree for _, tree in found]

    async def evict(self) -> list[Path]:
        """Remove the least-recently-used trees beyond ``max_trees``; return them."""
        trees = self.trees()
        excess = len(trees) - self.max_trees
        victims: list[Path] = []
        for tree in trees:
            if len(victims) >= excess:
                break
            if self.in_use(tree) or tree in self._exporting:
                continue
            trash = tree.with_name(f".evict-{tree.name}-{os.getpid()}")
            try:
                tree.rename(trash)  # gone from view at once; deleting may take longer
            except OSError:
                continue
            victims.append(tree)
            await asyncio.to_thread(remove_tree, trash)
        if victims:
            log.debug("evicted %d exported trees", len(victims))
        return victims
