"""A fault-injecting proxy in front of the API server, and the audit of writes through it.

The controllers under test reach the API server only through this proxy (their kubeconfig
names it), so the harness can make the API slow (latency per request), throttle it (429 with
``Retry-After``), cut every watch stream at once, and — because it sees every write — keep an
audit of what the controllers changed: which object, with which content, answered with which
``resourceVersion``. That audit is how "applied twice" and "pruned wrongly" are counted:
from what the API server answered, not from what gitward says it did.

The proxy terminates TLS with the cluster's own serving certificate (valid for 127.0.0.1)
and talks to the API server as cluster admin with the cluster's admin certificate; it listens
on loopback only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import random
import re
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from gitward.localkube import LocalCluster
from gitward.localkube.pki import Pki

#: Headers that describe one hop, not the payload: never copied through.
_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "upgrade",
    "host",
}
_CONFIGMAP = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/configmaps(?:/(?P<name>[^/?]+))?$")
_GONE = (b'"code":410', b'"reason":"Expired"')


@dataclass(frozen=True)
class Write:
    """One write to a ConfigMap of the fleet, as the API server answered it."""

    at: float
    method: str
    namespace: str
    name: str
    status: int
    resource_version: str
    data_digest: str


@dataclass
class Faults:
    """What the proxy does to requests right now (changed by the harness at any time)."""

    latency: float = 0.0
    throttle: float = 0.0  # share of requests answered 429
    retry_after: int = 1


@dataclass
class Audit:
    """Counters and the write log the proxy keeps."""

    requests: int = 0
    throttled: int = 0
    upstream_errors: int = 0
    watches_cut: int = 0
    gone_410: int = 0
    writes: list[Write] = field(default_factory=list)


def data_digest(body: Any) -> str:
    """A digest of a ConfigMap body's ``data`` (what the fleet's commits change)."""
    data = body.get("data") if isinstance(body, dict) else None
    raw = json.dumps(data or {}, sort_keys=True).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


class ApiProxy:
    """An HTTPS reverse proxy to one local cluster's API server, with faults on demand."""

    def __init__(self, cluster: LocalCluster, namespaces_prefix: str) -> None:
        self.cluster = cluster
        self.prefix = namespaces_prefix
        self.faults = Faults()
        self.audit = Audit()
        self.port = 0
        self._pki = Pki(cluster.layout.pki_dir)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._watches: set[web.StreamResponse] = set()
        self._graceful = False
        self._rng = random.Random(19)  # noqa: S311 -- which requests fail, not a secret

    async def start(self) -> None:
        upstream_tls = ssl.create_default_context(cafile=str(self._pki.ca_cert))
        upstream_tls.load_cert_chain(str(self._pki.admin_cert), str(self._pki.admin_key))
        connector = aiohttp.TCPConnector(ssl=upstream_tls, limit=0)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5)
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        serving = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        serving.load_cert_chain(str(self._pki.serving_cert), str(self._pki.serving_key))
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=serving)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        await self.cut_watches()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def kubeconfig(self, path: Path) -> Path:
        """A kubeconfig that reaches the API server through this proxy."""

        def b64(p: Path) -> str:
            return base64.b64encode(p.read_bytes()).decode()

        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "chaos",
                    "cluster": {
                        "server": f"https://127.0.0.1:{self.port}",
                        "certificate-authority-data": b64(self._pki.ca_cert),
                    },
                }
            ],
            "users": [
                {
                    "name": "chaos",
                    "user": {
                        "client-certificate-data": b64(self._pki.admin_cert),
                        "client-key-data": b64(self._pki.admin_key),
                    },
                }
            ],
            "contexts": [{"name": "chaos", "context": {"cluster": "chaos", "user": "chaos"}}],
            "current-context": "chaos",
        }
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)
        return path

    async def cut_watches(self, graceful: bool = False) -> int:
        """Close every open watch stream at once: torn mid-stream (a network blip), or with
        ``graceful`` ended cleanly, as the API server ends a watch at its timeout or a load
        balancer at its idle limit, after which a client resumes from its resourceVersion."""
        self._graceful = graceful
        cut = len(self._watches)
        self.audit.watches_cut += cut
        for resp in list(self._watches):
            task = getattr(resp, "_chaos_task", None)
            if isinstance(task, asyncio.Task):
                task.cancel()
        return cut

    # -- one request -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.audit.requests += 1
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        if self.faults.throttle and self._rng.random() < self.faults.throttle:
            self.audit.throttled += 1
            body = {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "TooManyRequests",
                "code": 429,
                "message": "too many requests (chaos)",
            }
            return web.json_response(
                body, status=429, headers={"Retry-After": str(self.faults.retry_after)}
            )
        watch = request.query.get("watch") in ("1", "true")
        payload = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        headers.pop("Accept-Encoding", None)
        url = f"https://127.0.0.1:{self._upstream_port()}{request.rel_url}"
        assert self._session is not None
        try:
            upstream = await self._session.request(
                request.method, url, data=payload or None, headers=headers
            )
        except (aiohttp.ClientError, OSError):
            self.audit.upstream_errors += 1
            return web.json_response(
                {"kind": "Status", "code": 503, "message": "API server unreachable (chaos)"},
                status=503,
            )
        try:
            if watch:
                return await self._stream(request, upstream)
            raw = await upstream.read()
            self._record(request, payload, upstream.status, raw)
            out = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP}
            return web.Response(status=upstream.status, body=raw, headers=out)
        except (aiohttp.ClientError, OSError):
            self.audit.upstream_errors += 1
            return web.json_response(
                {"kind": "Status", "code": 503, "message": "API server went away (chaos)"},
                status=503,
            )
        finally:
            upstream.release()

    def _upstream_port(self) -> int:
        return int(self.cluster.server().rsplit(":", 1)[1])

    async def _stream(
        self, request: web.Request, upstream: aiohttp.ClientResponse
    ) -> web.StreamResponse:
        out = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP}
        resp = web.StreamResponse(status=upstream.status, headers=out)
        await resp.prepare(request)
        self._watches.add(resp)

        async def pump() -> None:
            async for chunk in upstream.content.iter_any():
                if any(marker in chunk for marker in _GONE):
                    self.audit.gone_410 += 1
                await resp.write(chunk)

        task = asyncio.ensure_future(pump())
        resp._chaos_task = task  # type: ignore[attr-defined]
        try:
            await task
        except (asyncio.CancelledError, aiohttp.ClientError, ConnectionError):
            if self._graceful:
                with contextlib.suppress(ConnectionError, aiohttp.ClientError):
                    await resp.write_eof()
            elif request.transport is not None:
                # Torn: the stream ends without its terminating chunk.
                request.transport.abort()
        finally:
            self._watches.discard(resp)
        return resp

    def _record(self, request: web.Request, payload: bytes, status: int, raw: bytes) -> None:
        if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
            return
        if request.query.get("dryRun"):
            return  # the API server answered what it would do, and changed nothing
        match = _CONFIGMAP.match(request.path)
        if not match or not match["ns"].startswith(self.prefix):
            return
        try:
            sent = json.loads(payload) if payload else {}
            answer = json.loads(raw) if raw else {}
        except ValueError:
            sent, answer = {}, {}
        meta = answer.get("metadata") if isinstance(answer, dict) else None
        name = match["name"] or str(((sent.get("metadata") or {}) if sent else {}).get("name"))
        self.audit.writes.append(
            Write(
                at=time.monotonic(),
                method=request.method,
                namespace=match["ns"],
                name=name,
                status=status,
                resource_version=str((meta or {}).get("resourceVersion", "")),
                data_digest=data_digest(sent),
            )
        )


def effective_writes(writes: list[Write]) -> dict[tuple[str, str], list[Write]]:
    """Successful writes that changed an object (a new resourceVersion), per object."""
    per: dict[tuple[str, str], list[Write]] = {}
    seen: dict[tuple[str, str], str] = {}
    for w in writes:
        if w.method == "DELETE" or not 200 <= w.status < 300 or not w.resource_version:
            continue
        key = (w.namespace, w.name)
        if seen.get(key) == w.resource_version:
            continue  # a no-op apply: the API server kept the object as it was
        seen[key] = w.resource_version
        per.setdefault(key, []).append(w)
    return per


def applied_twice(writes: list[Write]) -> list[tuple[str, str]]:
    """Objects changed twice in a row with the same content: a redundant, effective write."""
    found = []
    for key, changes in effective_writes(writes).items():
        for before, after in itertools.pairwise(changes):
            if before.data_digest == after.data_digest:
                found.append(key)
                break
    return found


def deletions(writes: list[Write]) -> list[Write]:
    """Successful deletions of fleet objects (the fleet's Git never removes one)."""
    return [w for w in writes if w.method == "DELETE" and 200 <= w.status < 300]
