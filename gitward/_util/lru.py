"""A bounded least-recently-used map, for memos keyed by immutable object states.

Memos of work done per object version (a parsed Application, a comparison's
outcome, a source's detected type) must not grow without end in a process
that runs for months; dropping the least recently used entry keeps the hot
ones.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedLRU(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


class LatestVersions(Generic[K, V]):
    """A memo of one value per object, for the object's newest version only.

    Memos keyed by (identity, version) grow with every *version* ever seen: an
    Application's resourceVersion changes at every status write, a live ConfigMap's
    at every push, so such a memo filled up to its bound and stayed there, holding
    thousands of superseded objects. Keyed by identity, with the version stored
    beside the value, a newer version replaces the older one: the memo holds at
    most one entry per object that exists (and ``size`` overall, least recently
    used dropped first), while every repeated question about the current version
    still hits.
    """

    def __init__(self, size: int) -> None:
        self._entries: BoundedLRU[K, tuple[str, V]] = BoundedLRU(size)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        return self._entries.size

    def get(self, key: K, version: str) -> V | None:
        found = self._entries.get(key)
        if found is None or found[0] != version:
            return None
        return found[1]

    def put(self, key: K, version: str, value: V) -> None:
        self._entries.put(key, (version, value))
