"""BoundedLRU drops the least recently used entry; object versions read one way."""

from __future__ import annotations

from gitward._util.lru import BoundedLRU
from gitward._util.versions import resource_version, state_key


def test_the_least_recently_used_entry_goes_first() -> None:
    memo: BoundedLRU[str, bool] = BoundedLRU(2)
    memo.put("a", True)
    memo.put("b", False)
    assert memo.get("a") is True  # a is now the most recent
    memo.put("c", True)
    assert memo.get("b") is None
    assert memo.get("a") is True
    assert memo.get("c") is True
    assert len(memo) == 2


def test_versions_of_stored_and_unstored_objects() -> None:
    stored = {"metadata": {"uid": "u1", "resourceVersion": "42"}}
    assert resource_version(stored) == 42
    assert state_key(stored) == ("u1", "42")
    assert resource_version({"metadata": {"resourceVersion": "opaque"}}) == -1
    assert resource_version(None) == -1
    assert state_key({"metadata": {"name": "rendered"}}) is None
