"""Memos of object versions hold one entry per object, not one per version ever seen.

Each test fails against the memos keyed by (uid, resourceVersion) that filled to their
bound in a long-running controller (every status write, every push made a new key).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gitward._util.lru import LatestVersions
from gitward.appstate import comparison
from gitward.appstate.refresh import ParsedApps


def _app(uid: str, version: int, name: str = "web") -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": "argocd",
            "uid": uid,
            "resourceVersion": str(version),
        },
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example/apps.git", "path": "web"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
        },
        "status": {"history": [{"id": i, "revision": f"{i:040x}"} for i in range(10)]},
    }


def test_a_newer_version_replaces_the_older_one() -> None:
    memo: LatestVersions[str, str] = LatestVersions(10)
    memo.put("u1", "1", "first")
    assert memo.get("u1", "1") == "first"
    memo.put("u1", "2", "second")
    assert memo.get("u1", "1") is None
    assert memo.get("u1", "2") == "second"
    assert len(memo) == 1


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 10_000)), max_size=300))
def test_entries_never_exceed_the_objects_seen_or_the_size(puts: list[tuple[int, int]]) -> None:
    memo: LatestVersions[int, int] = LatestVersions(8)
    for obj, version in puts:
        memo.put(obj, str(version), version)
        assert memo.get(obj, str(version)) == version
    assert len(memo) <= min(8, len({obj for obj, _ in puts}))


def test_parsed_apps_keep_one_application_per_uid() -> None:
    parsed = ParsedApps(size=5_000)
    for version in range(1, 2_001):  # 2,000 status writes of one app
        parsed.parse(_app("u1", version))
    parsed.parse(_app("u2", 1, name="api"))
    assert len(parsed) == 2
    newest = _app("u1", 2_000)
    first = parsed.parse(newest)
    assert parsed.parse(newest) is first  # still a hit
    # The same version as another dict (a write's answer, then the watch's copy): not
    # parsed again, but the entry now holds the dict last given, so the other is freed.
    watched = _app("u1", 2_000)
    hit = parsed.parse(watched)
    assert hit == first
    assert hit.raw is watched
    assert parsed.parse(watched) is hit
    assert parsed.parse(_app("u1", 2_001)).raw["metadata"]["resourceVersion"] == "2001"


def test_compare_outcomes_keep_one_verdict_per_live_object() -> None:
    memo = comparison.CompareMemo(outcomes=50_000)
    desired = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "state"}}
    for version in range(1, 1_001):  # 1,000 pushes changed one live ConfigMap
        live = {
            **desired,
            "metadata": {"name": "state", "uid": "cm1", "resourceVersion": str(version)},
        }
        desired = {**desired, "data": {"push": str(version)}}
        key = comparison._outcome_key("https://kubernetes.default.svc", desired, live, [])
        assert key is not None
        assert memo.outcomes.get(*key) is None
        memo.outcomes.put(*key, True)
        assert memo.outcomes.get(*key) is True  # the sync right after asks the same
    assert len(memo.outcomes) == 1
