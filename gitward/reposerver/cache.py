"""The manifest cache: rendered objects by everything that determines them, LRU-bounded.

Entries are stored pickled. A hit unpickles a fresh copy, so callers may
mutate what they get (the sync adds tracking labels) without corrupting the
cache, and unpickling is several times cheaper than ``copy.deepcopy``. The
pickled size also gives an honest byte count for the second bound.
"""

from __future__ import annotations

import pickle
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class CacheKey:
    """Everything a render's output depends on.

    The resolved commit (never the branch name), the source's options, the tool
    versions, and the build environment the render sees (``ARGOCD_APP_*``):
    two Applications pointing at one path with different names or destination
    namespaces may render differently (Helm's release name and namespace).
    """

    repo: str
    sha: str
    path: str
    options: str
    tools: str
    app_name: str
    namespace: str
    target_revision: str
    repo_url: str
    kube_version: str
    api_versions: tuple[str, ...]


@dataclass(frozen=True)
class CachedRender:
    objects: list[Obj]
    source_type: str


class ManifestCache:
    """An in-memory LRU of renders, bounded by entry count and by pickled bytes."""

    def __init__(self, max_entries: int = 256, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[CacheKey, tuple[bytes, str]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: CacheKey) -> CachedRender | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        data, source_type = entry
        objects: list[Obj] = pickle.loads(data)  # noqa: S301 - bytes we pickled ourselves
        return CachedRender(objects, source_type)

    def put(self, key: CacheKey, objects: list[Obj], source_type: str) -> None:
        data = pickle.dumps(objects, protocol=pickle.HIGHEST_PROTOCOL)
        if len(data) > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old[0])
        self._entries[key] = (data, source_type)
        self._bytes += len(data)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, (evicted, _) = self._entries.popitem(last=False)
            self._bytes -= len(evicted)

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0
