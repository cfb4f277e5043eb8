"""An asyncio client that moves Kubernetes objects as plain dicts.

Connection settings come from :mod:`gitward.cluster.kubeconfig` (kubeconfig,
in-cluster, or a cluster Secret); requests go straight through one ``aiohttp``
session so list, watch and apply never build per-object model classes: plain
dicts on hot paths.

Server-side apply is the write path: ``apply`` sends the whole intended object
as an ``application/apply-patch+yaml`` PATCH under a field manager (``gitward``
by default), optionally as ``dryRun=All`` so the server's own defaulting and
merge decide what the result would be.
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from gitward._util import deepjson
from gitward.cluster.discovery import Discovery, ResourceInfo
from gitward.cluster.errors import ClusterError, ClusterUnreachable, api_error
from gitward.cluster.kubeconfig import Credentials, load

FIELD_MANAGER = "gitward"
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"

Obj = dict[str, Any]


def _decode(raw: bytes) -> Obj | str:
    """A response body as JSON, or as text when it is not JSON (a proxy's error page)."""
    text = raw.decode(errors="replace")
    try:
        decoded: Obj | str = deepjson.loads(text) if text else {}
    except ValueError:  # not JSON (or an integer of more digits than int() takes)
        return text
    return decoded


#: How often a request the server throttled (429 / 5xx with Retry-After) is sent again.
THROTTLE_RETRIES = 5
MAX_RETRY_AFTER = 10.0


def _throttled(status: int, retry_after: str | None) -> float | None:
    """Seconds to wait before sending again, or None when the answer stands."""
    if status != 429 and not (status >= 500 and retry_after):
        return None
    try:
        seconds = float(retry_after or 1)
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.1), MAX_RETRY_AFTER)


def resource_of_path(path: str) -> str:
    """The resource a request path names (``configmaps``, ``applications/status``).

    A label for request counters: it has the API server's resource names only, never an
    object's name or namespace, so its values stay few. Discovery reads are ``discovery``.
    """
    parts = path.split("?", 1)[0].strip("/").split("/")
    rest = parts[2:] if parts[0] == "api" else parts[3:] if parts[0] == "apis" else []
    if not rest:
        return "discovery"
    if rest[0] == "namespaces" and len(rest) >= 3:
        rest = rest[2:]
    return rest[0] + "/" + rest[2] if len(rest) >= 3 else rest[0]


def describe(obj: Obj) -> str:
    """``Kind namespace/name`` of an object, for messages."""
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    name = meta.get("name", "?")
    return f"{obj.get('kind', '?')} {ns + '/' if ns else ''}{name}"


class KubeClient:
    """One connection pool to one API server."""

    def __init__(self, credentials: Credentials, timeout: float = 30.0) -> None:
        self.credentials = credentials
        self.server = credentials.server.rstrip("/")
        self._ssl = credentials.ssl_context()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self.discovery = Discovery(self.get_path)
        #: Requests sent, by method (``GET``, ``PATCH``, ...; server-side applies count as
        #: ``APPLY``, not ``PATCH``): for metrics and benchmarks.
        self.requests: Counter[str] = Counter()
        #: Answers, by (verb as in ``requests``, resource as in :func:`resource_of_path`,
        #: HTTP status; 0 when no answer came).
        self.responses: Counter[tuple[str, str, int]] = Counter()
        #: ``Impersonate-User`` sent with every request (see :meth:`impersonating`).
        self.impersonate = ""
        self._parent: KubeClient | None = None

    def impersonating(self, user: str) -> KubeClient:
        """A view of this client that acts as ``user`` (``Impersonate-User``).

        It shares the connection pool, discovery and request counters; closing it
        closes nothing. The API server checks that this client may impersonate, then
        authorises every request as ``user``: its RBAC is the last word.
        """
        view = copy.copy(self)
        view.impersonate = user
        view._parent = self._parent or self
        return view

    @classmethod
    async def from_kubeconfig(
        cls, path: str | None = None, context: str | None = None, request_timeout: float = 30.0
    ) -> KubeClient:
        """A client for ``context`` of the kubeconfig at ``path`` (default ``$KUBECONFIG``)."""
        return cls(load(path, context), timeout=request_timeout)

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._parent is not None:
            return  # an impersonating view: the pool is its parent's
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._parent is not None:
            return self._parent._session_for_loop()
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl, limit=64),
                timeout=self._timeout,
            )
        return self._session

    async def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        authorization = await self.credentials.authorization()
        if authorization:
            headers["Authorization"] = authorization
        if self.impersonate:
            headers["Impersonate-User"] = self.impersonate
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        what: str | None = None,
    ) -> Obj:
        """Send one request; return the decoded JSON body or raise an ``ApiError``."""
        headers = await self._headers()
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            try:
                data = json.dumps(body, separators=(",", ":"))
            except RecursionError:
                raise ClusterError(
                    f"{what or f'{method} {path}'}: the body is nested too deeply to encode"
                ) from None
        session = self._session_for_loop()
        verb = "APPLY" if content_type == APPLY_CONTENT_TYPE else method
        resource = resource_of_path(path)
        for attempt in range(THROTTLE_RETRIES + 1):
            self.requests[verb] += 1
            try:
                async with session.request(
                    method,
                    self.server + path,
                    params=params,
                    data=data,
                    headers=headers,
                    server_hostname=self.credentials.tls_server_name,
                ) as resp:
                    raw = await resp.read()
                    status = resp.status
                    retry_after = resp.headers.get("Retry-After")
            except (TimeoutError, aiohttp.ClientConnectionError) as exc:
                self.responses[(verb, resource, 0)] += 1
                raise ClusterUnreachable(
                    f"cannot reach the API server at {self.server}: {exc or type(exc).__name__}"
                ) from exc
            self.responses[(verb, resource, status)] += 1
            wait = _throttled(status, retry_after)
            if wait is None or attempt == THROTTLE_RETRIES:
                break
            # As client-go: the server asked to be called again later (429, or a 5xx with
            # Retry-After while its storage initialises); the request was not carried out.
            await asyncio.sleep(wait)
        decoded = _decode(raw)
        if status >= 400:
            raise api_error(status, decoded, what or f"{method} {path}")
        return decoded if isinstance(decoded, dict) else {"raw": decoded}

    async def get_path(self, path: str) -> Obj:
        return await self.request("GET", path)

    async def resource_of(self, obj: Obj) -> ResourceInfo:
        return await self.discovery.resource(obj["apiVersion"], obj["kind"])

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Obj:
        info = await self.discovery.resource(api_version, kind)
        return await self.request(
            "GET", info.item(name, namespace), what=f"get {kind} {namespace or ''}/{name}"
        )

    async def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        info = await self.discovery.resource(api_version, kind)
        params = {}
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        body = await self.request("GET", info.collection(namespace), params=params or None)
        items: list[Obj] = body.get("items", [])
        return items

    async def list_with_version(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> tuple[builtins.list[Obj], str]:
        """Items and the list's resourceVersion, the point a watch resumes from."""
        info = await self.discovery.resource(api_version, kind)
        params = {"labelSelector": label_selector} if label_selector else None
        body = await self.request("GET", info.collection(namespace), params=params)
        items: builtins.list[Obj] = body.get("items", [])
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items, str((body.get("metadata") or {}).get("resourceVersion", ""))

    async def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        resource_version: str,
        timeout_seconds: int = 300,
        label_selector: str | None = None,
    ) -> AsyncIterator[Obj]:
        """Watch events (``{"type": ..., "object": ...}``) after ``resource_version``.

        Ends when the server closes the stream (after ``timeout_seconds``); the
        caller resumes from the last object's resourceVersion, and relists on an
        ``ERROR`` event with code 410 (Gone).
        """
        info = await self.discovery.resource(api_version, kind)
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        if label_selector:
            params["labelSelector"] = label_selector
        session = self._session_for_loop()
        self.requests["WATCH"] += 1
        timeout = aiohttp.ClientTimeout(total=None, sock_read=timeout_seconds + 30)
        try:
            async with session.get(
                self.server + info.collection(namespace),
                params=params,
                headers=await self._headers(),
                timeout=timeout,
                server_hostname=self.credentials.tls_server_name,
            ) as resp:
                self.responses[("WATCH", info.plural, resp.status)] += 1
                if resp.status >= 400:
                    raise api_error(resp.status, _decode(await resp.read()), f"watch {kind}")
                async for line in resp.content:
                    if line.strip():
                        yield deepjson.loads(line.decode(errors="replace"))
        except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise ClusterUnreachable(f"watch of {kind} at {self.server} broke: {exc}") from exc

    async def create(self, obj: Obj, *, field_validation: str | None = None) -> Obj:
        info = await self.resource_of(obj)
        ns = obj.get("metadata", {}).get("namespace")
        params = {"fieldValidation": field_validation} if field_validation else None
        return await self.request(
            "POST", info.collection(ns), params=params, body=obj, what=f"create {describe(obj)}"
        )

    async def apply(
        self,
        obj: Obj,
        *,
        field_manager: str = FIELD_MANAGER,
        force: bool = False,
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> Obj:
        """Server-side apply ``obj``; with ``dry_run`` the server changes nothing.

        ``field_validation`` (Strict, Warn, Ignore) decides what the server does
        with fields its schema does not know.
        """
        info = await self.resource_of(obj)
        meta = obj.get("metadata", {})
        params = {"fieldManager": field_manager}
        if field_validation:
            params["fieldValidation"] = field_validation
        if force:
            params["force"] = "true"
        if dry_run:
            params["dryRun"] = "All"
        return await self.request(
            "PATCH",
            info.item(meta["name"], meta.get("namespace")),
            params=params,
            body=obj,
            content_type=APPLY_CONTENT_TYPE,
            what=f"apply {describe(obj)}",
        )

    async def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        patch: Obj,
        *,
        patch_type: str = "merge",
        subresource: str = "",
    ) -> Obj:
        """A JSON merge patch (or ``patch_type="json"``, a JSON patch list under ``ops``)."""
        info = await self.discovery.resource(api_version, kind)
        content_type = {
            "merge": "application/merge-patch+json",
            "json": "application/json-patch+json",
            "strategic": "application/strategic-merge-patch+json",
        }[patch_type]
        path = info.item(name, namespace) + (f"/{subresource}" if subresource else "")
        body: Any = patch["ops"] if patch_type == "json" else patch
        return await self.request(
            "PATCH",
            path,
            body=body,
            content_type=content_type,
            what=f"patch {kind} {namespace or ''}/{name}",
        )

    async def replace(self, obj: Obj, *, subresource: str = "") -> Obj:
        """PUT ``obj`` (it must carry the resourceVersion it was read at)."""
        info = await self.resource_of(obj)
        meta = obj.get("metadata", {})
        path = info.item(meta["name"], meta.get("namespace")) + (
            f"/{subresource}" if subresource else ""
        )
        return await self.request("PUT", path, body=obj, what=f"update {describe(obj)}")

    async def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        propagation: str = "Foreground",
    ) -> Obj:
        info = await self.discovery.resource(api_version, kind)
        return await self.request(
            "DELETE",
            info.item(name, namespace),
            body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation},
            what=f"delete {kind} {namespace or ''}/{name}",
        )
