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
from tests.support.git import GitDaemon, GitRepo


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
