"""OCI registries: Helm charts and manifest artifacts, pulled by gitward with token auth.

``oci://registry/repository`` sources come in two shapes, as in Argo CD:

- a Helm chart (``chart`` set, or a repository Secret with ``enableOCI``):
  the reference is ``<repoURL>/<chart>:<version>``, the version a tag or a
  semver range over the repository's tags (Helm writes ``+`` as ``_`` in
  tags), the chart the manifest's ``application/vnd.cncf.helm.chart.content``
  layer;
- an artifact (no ``chart``): ``targetRevision`` a tag or a ``sha256:`` digest,
  the manifest's single tar(+gzip) layer unpacked into a tree that is rendered
  like a Git checkout (directory, Kustomize or Helm at ``path``).

The registry protocol is the distribution API: ``/v2/<name>/manifests/<ref>``,
``/v2/<name>/blobs/<digest>``, ``/v2/<name>/tags/list`` (paginated by
``Link``). A ``401`` with a ``Bearer`` challenge is answered by asking its
realm for a token (basic credentials from the repository Secret, the scope
``repository:<name>:pull``), a ``Basic`` challenge with the credentials
themselves. Every blob and manifest fetched by digest is checked against it;
archives are kept and unpacked once per digest, safely (see
:func:`gitward.source.helmrepo.unpack_chart`). A token realm must be https
(http only for an http registry) and never a link-local address, and a
redirect to another origin (blob storage) carries no credentials.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ipaddress
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import aiohttp

from gitward.model.errors import SourceError
from gitward.model.repourl import redact_url
from gitward.source.credentials import RepoCredentials
from gitward.source.helmrepo import (
    ChartIntegrityError,
    ChartNotFound,
    cache_base,
    chart_dir,
    store_chart,
    unpack_archive,
)
from gitward.source.http import HTTPFetchError, TLSCerts, check_url, origin, read_limited
from gitward.source.http import ssl_context as make_ssl
from gitward.source.locks import KeyedLocks
from gitward.source.semver import parse_constraint, parse_version

MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
HELM_CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_NAME = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
_LINK = re.compile(r"<([^>]+)>\s*;\s*rel=\"?next\"?")


class OCIError(SourceError):
    """A registry refused, lacked or mangled what was asked for."""


@dataclass(frozen=True)
class OCIRef:
    """A repository in a registry: ``host[:port]`` and a lower-case name."""

    registry: str
    name: str

    @property
    def base(self) -> str:
        return f"https://{self.registry}/v2/{self.name}"

    def child(self, name: str) -> OCIRef:
        return OCIRef(self.registry, f"{self.name}/{name}" if self.name else name)

    def __str__(self) -> str:
        return f"oci://{self.registry}/{self.name}"


def is_oci(url: str, creds: RepoCredentials | None = None) -> bool:
    """Whether ``url`` names an OCI registry (``oci://``, or a Secret with ``enableOCI``)."""
    return url.startswith("oci://") or bool(creds and creds.enable_oci and "://" not in url)


def parse_oci_url(url: str) -> OCIRef:
    """``oci://host[:port]/name`` (or ``host/name``) to an :class:`OCIRef`; refused if malformed."""
    rest = url.removeprefix("oci://").rstrip("/")
    host, _, name = rest.partition("/")
    check_url(f"https://{host}/", "OCI registry")
    if host.startswith("-"):
        raise OCIError(f"{redact_url(url)}: the registry host starts with '-'")
    if name and not _NAME.match(name):
        raise OCIError(f"{redact_url(url)}: {name!r} is not a valid OCI repository name")
    return OCIRef(host, name)


def _check_realm(realm: str, registry: str) -> str:
    check_url(realm, "token realm")
    parts = urlsplit(realm)
    if parts.scheme != "https":
        raise OCIError(f"registry {registry}: token realm {realm!r} is not https")
    try:
        address = ipaddress.ip_address(parts.hostname or "")
    except ValueError:
        return realm
    if address.is_link_local:
        raise OCIError(f"registry {registry}: token realm {realm!r} is a link-local address")
    return realm


def _basic(creds: RepoCredentials | None) -> str | None:
    if creds is None or not (creds.username or creds.password):
        return None
    pair = f"{creds.username}:{creds.password}".encode()
    return "Basic " + base64.b64encode(pair).decode()


class OCIClient:
    """Pulls from OCI registries; one per process, safe to share."""

    def __init__(
        self,
        cache_dir: Path | None = None,
        *,
        timeout: float = 60.0,
        certs: TLSCerts | None = None,
    ) -> None:
        self.cache_dir = (cache_dir or cache_base()) / "oci"
        self.timeout = timeout
        self.certs = certs
        self._tokens: dict[tuple[str, str], tuple[float, str]] = {}
        self._locks = KeyedLocks()
        self.downloads = 0

    # -- HTTP with the token dance ------------------------------------------------------

    async def _token(
        self,
        session: aiohttp.ClientSession,
        ref: OCIRef,
        challenge: str,
        creds: RepoCredentials | None,
    ) -> str:
        params = dict(_CHALLENGE.findall(challenge))
        realm = _check_realm(params.get("realm", ""), ref.registry)
        query = {"service": params.get("service", ""), "scope": f"repository:{ref.name}:pull"}
        headers = {}
        basic = _basic(creds)
        if basic:
            headers["Authorization"] = basic
        url = f"{realm}?{urlencode(query)}"
        async with session.get(
            url, headers=headers, ssl=make_ssl(url, creds, self.certs), allow_redirects=False
        ) as response:
            if response.status in (401, 403):
                detail = "refused the credentials" if basic else "wants credentials"
                raise HTTPFetchError(
                    url, f"the token service {detail} (HTTP {response.status})", response.status
                )
            if response.status != 200:
                raise HTTPFetchError(
                    url, f"the token service answered HTTP {response.status}", response.status
                )
            body = json.loads(await read_limited(response, url, 1 << 20))
        token = str(body.get("token") or body.get("access_token") or "")
        if not token:
            raise OCIError(f"registry {ref.registry}: the token service answered no token")
        ttl = float(body.get("expires_in") or 60)
        self._tokens[(ref.registry, ref.name)] = (time.monotonic() + max(ttl - 5, 1), token)
        return token

    async def get(
        self,
        ref: OCIRef,
        url: str,
        creds: RepoCredentials | None,
        accept: str = "",
        limit: int | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """GET ``url`` of ``ref``'s registry, authenticating as the registry asks."""
        check_url(url, "registry URL")
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        headers = {"Accept": accept} if accept else {}
        async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as session:
            try:
                return await self._get(session, ref, url, creds, headers, limit)
            except aiohttp.ClientError as exc:
                raise HTTPFetchError(url, f"cannot fetch: {exc}") from None
            except TimeoutError:
                raise HTTPFetchError(url, f"no answer within {self.timeout:g}s") from None

    async def _get(
        self,
        session: aiohttp.ClientSession,
        ref: OCIRef,
        url: str,
        creds: RepoCredentials | None,
        headers: dict[str, str],
        limit: int | None,
    ) -> tuple[bytes, dict[str, str]]:
        cached = self._tokens.get((ref.registry, ref.name))
        auth = f"Bearer {cached[1]}" if cached and cached[0] > time.monotonic() else None
        for _ in range(5):  # the challenge, then at most a few redirects
            same = origin(url) == origin(ref.base)
            sent = {**headers, **({"Authorization": auth} if auth and same else {})}
            async with session.get(
                url, headers=sent, ssl=make_ssl(url, creds, self.certs), allow_redirects=False
            ) as response:
                if response.status == 401 and same and auth is None:
                    challenge = response.headers.get("WWW-Authenticate", "")
                    if challenge.lower().startswith("bearer"):
                        auth = f"Bearer {await self._token(session, ref, challenge, creds)}"
                    elif challenge.lower().startswith("basic") and _basic(creds):
                        auth = _basic(creds)
                    else:
                        raise HTTPFetchError(url, "HTTP 401: authentication required", 401)
                    continue
                if response.status in (301, 302, 303, 307, 308):
                    url = check_url(urljoin(url, response.headers.get("Location", "")), "redirect")
                    continue
                if response.status in (401, 403):
                    raise HTTPFetchError(
                        url, f"HTTP {response.status}: access refused", response.status
                    )
                if response.status == 404:
                    raise ChartNotFound(f"{ref}: {urlsplit(url).path.rsplit('/', 2)[-1]} not found")
                if response.status != 200:
                    raise HTTPFetchError(url, f"HTTP {response.status}", response.status)
                kwargs = {"limit": limit} if limit else {}
                body = await read_limited(response, url, **kwargs)
                return body, dict(response.headers)
        raise HTTPFetchError(url, "too many redirects or challenges")

    # -- manifests, tags, blobs ---------------------------------------------------------

    async def tags(self, ref: OCIRef, creds: RepoCredentials | None) -> list[str]:
        found: list[str] = []
        url = f"{ref.base}/tags/list?n=1000"
        for _ in range(100):
            body, headers = await self.get(ref, url, creds)
            found += [str(t) for t in (json.loads(body).get("tags") or [])]
            link = _LINK.search(headers.get("Link", ""))
            if link is None:
                return found
            url = urljoin(url, link.group(1))
        return found

    async def resolve_tag(self, ref: OCIRef, wanted: str, creds: RepoCredentials | None) -> str:
        """A tag or digest as given, or the highest tag a semver range allows."""
        wanted = wanted.strip()
        if _DIGEST.match(wanted) or (_TAG.match(wanted) and parse_constraint(wanted) is None):
            return wanted
        tags = await self.tags(ref, creds)
        if wanted in tags:
            return wanted
        constraint = parse_constraint(wanted if wanted not in ("", "*", "latest") else "*")
        if constraint is None:
            raise ChartNotFound(f"{ref}: {wanted!r} is neither a tag, a digest nor a semver range")
        by_version = {t.replace("_", "+"): t for t in tags if parse_version(t.replace("_", "+"))}
        best = constraint.best(by_version.items())
        if best is None:
            raise ChartNotFound(f"{ref}: no tag matches {wanted!r} (tags: {', '.join(tags[-8:])})")
        return best[1]

    async def manifest(
        self, ref: OCIRef, reference: str, creds: RepoCredentials | None
    ) -> tuple[str, dict[str, Any]]:
        """(digest, manifest) of ``reference`` (a tag or a digest)."""
        body, _ = await self.get(
            ref, f"{ref.base}/manifests/{reference}", creds, MANIFEST_TYPES, 4 << 20
        )
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        if _DIGEST.match(reference) and digest != reference:
            raise ChartIntegrityError(f"{ref}: manifest {reference} arrived as {digest}")
        try:
            manifest = json.loads(body)
        except ValueError:
            raise OCIError(f"{ref}:{reference}: the manifest is not JSON") from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("layers"), list):
            raise OCIError(f"{ref}:{reference}: not an image manifest (an index is not supported)")
        return digest, manifest

    async def blob(
        self, ref: OCIRef, layer: dict[str, Any], creds: RepoCredentials | None
    ) -> bytes:
        digest = str(layer.get("digest") or "")
        if not _DIGEST.match(digest):
            raise OCIError(f"{ref}: layer digest {digest!r} is not a sha256 digest")
        body, _ = await self.get(ref, f"{ref.base}/blobs/{digest}", creds)
        self.downloads += 1
        if "sha256:" + hashlib.sha256(body).hexdigest() != digest:
            raise ChartIntegrityError(f"{ref}: blob {digest} does not match its digest")
        return body

    # -- what sources need --------------------------------------------------------------

    async def resolve_chart(
        self, repo: str, chart: str, wanted: str, creds: RepoCredentials | None
    ) -> tuple[str, str]:
        """(version, manifest digest) of ``chart`` in the OCI repository ``repo``."""
        ref = parse_oci_url(repo).child(chart)
        tag = await self.resolve_tag(ref, wanted, creds)
        digest, _ = await self.manifest(ref, tag, creds)
        return tag.replace("_", "+"), digest

    async def fetch_chart(
        self, repo: str, chart: str, digest: str, creds: RepoCredentials | None
    ) -> Path:
        """The unpacked chart of manifest ``digest`` (pulled once)."""
        ref = parse_oci_url(repo).child(chart)
        unpacked = self.cache_dir / "charts" / digest.removeprefix("sha256:")
        async with self._locks(digest):
            found = chart_dir(unpacked)
            if found is not None:
                return found
            _, manifest = await self.manifest(ref, digest, creds)
            layers = [lay for lay in manifest["layers"] if lay.get("mediaType") == HELM_CHART_LAYER]
            if len(layers) != 1:
                raise OCIError(f"{ref}@{digest}: not a Helm chart (no single {HELM_CHART_LAYER})")
            body = await self.blob(ref, layers[0], creds)
            archive = (
                self.cache_dir / "blobs" / f"{layers[0]['digest'].removeprefix('sha256:')}.tgz"
            )
            return await asyncio.to_thread(
                store_chart, body, archive, unpacked, f"chart {ref}@{digest}"
            )

    async def resolve_artifact(self, repo: str, wanted: str, creds: RepoCredentials | None) -> str:
        """The manifest digest of an artifact at a tag, digest or semver range."""
        ref = parse_oci_url(repo)
        tag = await self.resolve_tag(ref, wanted or "latest", creds)
        digest, _ = await self.manifest(ref, tag, creds)
        return digest

    async def fetch_artifact(self, repo: str, digest: str, creds: RepoCredentials | None) -> Path:
        """The tree an artifact's single tar layer holds (pulled and unpacked once)."""
        ref = parse_oci_url(repo)
        tree = self.cache_dir / "trees" / digest.removeprefix("sha256:")
        async with self._locks(digest):
            if (tree / ".gitward-tree").is_file():
                return tree / "tree"
            _, manifest = await self.manifest(ref, digest, creds)
            layers = [lay for lay in manifest["layers"] if "tar" in str(lay.get("mediaType", ""))]
            if len(layers) != 1:
                raise OCIError(
                    f"{ref}@{digest}: expected one tar layer of manifests, found {len(layers)}"
                )
            body = await self.blob(ref, layers[0], creds)
            await asyncio.to_thread(unpack_archive, body, tree, f"artifact {ref}@{digest}")
            return tree / "tree"
