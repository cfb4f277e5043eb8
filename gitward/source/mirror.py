"""One bare mirror per repository: fetch only what a render needs, survive being killed.

A mirror lives at ``<cache>/mirrors/<slug>-<hash>.git``. It has no remote
configured — the URL is passed to each ``git fetch`` — so nothing a user typed
into a URL is ever written to disk. Fetched commits are kept alive by
``refs/gitward/<sha>`` so no garbage collection can take them.

Why a killed fetch cannot leave a broken mirror:

- the mirror is created by ``git init --bare`` in a temporary directory and
  renamed into place, so a half-initialised directory is never at the final path;
- git itself writes packs to ``tmp_pack_*`` and indexes them before any ref
  moves, so a killed fetch adds nothing visible;
- what git can leave behind is a stale ``shallow.lock`` or ref ``*.lock``; they
  are removed before each fetch, which is safe because we hold the mirror's
  file lock, so no other gitward process is inside git on it;
- a mirror whose ``git rev-parse --git-dir`` fails (or whose fetch reports
  corruption) is deleted and re-created.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gitward.source.credentials import RepoCredentials
from gitward.source.errors import (
    AmbiguousRevision,
    AuthenticationFailed,
    GitCommandError,
    GitTimeout,
    RepositoryNotFound,
    UnknownRevision,
)
from gitward.source.gitcmd import GitRunner

log = logging.getLogger("gitward.source")

_REFS_SPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
#: Appended to a new mirror's config. ``unpackLimit = 1`` keeps every fetch as one
#: pack that appears only once complete: with git's default (loose objects below
#: 100), a fetch killed mid-stream leaves the commit object but not its tree, and
#: "commit present" would then lie. No background gc or maintenance that a
#: fetch's deadline could kill half-way, no reflogs to grow without bound.
_MIRROR_CONFIG = """[fetch]
\tunpackLimit = 1
[transfer]
\tunpackLimit = 1
[gc]
\tauto = 0
[maintenance]
\tauto = false
[fetch]
\twriteCommitGraph = false
[core]
\tlogAllRefUpdates = false
"""
_CORRUPTION_MARKERS = (
    "corrupt",
    "bad object",
    "unable to read",
    "not a git repository",
    # A pack overwritten in its middle: index-pack, checking what it received against the
    # objects already there, cannot read them (seen after disk-full and corruption faults).
    "cannot read existing object",
    "invalid index-pack output",
    # A damaged pack or pack index, in git's words (packfile.c): "offset beyond end of pack
    # index ... (truncated index?)", "... of packfile (truncated pack?)", "index file ... is
    # too small", "packfile ... does not match index", "non-monotonic index", ...
    "truncated",
    "offset beyond end",
    "is too small",
    "does not match index",
    "non-monotonic index",
    "too short to be a packfile",
    "unable to unpack",
    "inflate",
)


def looks_corrupt(stderr: str) -> bool:
    """Whether git's ``stderr`` says the mirror's own objects are damaged."""
    lowered = stderr.lower()
    return any(marker in lowered for marker in _CORRUPTION_MARKERS)


#: Errors that mean "the server will not help", so falling back to a refs fetch is pointless.
_FINAL = (AuthenticationFailed, RepositoryNotFound, GitTimeout)


@dataclass(frozen=True)
class CommitInfo:
    """What Git says of one commit: its committer and author times (UNIX seconds), its author."""

    sha: str
    committed_at: int
    authored_at: int
    author: str
    #: The full commit message, and the tags pointing at the commit (when asked for).
    message: str = ""
    tags: tuple[str, ...] = ()


def remove_tree(path: Path) -> None:
    """``rm -rf`` that also removes read-only trees (exports are made read-only)."""
    if path.is_symlink() or not path.exists():
        path.unlink(missing_ok=True)
        return
    if not path.is_dir():
        path.unlink()
        return
    for dirpath, _dirs, _files in os.walk(path):
        with contextlib.suppress(OSError):
            os.chmod(dirpath, 0o700)
    shutil.rmtree(path, ignore_errors=True)


class Mirror:
    """The bare mirror of one repository; callers hold its locks around every method."""

    def __init__(self, path: Path, url: str, runner: GitRunner, timeout: float) -> None:
        self.path = path
        self.url = url
        self.runner = runner
        self.timeout = timeout

    @property
    def lock_path(self) -> Path:
        return self.path.with_suffix(".lock")

    async def _git(
        self, *args: str, creds: RepoCredentials | None = None, timeout: float | None = None
    ) -> str:
        result = await self.runner.run(
            args, url=self.url, timeout=timeout or self.timeout, creds=creds, git_dir=self.path
        )
        return result.stdout

    async def healthy(self) -> bool:
        if not (self.path / "HEAD").is_file():
            return False
        try:
            await self._git("rev-parse", "--git-dir", timeout=min(self.timeout, 20))
        except GitCommandError:
            return False
        return True

    async def ensure(self) -> None:
        """Make sure a usable mirror exists, re-creating it if it is corrupt."""
        if self.path.exists():
            if await self.healthy():
                self._clear_stale_locks()
                return
            log.warning("mirror %s is corrupt: re-creating it", self.path)
            remove_tree(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".init-", dir=self.path.parent))
        try:
            await self.runner.run(
                ["init", "--quiet", "--bare", str(tmp)], url=self.url, timeout=self.timeout
            )
            with (tmp / "config").open("a") as fh:
                fh.write(_MIRROR_CONFIG)
            tmp.rename(self.path)  # noqa: ASYNC240 - one rename, no waiting
        finally:
            remove_tree(tmp)

    def _clear_stale_locks(self) -> None:
        for name in (
            "shallow.lock",
            "packed-refs.lock",
            "config.lock",
            "HEAD.lock",
            "FETCH_HEAD.lock",
        ):
            (self.path / name).unlink(missing_ok=True)
        refs = self.path / "refs"
        if refs.is_dir():
            for lock in refs.rglob("*.lock"):
                lock.unlink(missing_ok=True)

    async def has_commit(self, sha: str) -> bool:
        """Whether ``sha`` is here and readable; a mirror found damaged is re-created empty
        (so the fetch that follows fills it again)."""
        try:
            await self._git("cat-file", "-e", f"{sha}^{{commit}}", timeout=min(self.timeout, 20))
        except GitCommandError as exc:
            if looks_corrupt(exc.stderr):
                log.warning("mirror %s reported corruption; re-creating it", self.path)
                remove_tree(self.path)
                await self.ensure()
            return False
        return True

    async def fetch_commit(self, sha: str, creds: RepoCredentials | None) -> None:
        """Fetch just ``sha`` (depth 1); if the server refuses SHA wants, fetch all refs."""
        try:
            await self._fetch(["--depth=1"], [f"+{sha}:refs/gitward/{sha}"], creds)
        except _FINAL:
            raise
        except GitCommandError as exc:
            log.info("fetch of %s by SHA refused (%s); fetching refs", sha[:12], exc.stderr[-200:])
            await self.fetch_refs(creds)
        if not await self.has_commit(sha):
            raise UnknownRevision(self.url, sha, "no such commit on the server")

    async def fetch_refs(self, creds: RepoCredentials | None) -> None:
        """Fetch every branch and tag with full history (short SHAs need it)."""
        shallow = (await self._git("rev-parse", "--is-shallow-repository")).strip() == "true"
        args = ["--unshallow"] if shallow else []
        await self._fetch(args, list(_REFS_SPECS), creds)

    async def _fetch(
        self, options: list[str], refspecs: list[str], creds: RepoCredentials | None
    ) -> None:
        """``git fetch OPTIONS -- URL REFSPECS``: the URL after ``--``, never read as an option."""
        base = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-auto-gc"]
        try:
            await self._git(*base, *options, "--", self.url, *refspecs, creds=creds)
        except _FINAL:
            raise
        except GitCommandError as exc:
            if not looks_corrupt(exc.stderr):
                raise
            log.warning("mirror %s reported corruption; re-creating it", self.path)
            remove_tree(self.path)
            await self.ensure()
            fresh = [a for a in options if a != "--unshallow"]  # a new mirror is not shallow
            await self._git(*base, *fresh, "--", self.url, *refspecs, creds=creds)

    async def commit_info(self, sha: str) -> CommitInfo:
        """The committer and author times (and the author) of ``sha``, which must be present."""
        out = await self._git(
            "show", "--no-patch", "--format=%ct%x00%at%x00%an <%ae>%x00%B", "--end-of-options", sha,
            timeout=min(self.timeout, 20),
        )  # fmt: skip
        committed, authored, author, message = [*out.split("\0", 3), "", "", "", ""][:4]
        tags = await self._git(
            "for-each-ref", "--format=%(refname:strip=2)", "--points-at", sha, "refs/tags",
            timeout=min(self.timeout, 20),
        )  # fmt: skip
        try:
            return CommitInfo(
                sha,
                int(committed.strip()),
                int(authored),
                author,
                message.strip(),
                tuple(t for t in tags.split() if t),
            )
        except ValueError:
            raise UnknownRevision(self.url, sha, "git show gave no commit times") from None

    async def expand(self, short: str, revision: str) -> str:
        """The full SHA of the one commit ``short`` abbreviates."""
        try:
            spec = f"{short}^{{commit}}"
            out = await self._git("rev-parse", "--verify", "--end-of-options", spec)
        except GitCommandError as exc:
            if "ambiguous" in exc.stderr:
                raise AmbiguousRevision(
                    self.url, revision, "short SHA names several commits"
                ) from None
            raise UnknownRevision(
                self.url, revision, "no branch, tag or commit by that name"
            ) from None
        return out.strip()
