"""An async client of the REST API: one aiohttp session, JSON in and out, typed errors.

The token travels only in the ``Authorization`` header of requests to the server it
was issued by: redirects are not followed (a redirect to another host would carry
it along), and a server URL with user-info is refused rather than sent.
"""

from __future__ import annotations

import json
import ssl
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from gitward._util import deepjson
from gitward.apiclient.errors import ApiClientError, ServerUnreachable, error_from_answer
from gitward.model.errors import ConfigError

#: Answers above this are refused (a page of 10,000 Applications is far less).
MAX_ANSWER_BYTES = 512 << 20


def server_url(server: str, plain_text: bool = False) -> str:
    """``host:port`` as ``https://host:port`` (``http://`` with ``plain_text``).

    A URL keeps its scheme; a trailing ``/`` is dropped. User-info, a query or a
    fragment is refused: the server is named, not authenticated, by this string.
    """
    text = server.strip()
    if "://" not in text:
        text = ("http://" if plain_text else "https://") + text
    problem = ConfigError(f"server {server[:100]!r}: expected HOST[:PORT] or an https:// URL")
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise problem from None
    if parts.scheme not in ("http", "https") or not host:
        raise problem
    if "@" in parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"server {server[:100]!r}: no user-info, query or fragment (log in with --username)"
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


async def _read_all(stream: aiohttp.StreamReader) -> bytes | None:
    """The whole body (a read returns what has arrived, not all); None past the limit."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.read(1 << 16):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class ApiClient:
    """Requests to one API server, as one caller (``token``; empty: anonymous)."""

    def __init__(
        self, server: str, token: str = "", *, insecure: bool = False, timeout: float = 60.0
    ) -> None:
        self.base = server_url(server)
        self.token = token
        self._ssl: ssl.SSLContext | bool = False if insecure else ssl.create_default_context()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | list[tuple[str, str]] | None = None,
        body: Any = None,
    ) -> Any:
        """The decoded JSON answer to ``method path``, or the error it stands for."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body)
        url = self.base + path
        try:
            async with self._http().request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                ssl=self._ssl,
                allow_redirects=False,
            ) as response:
                raw = await _read_all(response.content)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise ServerUnreachable(f"{self.base}: {type(exc).__name__}: {exc}"[:300]) from None
        if raw is None:
            raise ApiClientError(f"{method} {path}: answer larger than {MAX_ANSWER_BYTES} bytes")
        text = raw.decode("utf-8", errors="replace")
        if status >= 300:
            raise error_from_answer(status, text)
        if not text.strip():
            return {}
        try:
            return deepjson.loads(text)
        except ValueError:
            raise ApiClientError(f"{method} {path}: the answer is not JSON") from None

    async def get(self, path: str, **params: str) -> Any:
        return await self.request("GET", path, params=params or None)

    async def post(self, path: str, body: Any = None, **params: str) -> Any:
        return await self.request(
            "POST", path, body=body if body is not None else {}, params=params or None
        )

    async def put(self, path: str, body: Any, **params: str) -> Any:
        return await self.request("PUT", path, body=body, params=params or None)

    async def delete(self, path: str, **params: str) -> Any:
        return await self.request("DELETE", path, params=params or None)
