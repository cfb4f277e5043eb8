"""A small OCI distribution API client: tags, digests, creation times — with token auth.

What image automation asks a registry, and nothing more: ``GET /v2/<repo>/tags/list``
(following ``Link`` pagination), ``HEAD``/``GET /v2/<repo>/manifests/<ref>`` for a digest
(multi-platform indexes resolved to their own digest, as ``crane digest`` does), and the
config blob's ``created`` time for the newest-build strategy.

Authentication follows the registry's challenge: a 401 with ``WWW-Authenticate: Bearer
realm=...,service=...,scope=...`` is answered by fetching a token from the realm with the
basic credentials (if any) and retrying; ``Basic`` challenges get the credentials directly.
The realm comes from the registry, so it is checked before any credential is sent to it:
https only (http for a registry configured insecure), and never a private or link-local IP
literal unless it is the registry's own host — a hostile registry must not make gitward
send its credentials to the cloud metadata service. Tokens are cached until they expire.

Every registry gets a concurrency limit and a minimum interval between requests; a 429 or
503 is retried after its ``Retry-After`` (or an exponential backoff), at most a few times.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import re2

from gitward._util.hashing import digest_of
from gitward._util.redact import redact
from gitward.model.errors import SourceError

MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
MAX_TAGS = 100_000
MAX_BODY = 8 * 1024 * 1024
_CHALLENGE_PARAM = re2.compile(r'([A-Za-z]+)="([^"]*)"')
_LINK = re2.compile(r"<([^>]+)>\s*;\s*rel=\"?next\"?")


class RegistryError(SourceError):
    """A registry did not answer as the OCI distribution API says it should."""


class RegistryAuthError(RegistryError):
    """The registry (or its token service) refused the credentials, or there are none."""


class ImageNotFound(RegistryError):
    """The repository or the tag does not exist."""


@dataclass(frozen=True)
class RegistryCredentials:
    username: str = ""
    password: str = ""

    def basic(self) -> str:
        return base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


@dataclass
class _Limiter:
    concurrency: int
    interval: float
    _sem: asyncio.Semaphore = field(init=False)
    _next: float = 0.0

    def __post_init__(self) -> None:
        self._sem = asyncio.Semaphore(self.concurrency)

    async def __aenter__(self) -> None:
        await self._sem.acquire()
        now = time.monotonic()
        wait = self._next - now
        self._next = max(now, self._next) + self.interval
        if wait > 0:
            await asyncio.sleep(wait)

    async def __aexit__(self, *exc: object) -> None:
        self._sem.release()


def _private_literal(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_unspecified


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="...",service="..."`` → ``("bearer", {"realm": ..., ...})``."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), {k.lower(): v for k, v in _CHALLENGE_PARAM.findall(rest[:4096])}


class RegistryClient:
    """Talks to registries on behalf of one process; tokens and limits are per registry."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        insecure: frozenset[str] = frozenset(),
        concurrency: int = 4,
        interval: float = 0.05,
        retries: int = 4,
        timeout: float = 30.0,
    ) -> None:
        self.session = session
        self.insecure = insecure  # registry hosts reached over plain http
        self.concurrency = concurrency
        self.interval = interval
        self.retries = retries
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._tokens: dict[tuple[str, str, str], tuple[float, str]] = {}
        self._limits: dict[str, _Limiter] = {}
        self.requests = 0

    def _base(self, registry: str) -> str:
        scheme = "http" if registry in self.insecure else "https"
        return f"{scheme}://{registry}"

    def _check_realm(self, realm: str, registry: str) -> None:
        parts = urlsplit(realm)
        if parts.scheme not in ("https", "http") or (
            parts.scheme == "http" and registry not in self.insecure
        ):
            raise RegistryAuthError(f"{registry}: token realm {realm!r} must be https")
        if parts.netloc != registry and _private_literal(parts.hostname or ""):
            raise RegistryAuthError(
                f"{registry}: token realm {realm!r} is a private or link-local address; "
                "credentials are not sent there"
            )

    async def _token(
        self, registry: str, params: dict[str, str], creds: RegistryCredentials | None
    ) -> str:
        realm = params.get("realm", "")
        self._check_realm(realm, registry)
        # keyed by the whole credential: another password must not reuse this one's token
        key = (registry, params.get("scope", ""), digest_of([creds.basic()]) if creds else "")
        cached = self._tokens.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        query = {k: v for k, v in params.items() if k in ("service", "scope")}
        headers = {"Authorization": f"Basic {creds.basic()}"} if creds else {}
        async with self.session.get(
            realm, params=query, headers=headers, timeout=self.timeout, allow_redirects=False
        ) as resp:
            self.requests += 1
            if resp.status in (401, 403):
                raise RegistryAuthError(f"{registry}: the token service refused the credentials")
            if resp.status != 200:
                raise RegistryError(f"{registry}: token service answered {resp.status}")
            body = await self._json(resp, registry)
        token = body.get("token") or body.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{registry}: the token service sent no token")
        expires = body.get("expires_in")
        ttl = float(expires) if isinstance(expires, int | float) and expires > 0 else 60.0
        self._tokens[key] = (time.monotonic() + max(ttl - 10.0, 5.0), token)
        return token

    async def _json(self, resp: aiohttp.ClientResponse, registry: str) -> dict[str, Any]:
        raw = await resp.content.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            raise RegistryError(f"{registry}: answer larger than {MAX_BODY} bytes")
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise RegistryError(f"{registry}: answer is not JSON") from None
        if not isinstance(data, dict):
            raise RegistryError(f"{registry}: answer is not a JSON object")
        return data

    async def _request(
        self,
        method: str,
        registry: str,
        url: str,
        creds: RegistryCredentials | None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, Mapping[str, str], bytes]:
        limiter = self._limits.setdefault(registry, _Limiter(self.concurrency, self.interval))
        auth: dict[str, str] = {}
        challenged = False
        for attempt in range(self.retries + 1):
            async with limiter:
                try:
                    async with self.session.request(
                        method,
                        url,
                        headers={**(headers or {}), **auth},
                        timeout=self.timeout,
                        allow_redirects=True,
                    ) as resp:
                        self.requests += 1
                        body = await resp.content.read(MAX_BODY + 1)
                        status, got = resp.status, resp.headers
                except (aiohttp.ClientError, TimeoutError) as exc:
                    if attempt == self.retries:
                        raise RegistryError(
                            f"{registry}: {redact(str(exc)) or type(exc).__name__}"
                        ) from None
                    await asyncio.sleep(min(2.0**attempt * 0.2, 10.0))
                    continue
            if status == 401 and not challenged:
                challenged = True
                scheme, params = parse_challenge(got.get("WWW-Authenticate", ""))
                if scheme == "bearer":
                    auth = {"Authorization": f"Bearer {await self._token(registry, params, creds)}"}
                elif scheme == "basic" and creds is not None:
                    auth = {"Authorization": f"Basic {creds.basic()}"}
                else:
                    raise RegistryAuthError(f"{registry}: authentication required")
                continue
            if status in (429, 502, 503, 504) and attempt < self.retries:
                retry_after = got.get("Retry-After", "")
                delay = float(retry_after) if retry_after.isdigit() else 2.0**attempt * 0.5
                await asyncio.sleep(min(delay, 30.0))
                continue
            if len(body) > MAX_BODY:
                raise RegistryError(f"{registry}: answer larger than {MAX_BODY} bytes")
            return status, got, body
        raise RegistryError(f"{registry}: still answering {status} after {self.retries} retries")

    def _fail(self, status: int, registry: str, what: str) -> RegistryError:
        if status in (401, 403):
            return RegistryAuthError(f"{registry}: access to {what} denied")
        if status == 404:
            return ImageNotFound(f"{registry}: {what} not found")
        return RegistryError(f"{registry}: {what}: HTTP {status}")

    async def tags(
        self,
        registry: str,
        repository: str,
        creds: RegistryCredentials | None = None,
        page_size: int = 1000,
    ) -> list[str]:
        """Every tag of ``registry/repository``, following pagination."""
        base = self._base(registry)
        url = f"{base}/v2/{repository}/tags/list?n={page_size}"
        found: list[str] = []
        while url:
            status, headers, body = await self._request("GET", registry, url, creds)
            if status != 200:
                raise self._fail(status, registry, f"tags of {repository}")
            try:
                data = json.loads(body)
            except (ValueError, RecursionError):
                raise RegistryError(f"{registry}: tag list of {repository} is not JSON") from None
            tags = data.get("tags") if isinstance(data, dict) else None
            if tags is not None and not (
                isinstance(tags, list) and all(isinstance(t, str) for t in tags)
            ):
                raise RegistryError(f"{registry}: tag list of {repository} is malformed")
            found.extend(tags or [])
            if len(found) > MAX_TAGS:
                raise RegistryError(f"{registry}: {repository} has more than {MAX_TAGS} tags")
            link = _LINK.search(headers.get("Link", ""))
            url = urljoin(base, link.group(1)) if link else ""
            if url and not url.startswith(base + "/"):
                raise RegistryError(f"{registry}: pagination link leaves the registry: {url}")
        return found

    async def digest(
        self,
        registry: str,
        repository: str,
        reference: str,
        creds: RegistryCredentials | None = None,
    ) -> str:
        """The manifest digest ``registry/repository:reference`` names now."""
        url = f"{self._base(registry)}/v2/{repository}/manifests/{reference}"
        status, headers, _ = await self._request(
            "HEAD", registry, url, creds, {"Accept": MANIFEST_TYPES}
        )
        if status != 200:
            raise self._fail(status, registry, f"{repository}:{reference}")
        digest = headers.get("Docker-Content-Digest", "")
        if not digest.startswith("sha256:"):
            raise RegistryError(f"{registry}: no digest for {repository}:{reference}")
        return digest

    async def created(
        self,
        registry: str,
        repository: str,
        reference: str,
        creds: RegistryCredentials | None = None,
    ) -> str:
        """The image's ``created`` time (RFC 3339) from its config (newest-build strategy)."""
        base = self._base(registry)
        status, _, body = await self._request(
            "GET", registry, f"{base}/v2/{repository}/manifests/{reference}", creds,
            {"Accept": MANIFEST_TYPES},
        )  # fmt: skip
        if status != 200:
            raise self._fail(status, registry, f"{repository}:{reference}")
        manifest = _object(body, registry)
        if isinstance(manifest.get("manifests"), list) and manifest["manifests"]:
            first = manifest["manifests"][0]
            digest = first.get("digest") if isinstance(first, dict) else None
            if not isinstance(digest, str):
                raise RegistryError(f"{registry}: malformed index for {repository}:{reference}")
            return await self.created(registry, repository, digest, creds)
        config = manifest.get("config")
        digest = config.get("digest") if isinstance(config, dict) else None
        if not isinstance(digest, str):
            raise RegistryError(f"{registry}: {repository}:{reference} has no config")
        status, _, blob = await self._request(
            "GET", registry, f"{base}/v2/{repository}/blobs/{digest}", creds
        )
        if status != 200:
            raise self._fail(status, registry, f"config of {repository}:{reference}")
        created = _object(blob, registry).get("created")
        return created if isinstance(created, str) else ""


def _object(body: bytes, registry: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise RegistryError(f"{registry}: answer is not JSON") from None
    if not isinstance(data, dict):
        raise RegistryError(f"{registry}: answer is not a JSON object")
    return data


def split_image(name: str) -> tuple[str, str]:
    """``ghcr.io/org/app`` → ``("ghcr.io", "org/app")``; Docker Hub names get ``library/``."""
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, rest
    else:
        registry, repository = "registry-1.docker.io", name
    if registry in ("docker.io", "index.docker.io"):
        registry = "registry-1.docker.io"
    if registry == "registry-1.docker.io" and "/" not in repository:
        repository = f"library/{repository}"
    return registry, repository
