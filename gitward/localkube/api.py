"""A tiny synchronous HTTPS client for bootstrapping a local control plane.

``localkube up`` needs only a handful of calls (``/readyz``, list nodes, create
a node, read a ServiceAccount) before any real client is configured, so it uses
the standard library with the admin client certificate rather than pulling the
async cluster layer into a process supervisor.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

from gitward.localkube.pki import Pki


class AdminApi:
    """Authenticated calls to one API server as ``system:masters``."""

    def __init__(self, server: str, pki: Pki, timeout: float = 5.0) -> None:
        self.server = server.rstrip("/")
        self.timeout = timeout
        self._ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
        self._ctx.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any] | str]:
        """Return (HTTP status, decoded JSON or text); connection errors raise OSError."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(  # noqa: S310 - https URL built from our own server
            self.server + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self._ctx) as resp:  # noqa: S310
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        text = raw.decode(errors="replace")
        try:
            return status, json.loads(text)
        except json.JSONDecodeError:
            return status, text
