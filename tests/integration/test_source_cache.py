"""Mirrors and exported trees: fetch only when needed, survive kills and hangs, stay bounded."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import stat
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gitward.source import GitSource, GitTimeout
from gitward.source.credentials import RepoCredentials
from tests.support.git import GitDaemon, GitRepo, SmartHttpServer


@pytest.fixture
def repo(git_repo: Callable[[str], GitRepo]) -> GitRepo:
    r = git_repo("app")
    r.commit({"base/cm.yaml": "kind: ConfigMap\n", "base/run.sh": "#!/bin/sh\n"}, "first")
    return r


@pytest.fixture
def source(tmp_path: Path) -> GitSource:
    return GitSource(tmp_path / "cache")


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline and "pytest" not in cmdline:
            found.append(f"{pid}: {cmdline}")
    return found


@pytest.fixture
def hung_port() -> Iterator[int]:
    """A TCP port on 127.0.0.1 whose server accepts connections and never says a word."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # the kernel completes every handshake; nobody ever reads or writes
    yield int(sock.getsockname()[1])
    sock.close()


async def test_second_fetch_of_a_present_commit_does_no_git_traffic(
    repo: GitRepo, git_http: Callable[[str | None], SmartHttpServer], tmp_path: Path
) -> None:
    server = git_http(None)
    url = server.url(repo)
    source = GitSource(tmp_path / "cache")
    sha = await source.resolve(url, "main")
    before = len(server.requests)
    assert await source.fetch(url, sha) is True
    assert len(server.requests) > before
    before = len(server.requests)
    assert await source.fetch(url, sha) is False
    fresh = GitSource(tmp_path / "cache")  # another process, same cache directory
    assert await fresh.fetch(url, sha) is False
    assert len(server.requests) == before
    async with fresh.checkout(url, sha) as tree:
        assert (tree.path / "base" / "cm.yaml").is_file()
    # A checkout lists the refs once even for a full SHA (the caller proves it may read the
    # repository before the shared mirror serves it), but fetches nothing.
    assert (fresh.stats_for(url).ls_remote, fresh.stats_for(url).fetches) == (1, 0)
    assert source.stats_for(url).fetches == 1
    assert source.stats_for(url).fetches_skipped == 1


async def test_exported_tree_is_complete_and_read_only(repo: GitRepo, source: GitSource) -> None:
    async with source.checkout(repo.url, "main") as tree:
        files = sorted(p.relative_to(tree.path).as_posix() for p in tree.path.rglob("*"))
        assert files == ["base", "base/cm.yaml", "base/run.sh"]
        for path in [tree.path, *tree.path.rglob("*")]:
            assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0, path
        assert tree.path.parent.parent == source.cache_dir / "trees"
        assert tree.path.name == repo.head()


@pytest.mark.parametrize("scheme", ["git", "http"])
async def test_hung_server_times_out_and_leaves_no_process(
    hung_port: int, tmp_path: Path, scheme: str
) -> None:
    source = GitSource(tmp_path / "cache", timeout=1.5, ls_remote_timeout=1.0)
    url = f"{scheme}://127.0.0.1:{hung_port}/org/repo"
    started = time.monotonic()
    with pytest.raises(GitTimeout, match=r"git ls-remote .*: no answer within 1s"):
        await source.resolve(url, "main")
    with pytest.raises(GitTimeout, match=r"git fetch .*: no answer within 1.5s"):
        await source.fetch(url, "a" * 40)
    assert time.monotonic() - started < 10
    assert _processes_mentioning(f"127.0.0.1:{hung_port}") == []
    assert source.mirror(url).path.is_dir()  # the mirror itself is intact, just empty


class StallingProxy:
    """TCP proxy to a git daemon that, when told to, stops forwarding the server's reply.

    With ``stall_after`` set, a connection passes that many bytes of the server's
    answer and then nothing more, so a ``git fetch`` hangs half-way through its
    pack — as if the network died or the process were killed mid-transfer.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.stall_after: int | None = None
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limit: int | None
    ) -> None:
        sent = 0
        try:
            while data := await reader.read(65536):
                if limit is not None and sent + len(data) > limit:
                    writer.write(data[: max(0, limit - sent)])
                    await writer.drain()
                    await asyncio.Event().wait()  # hold the connection open, silent
                writer.write(data)
                await writer.drain()
                sent += len(data)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        limit = self.stall_after
        for coro in (self._pipe(client_r, server_w, None), self._pipe(server_r, client_w, limit)):
            task = asyncio.ensure_future(coro)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def proxy(git_daemon: GitDaemon) -> AsyncIterator[StallingProxy]:
    p = StallingProxy(git_daemon.port)
    await p.start()
    yield p
    await p.stop()


async def test_fetch_killed_mid_pack_leaves_a_usable_mirror(
    repo: GitRepo, git_daemon: GitDaemon, proxy: StallingProxy, tmp_path: Path
) -> None:
    blob = base64.b64encode(os.urandom(3 * 1024 * 1024)).decode()
    sha = repo.commit({"big/blob.txt": blob}, "a large file")
    url = git_daemon.url(repo).replace(f":{git_daemon.port}/", f":{proxy.port}/")
    source = GitSource(tmp_path / "cache", timeout=3)

    proxy.stall_after = 256 * 1024
    with pytest.raises(GitTimeout):
        await source.fetch(url, sha)
    mirror = source.mirror(url)
    assert not await mirror.has_commit(sha)

    proxy.stall_after = None
    async with source.checkout(url, sha) as tree:
        assert (tree.path / "big" / "blob.txt").read_text() == blob
    assert not list((source.cache_dir / "trees").glob("*/.tmp-*"))


@pytest.mark.parametrize("damage", ["garbage-head", "no-objects", "stale-locks", "deleted"])
async def test_damaged_mirror_is_repaired(repo: GitRepo, tmp_path: Path, damage: str) -> None:
    source = GitSource(tmp_path / "cache")
    async with source.checkout(repo.url, "main"):
        pass
    mirror = source.mirror(repo.url).path
    if damage == "garbage-head":
        (mirror / "HEAD").write_text("this is not a ref\n")
    elif damage == "no-objects":
        for path in sorted(mirror.joinpath("objects").rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        mirror.joinpath("objects").rmdir()
    elif damage == "stale-locks":
        (mirror / "shallow.lock").write_text("")
        (mirror / "refs" / "heads").mkdir(parents=True, exist_ok=True)
        (mirror / "refs" / "heads" / "main.lock").write_text("")
    else:
        import shutil

        shutil.rmtree(mirror)
    moved = repo.commit({"base/cm.yaml": "kind: ConfigMap # v2\n"}, "second")
    fresh = GitSource(tmp_path / "cache")
    async with fresh.checkout(repo.url, "main") as tree:
        assert tree.sha == moved
        assert (tree.path / "base" / "cm.yaml").read_text() == "kind: ConfigMap # v2\n"


async def test_lru_eviction_spares_trees_in_use(repo: GitRepo, tmp_path: Path) -> None:
    source = GitSource(tmp_path / "cache", max_trees=2)
    shas = [repo.head()] + [repo.commit({"base/n.txt": str(i)}, f"c{i}") for i in range(4)]
    async with source.checkout(repo.url, shas[0]) as held:
        for sha in shas[1:4]:
            async with source.checkout(repo.url, sha):
                pass
        assert held.path.is_dir()  # in use: never evicted, even as the oldest
    kept = {p.name for p in source.trees.trees()}
    assert kept == {shas[0], shas[3]}
    async with source.checkout(repo.url, shas[4]):
        pass
    kept = {p.name for p in source.trees.trees()}
    assert kept == {shas[0], shas[4]}  # released just now, the held tree was newer than shas[3]
    assert not list((source.cache_dir / "trees").glob("*/.evict-*"))


async def test_concurrent_checkouts_of_one_sha_export_once(
    repo: GitRepo, source: GitSource
) -> None:
    async def one() -> tuple[str, Path]:
        async with source.checkout(repo.url, "main") as tree:
            assert (tree.path / "base" / "cm.yaml").is_file()
            return tree.sha, tree.path

    results = await asyncio.gather(*(one() for _ in range(12)))
    assert len(set(results)) == 1
    stats = source.stats_for(repo.url)
    assert (stats.ls_remote, stats.fetches, stats.exports) == (1, 1, 1)


async def test_many_repositories_fetch_in_parallel(
    git_repo: Callable[[str], GitRepo], source: GitSource
) -> None:
    repos = []
    for i in range(4):
        r = git_repo(f"repo{i}")
        r.commit({"f.yaml": f"n: {i}\n"})
        repos.append(r)

    async def one(r: GitRepo) -> str:
        async with source.checkout(r.url, "main") as tree:
            return (tree.path / "f.yaml").read_text()

    assert await asyncio.gather(*(one(r) for r in repos)) == [f"n: {i}\n" for i in range(4)]
    assert source.total_stats().fetches == 4


async def test_two_processes_sharing_a_cache_fetch_once(repo: GitRepo, tmp_path: Path) -> None:
    """Two GitSources (as two processes would) share nothing but the file lock."""
    first, second = GitSource(tmp_path / "cache"), GitSource(tmp_path / "cache")
    sha = repo.head()
    fetched = await asyncio.gather(*(s.fetch(repo.url, sha) for s in (first, second, first)))
    assert sorted(fetched) == [False, False, True]
    assert first.total_stats().fetches + second.total_stats().fetches == 1


async def test_a_commits_times_are_read_from_git_once_per_caller(
    repo: GitRepo, source: GitSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What Git says of a commit never changes: 1,000 apps deployed from one commit ask
    for its times once, not three git processes each. Another tenant's credentials are
    not answered from what one tenant was told."""
    runs: list[object] = []
    real = source.runner.run

    async def counted(*args: Any, **kwargs: Any) -> Any:
        runs.append(args[0])
        return await real(*args, **kwargs)

    monkeypatch.setattr(source.runner, "run", counted)
    sha = repo.head()
    first = await source.commit_info(repo.url, sha)
    assert first.sha == sha
    assert first.committed_at > 0
    asked = len(runs)
    assert asked > 0
    assert await source.commit_info(repo.url, sha.upper()) == first
    assert len(runs) == asked, "the second question is answered from memory"
    tenant = RepoCredentials(url=repo.url, username="tenant-b", password="secret")
    assert await source.commit_info(repo.url, sha, tenant) == first
    assert len(runs) > asked, "another caller's credentials go to Git"
