"""A mirror whose packs or loose objects were overwritten (a bad disk, a half-written file
after a crash) is detected and re-created by the next fetch: the app gets its new commit,
not an error forever. Found by the chaos suite's ``corrupt-mirror`` fault."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from gitward.source import GitSource
from tests.support.chaos.faults import corrupt_objects
from tests.support.git import GitDaemon, GitRepo, git


@pytest.mark.parametrize("whole", [True, False], ids=["whole", "middle"])
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_corrupted_mirror_is_recreated_by_the_next_fetch(
    git_repo: Callable[[str], GitRepo],
    git_daemon: GitDaemon,
    tmp_path: Path,
    seed: int,
    whole: bool,
) -> None:
    repo = git_repo("corrupt")
    url = git_daemon.url(repo)
    source = GitSource(tmp_path / "cache")
    for i in range(6):  # one fetch per commit, as a controller fetches pushes: many packs
        stable = "kind: ConfigMap\nstable: yes\n" * 20
        repo.commit({"app/stable.yaml": stable, "app/state.yaml": f"n: {i}\n" * 30}, f"c{i}")
        async with source.checkout(url, "main", force=True) as seen:
            assert (seen.path / "app" / "state.yaml").read_text().startswith(f"n: {i}")
    mirror = source.mirror(url).path
    rng = random.Random(seed)  # noqa: S311 -- test noise, not a secret
    assert corrupt_objects(mirror, rng, whole) > 0
    newer = repo.commit({"app/cm5.yaml": "kind: ConfigMap\n"}, "c5")
    async with source.checkout(url, "main", force=True) as second:
        assert second.sha == newer
        assert (second.path / "app" / "cm5.yaml").read_text() == "kind: ConfigMap\n"


def _point_offsets_past_the_index(mirror: Path) -> int:
    """Overwrite every pack index's offset table so each entry points past the index's end:
    git then fails with "offset beyond end of pack index ... (truncated index?)"."""
    hit = 0
    for idx in (mirror / "objects" / "pack").glob("*.idx"):
        data = bytearray(idx.read_bytes())
        count = int.from_bytes(data[8 + 255 * 4 : 8 + 256 * 4], "big")
        offsets = 8 + 256 * 4 + count * 24  # header, fan-out, names, CRCs
        data[offsets : offsets + count * 4] = b"\xff" * (count * 4)
        idx.chmod(0o600)
        idx.write_bytes(bytes(data))
        hit += 1
    return hit


async def test_a_mirror_whose_pack_index_points_past_its_end_is_recreated(
    git_repo: Callable[[str], GitRepo], git_daemon: GitDaemon, tmp_path: Path
) -> None:
    """The chaos suite's ``corrupt-mirror`` fault once left two apps on a ComparisonError for
    good: the fetch of their new commit by SHA failed on a damaged index, the refs fetch that
    followed had nothing to fetch, and the commit stayed unreadable."""
    repo = git_repo("offsets")
    url = git_daemon.url(repo)
    source = GitSource(tmp_path / "cache")
    first = repo.commit({"app/cm.yaml": "kind: ConfigMap\nn: 1\n"}, "c1")
    async with source.checkout(url, first, force=True) as seen:
        assert seen.sha == first
    assert _point_offsets_past_the_index(source.mirror(url).path) > 0
    second = repo.commit({"app/cm.yaml": "kind: ConfigMap\nn: 2\n"}, "c2")
    async with source.checkout(url, second, force=True) as again:
        assert again.sha == second
        assert (again.path / "app" / "cm.yaml").read_text() == "kind: ConfigMap\nn: 2\n"
    async with source.checkout(url, first, force=True) as old:  # history is readable again
        assert (old.path / "app" / "cm.yaml").read_text() == "kind: ConfigMap\nn: 1\n"


async def test_a_commit_that_reads_but_whose_blob_does_not_is_fetched_again(
    git_repo: Callable[[str], GitRepo], git_daemon: GitDaemon, tmp_path: Path
) -> None:
    """The commit object is sound, so nothing asks for a fetch; the damage shows only when
    its tree is written out. The mirror is started again and the tree exported."""
    repo = git_repo("blob")
    url = git_daemon.url(repo)
    source = GitSource(tmp_path / "cache")
    first = repo.commit({"app/a.yaml": "kind: ConfigMap\na: 1\n" * 10}, "c1")
    await source.fetch(url, first)
    blob = git("rev-parse", f"{first}:app/a.yaml", cwd=repo.path).strip()
    assert _point_one_offset_past_the_index(source.mirror(url).path, blob)
    async with source.checkout(url, first, force=True) as seen:
        assert (seen.path / "app" / "a.yaml").read_text().startswith("kind: ConfigMap\na: 1\n")


def _point_one_offset_past_the_index(mirror: Path, sha: str) -> bool:
    """Damage the index entry of one object only: every other object still reads."""
    for idx in (mirror / "objects" / "pack").glob("*.idx"):
        data = bytearray(idx.read_bytes())
        count = int.from_bytes(data[8 + 255 * 4 : 8 + 256 * 4], "big")
        names = 8 + 256 * 4
        found = [i for i in range(count) if data[names + i * 20 : names + i * 20 + 20].hex() == sha]
        if found:
            at = names + count * 24 + found[0] * 4
            data[at : at + 4] = b"\xff" * 4
            idx.chmod(0o600)
            idx.write_bytes(bytes(data))
            return True
    return False
