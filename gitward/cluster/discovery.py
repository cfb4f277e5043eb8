"""Map an object's apiVersion and kind to its REST path, from the server's discovery.

Discovery documents are fetched once per group-version and cached; a kind the
cache does not know triggers one refresh (a CRD may have just been installed)
before :class:`UnknownKind` is raised.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gitward.cluster.errors import InvalidName, NotFound, UnknownKind

#: Characters that would end or re-shape a path segment of a URL.
_UNSAFE = frozenset("/%?#\\")


def segment(value: str, what: str) -> str:
    """``value`` as one URL path segment, or :class:`InvalidName`.

    Kubernetes names and namespaces never hold these characters and are never ``.``
    or ``..``, so refusing them loses nothing valid; quoting them instead would send
    the API server a name it must refuse anyway.
    """
    if value in ("", ".", "..") or any(c in _UNSAFE or ord(c) < 0x21 for c in value):
        raise InvalidName(f"{what} {value[:100]!r} is not a valid object name")
    return value


@dataclass(frozen=True)
class ResourceInfo:
    """Where the objects of one kind live in the API."""

    group_version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: frozenset[str]

    @property
    def base(self) -> str:
        """``/api/v1`` for the core group, ``/apis/<group>/<version>`` otherwise."""
        if "/" in self.group_version:
            return f"/apis/{self.group_version}"
        return f"/api/{self.group_version}"

    def collection(self, namespace: str | None) -> str:
        if self.namespaced and namespace:
            return f"{self.base}/namespaces/{segment(namespace, 'namespace')}/{self.plural}"
        return f"{self.base}/{self.plural}"

    def item(self, name: str, namespace: str | None) -> str:
        return f"{self.collection(namespace)}/{segment(name, self.kind + ' name')}"


Fetch = Callable[[str], Awaitable[dict[str, Any]]]


class Discovery:
    """A cache of group-version resource lists, filled lazily."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._by_gv: dict[str, dict[str, ResourceInfo]] = {}

    async def _load(self, group_version: str) -> dict[str, ResourceInfo]:
        path = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
        try:
            doc = await self._fetch(path)
        except NotFound:
            doc = {"resources": []}
        kinds: dict[str, ResourceInfo] = {}
        for res in doc.get("resources", []):
            if "/" in res["name"]:  # subresources such as deployments/status
                continue
            kinds[res["kind"]] = ResourceInfo(
                group_version=group_version,
                kind=res["kind"],
                plural=res["name"],
                namespaced=bool(res.get("namespaced")),
                verbs=frozenset(res.get("verbs", [])),
            )
        self._by_gv[group_version] = kinds
        return kinds

    async def resource(self, api_version: str, kind: str) -> ResourceInfo:
        """Resource info for ``kind`` in ``api_version``, refreshing once on a miss."""
        kinds = self._by_gv.get(api_version)
        if kinds is None or kind not in kinds:
            kinds = await self._load(api_version)
        info = kinds.get(kind)
        if info is None:
            raise UnknownKind(f"the cluster serves no kind {kind!r} in {api_version!r}")
        return info

    async def namespaced_kinds(self) -> list[ResourceInfo]:
        """Every namespaced kind the server lists, at each group's preferred version.

        Three or more requests (``/api``, ``/apis``, one per group-version, read afresh
        so a CRD installed since is seen); callers that ask often keep the answer.
        """
        core = await self._fetch("/api")
        versions = [str(v) for v in core.get("versions") or []][:1]
        groups = await self._fetch("/apis")
        for group in groups.get("groups") or []:
            preferred = (group.get("preferredVersion") or {}).get("groupVersion")
            if preferred:
                versions.append(str(preferred))
        found: list[ResourceInfo] = []
        for group_version in versions:
            kinds = await self._load(group_version)
            found.extend(i for i in kinds.values() if i.namespaced and "list" in i.verbs)
        return found

    def invalidate(self) -> None:
        self._by_gv.clear()
