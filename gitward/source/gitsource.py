"""The source layer's front door: a revision in, a read-only tree of files out.

:class:`GitSource` (one per process) owns the three caches, cheapest first:

- the ref map of each repository (one ``git ls-remote``), kept ``ref_ttl``
  seconds so that many Applications resolving against one repository in one
  reconcile pass cost one network round trip;
- a bare mirror per repository, fetched only when a commit is missing;
- exported trees per commit, shared and evicted by LRU.

``async with source.checkout(url, revision, creds) as tree`` runs all three and
holds the tree (``tree.path``) until the block ends, so eviction never removes
a tree a renderer is reading. :class:`GitStats` counts the git work per
repository, for benchmarks and metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from gitward._util.hashing import digest_of
from gitward._util.lru import BoundedLRU
from gitward._util.tasks import shared_task
from gitward.model.repourl import normalize_url, url_slug
from gitward.source.credentials import RepoCredentials
from gitward.source.errors import ExportError, UnknownRevision
from gitward.source.gitcmd import GitRunner
from gitward.source.locks import KeyedLocks, file_lock
from gitward.source.mirror import CommitInfo, Mirror, looks_corrupt, remove_tree
from gitward.source.policy import RepoURLPolicy
from gitward.source.refs import FULL_SHA, NEEDS_MIRROR, RefMap, match_revision, parse_ls_remote
from gitward.source.trees import TreeCache

#: Commits whose times and author are remembered (a few hundred bytes each).
COMMIT_INFO_MEMO = 4096

log = logging.getLogger("gitward.source")


def default_cache_dir() -> Path:
    """``$GITWARD_REPO_CACHE``, else ``~/.cache/gitward/repos`` (XDG and GITWARD_CACHE honoured)."""
    env = os.environ.get("GITWARD_REPO_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("GITWARD_CACHE")
    if base:
        return Path(base) / "repos"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "gitward" / "repos"


@dataclass
class GitStats:
    """Git work done for one repository since this :class:`GitSource` started."""

    ls_remote: int = 0
    fetches: int = 0
    fetches_skipped: int = 0
    exports: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class Checkout:
    """A resolved commit and the read-only directory holding its files."""

    sha: str
    path: Path
    url: str = ""
    revision: str = ""


def split_userinfo(url: str, creds: RepoCredentials | None) -> tuple[str, RepoCredentials | None]:
    """Move ``user:password@`` out of an http(s) URL into credentials, never into argv."""
    if not url.lower().startswith(("http://", "https://")):
        return url, creds
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, creds
    host = parts.netloc.rpartition("@")[2]
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, ""))
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    if creds is not None and creds.has_secret:
        return clean, creds
    base = creds or RepoCredentials(url=clean)
    if password:
        return clean, replace(base, username=user, password=password)
    return clean, replace(base, username="", password=user)  # a bare token as user name


class GitSource:
    """Resolves revisions, keeps mirrors and exports trees; safe for many concurrent tasks."""

    def __init__(
        self,
        cache_dir: Path | None = None,
        *,
        timeout: float = 60.0,
        ls_remote_timeout: float = 20.0,
        ref_ttl: float = 3.0,
        max_trees: int = 200,
        known_hosts: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        policy: RepoURLPolicy | None = None,
    ) -> None:
        self.cache_dir = cache_dir or default_cache_dir()
        #: gitward's own caches are never a source, whatever the allow-list says.
        self.policy = (policy or RepoURLPolicy.create()).with_forbidden(self.cache_dir)
        self.timeout = timeout
        self.ls_remote_timeout = ls_remote_timeout
        self.ref_ttl = ref_ttl
        self.clock = clock
        self.runner = GitRunner(self.cache_dir / "bin", known_hosts, self.policy)
        self.trees = TreeCache(self.cache_dir / "trees", self.runner, timeout, max_trees)
        self.stats: dict[str, GitStats] = {}
        #: Ref listings by (repository, who asked: a digest of the credentials): a listing
        #: made with one tenant's credentials never answers for another's (or for none).
        self._refs: dict[tuple[str, str], tuple[float, RefMap]] = {}
        self._listing: dict[tuple[str, str], asyncio.Task[RefMap]] = {}
        #: What Git says of a commit never changes: by (repository, who asked, SHA), so one
        #: tenant's credentials never answer for another's (see ``_refs``).
        self._commits: BoundedLRU[tuple[str, str, str], CommitInfo] = BoundedLRU(COMMIT_INFO_MEMO)
        self._locks = KeyedLocks()

    # -- bookkeeping -------------------------------------------------------------------------

    def stats_for(self, url: str) -> GitStats:
        key = normalize_url(url)
        found = self.stats.get(key)
        if found is None:
            found = self.stats[key] = GitStats()
        return found

    def total_stats(self) -> GitStats:
        total = GitStats()
        for s in self.stats.values():
            total.ls_remote += s.ls_remote
            total.fetches += s.fetches
            total.fetches_skipped += s.fetches_skipped
            total.exports += s.exports
            total.seconds += s.seconds
        return total

    @staticmethod
    def repo_key(url: str) -> str:
        """Directory name for a repository: readable slug plus a hash of the normalised URL."""
        normal = normalize_url(url)
        return f"{url_slug(normal)}-{digest_of([normal], 16)}"

    def mirror(self, url: str) -> Mirror:
        path = self.cache_dir / "mirrors" / f"{self.repo_key(url)}.git"
        return Mirror(path, url, self.runner, self.timeout)

    @contextlib.asynccontextmanager
    async def _timed(self, url: str) -> AsyncIterator[GitStats]:
        stats = self.stats_for(url)
        started = time.monotonic()
        try:
            yield stats
        finally:
            stats.seconds += time.monotonic() - started

    def forget_refs(self) -> None:
        """Drop every cached ref listing: the next resolve asks each server again."""
        self._refs.clear()

    # -- refs --------------------------------------------------------------------------------

    async def ls_remote(
        self, url: str, creds: RepoCredentials | None = None, *, force: bool = False
    ) -> RefMap:
        """Every ref of ``url``, from cache when younger than ``ref_ttl`` (unless ``force``)."""
        url, creds = split_userinfo(url, creds)
        key = (normalize_url(url), _access_key(creds))
        cached = self._refs.get(key)
        if cached is not None and not force and self.clock() < cached[0]:
            return cached[1]
        task = self._listing.get(key)
        if task is None or force:
            task = shared_task(self._ls_remote(url, key, creds))
            self._listing[key] = task
            task.add_done_callback(
                lambda t: self._listing.pop(key, None) if self._listing.get(key) is t else None
            )
        return await asyncio.shield(task)

    async def _ls_remote(
        self, url: str, key: tuple[str, str], creds: RepoCredentials | None
    ) -> RefMap:
        async with self._timed(url) as stats:
            stats.ls_remote += 1
            result = await self.runner.run(
                ["ls-remote", "--", url], url=url, timeout=self.ls_remote_timeout, creds=creds
            )
        refs = parse_ls_remote(result.stdout)
        self._refs[key] = (self.clock() + self.ref_ttl, refs)
        return refs

    async def resolve(
        self, url: str, revision: str, creds: RepoCredentials | None = None, *, force: bool = False
    ) -> str:
        """The full SHA ``revision`` names in ``url`` (branch, tag, SHA, HEAD, semver)."""
        url, creds = split_userinfo(url, creds)
        # Listed even for a full SHA (a commit need not be any ref's tip): the listing, made
        # with the caller's credentials, proves the caller may read the repository before
        # the shared mirror serves it a commit another tenant fetched.
        refs = await self.ls_remote(url, creds, force=force)
        if FULL_SHA.match(revision.strip()):
            return revision.strip().lower()
        match = match_revision(refs, revision)
        if match is None:
            raise UnknownRevision(url, revision, "no branch, tag or matching semver tag")
        if match.sha != NEEDS_MIRROR:
            log.debug("resolved %r to %s (%s %s)", revision, match.sha[:12], match.kind, match.ref)
            return match.sha
        mirror = self.mirror(url)
        async with self._mirror_locked(mirror), self._timed(url) as stats:
            await mirror.ensure()
            stats.fetches += 1
            await mirror.fetch_refs(creds)
            return await mirror.expand(revision.strip().lower(), revision)

    # -- mirrors and trees -------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _mirror_locked(self, mirror: Mirror) -> AsyncIterator[None]:
        async with (
            self._locks(str(mirror.path)),
            file_lock(mirror.lock_path, self.timeout, mirror.url),
        ):
            yield

    async def fetch(self, url: str, sha: str, creds: RepoCredentials | None = None) -> bool:
        """Make ``sha`` present in the mirror; True if that took a fetch."""
        url, creds = split_userinfo(url, creds)
        sha = sha.lower()
        mirror = self.mirror(url)
        async with self._mirror_locked(mirror), self._timed(url) as stats:
            await mirror.ensure()
            if await mirror.has_commit(sha):
                stats.fetches_skipped += 1
                return False
            stats.fetches += 1
            await mirror.fetch_commit(sha, creds)
            return True

    async def commit_info(
        self, url: str, sha: str, creds: RepoCredentials | None = None
    ) -> CommitInfo:
        """Committer and author times of ``sha``, read from the mirror (fetched if missing)."""
        url, creds = split_userinfo(url, creds)
        sha = sha.strip().lower()
        if not FULL_SHA.match(sha):
            raise UnknownRevision(url, sha, "not a full commit SHA")
        key = (normalize_url(url), _access_key(creds), sha)
        known = self._commits.get(key)
        if known is not None:
            # 1,000 apps deployed from one commit asked for it 1,000 times, three git
            # processes each under the mirror's lock: a fifth of the controller's CPU
            # at a cold start (docs/performance.md).
            return known
        mirror = self.mirror(url)
        async with self._mirror_locked(mirror), self._timed(url) as stats:
            await mirror.ensure()
            if not await mirror.has_commit(sha):
                stats.fetches += 1
                await mirror.fetch_commit(sha, creds)
            info = await mirror.commit_info(sha)
        self._commits.put(key, info)
        return info

    async def _recreate(self, url: str) -> None:
        mirror = self.mirror(url)
        async with self._mirror_locked(mirror):
            log.warning("mirror %s reported corruption; re-creating it", mirror.path)
            remove_tree(mirror.path)
            await mirror.ensure()

    async def export(self, url: str, sha: str) -> Path:
        """The read-only tree of ``sha`` (which must already be fetched)."""
        url, _ = split_userinfo(url, None)
        sha = sha.lower()
        mirror = self.mirror(url)
        async with self._timed(url) as stats:
            path, created = await self.trees.export(mirror.path, url, self.repo_key(url), sha)
            if created:
                stats.exports += 1
        if created:
            await self.trees.evict()
        return path

    @contextlib.asynccontextmanager
    async def checkout(
        self,
        url: str,
        revision: str,
        creds: RepoCredentials | None = None,
        *,
        force: bool = False,
    ) -> AsyncIterator[Checkout]:
        """Resolve, fetch and export; hold the tree (safe from eviction) inside the block."""
        sha = await self.resolve(url, revision, creds, force=force)
        path = self.trees.path_for(self.repo_key(url), sha)
        self.trees.acquire(path)  # held from before the export, so eviction cannot race it
        try:
            if not path.is_dir():
                await self.fetch(url, sha, creds)
                try:
                    path = await self.export(url, sha)
                except ExportError as exc:
                    if not looks_corrupt(str(exc)):
                        raise
                    # The commit reads but a tree or blob of it does not: start the mirror
                    # again, once, rather than fail every refresh of every app using it.
                    await self._recreate(url)
                    await self.fetch(url, sha, creds)
                    path = await self.export(url, sha)
            yield Checkout(sha, path, url, revision)
        finally:
            self.trees.release(path)


def _access_key(creds: RepoCredentials | None) -> str:
    """Who a listing was made as: a digest of the credentials' secrets ("" for none)."""
    if creds is None or not creds.has_secret:
        return ""
    return digest_of([creds.username, *creds.secrets()], 16)
