"""HTTP(S) for chart repositories and OCI registries: one checked URL, one TLS setup.

Everything a spec or a repository index names goes through :func:`check_url`
before a request is made: only ``https`` and ``http``, a host, no user-info
(credentials travel in headers built from repository Secrets, never in URLs
that reach logs), no control characters, a bounded length. TLS verifies
against the system's roots plus the installation's own CA certificates for
the host (``argocd-tls-certs-cm``), presents a client certificate when the
repository Secret has one, and is off only for a repository marked
``insecure``. Bodies are read with a size ceiling, so a hostile server cannot
exhaust memory, and every request has a deadline.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from gitward.model.errors import SourceError
from gitward.model.repourl import redact_url
from gitward.source.credentials import RepoCredentials
from gitward.source.policy import MAX_URL_LENGTH, RepoURLRefused

#: Largest index.yaml, manifest or chart archive gitward reads.
MAX_BODY = 64 * 1024 * 1024
_CONTROL = frozenset(chr(c) for c in (*range(0x21), 0x7F))


class HTTPFetchError(SourceError):
    """A repository or registry answered with an error, or could not be reached."""

    def __init__(self, url: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{redact_url(url)}: {message}")
        self.url = redact_url(url)
        self.status = status


def check_url(url: str, what: str = "repository URL") -> str:
    """``url`` if it is an http(s) URL gitward may request; :class:`RepoURLRefused` if not."""
    if not url or len(url) > MAX_URL_LENGTH:
        raise RepoURLRefused(url[:200], f"{what}: empty or longer than {MAX_URL_LENGTH}")
    if any(ch in _CONTROL for ch in url):
        raise RepoURLRefused(url, f"{what}: contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise RepoURLRefused(url, f"{what}: not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("https", "http"):
        raise RepoURLRefused(url, f"{what}: only https:// and http:// are fetched")
    if not parts.hostname:
        raise RepoURLRefused(url, f"{what}: names no host")
    if parts.username is not None or parts.password is not None:
        raise RepoURLRefused(
            url, f"{what}: credentials in the URL are refused; put them in a repository Secret"
        )
    return url


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``: where credentials may be sent."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


@dataclass(frozen=True)
class TLSCerts:
    """The installation's extra CA certificates by host (Argo CD's ``argocd-tls-certs-cm``)."""

    by_host: Mapping[str, str]

    def for_url(self, url: str) -> str:
        return self.by_host.get((urlsplit(url).hostname or "").lower(), "")


def ssl_context(
    url: str, creds: RepoCredentials | None, certs: TLSCerts | None
) -> ssl.SSLContext | bool:
    """The TLS settings for one request to ``url`` (False: no verification, ``insecure``)."""
    if not url.lower().startswith("https://"):
        return True
    if creds is not None and creds.insecure:
        return False
    context = ssl.create_default_context()
    extra = certs.for_url(url) if certs is not None else ""
    if extra:
        try:
            context.load_verify_locations(cadata=extra)
        except ssl.SSLError as exc:
            raise HTTPFetchError(url, f"argocd-tls-certs-cm: bad certificate: {exc}") from None
    if creds is not None and creds.tls_client_cert_data:
        _load_client_cert(context, creds, url)
    return context


def _load_client_cert(context: ssl.SSLContext, creds: RepoCredentials, url: str) -> None:
    # ssl reads a certificate chain only from files: a private, short-lived 0600 directory.
    with tempfile.TemporaryDirectory(prefix="gitward-tls-") as tmp:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        for path, data in ((cert, creds.tls_client_cert_data), (key, creds.tls_client_cert_key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(data)
        try:
            context.load_cert_chain(cert, key if creds.tls_client_cert_key else None)
        except ssl.SSLError as exc:
            raise HTTPFetchError(url, f"repository client certificate: {exc}") from None


async def read_limited(response: aiohttp.ClientResponse, url: str, limit: int = MAX_BODY) -> bytes:
    """The body of ``response``, refused past ``limit`` bytes."""
    length = response.content_length
    if length is not None and length > limit:
        raise HTTPFetchError(url, f"response of {length} bytes is larger than {limit}")
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.content.iter_chunked(1 << 16):
        total += len(chunk)
        if total > limit:
            raise HTTPFetchError(url, f"response is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
