"""The web UI's static files, served by ``gitward server`` from inside the package.

The UI is plain ES modules, CSS and one HTML page shipped as package data, so a
wheel install serves it with no Node and no build step. :func:`add_routes`
mounts it under ``/``: the files under ``/assets/``, and ``index.html`` for
the client-side routes (``/applications/...``, ``/login``, ``/settings/...``).
The client routes are an explicit list, never a catch-all, so the UI cannot
shadow ``/api/``, ``/healthz``, ``/metrics`` or any route added later, in
whatever order routes are registered.

Every file is read once at :func:`add_routes` and served from memory by exact
name: a request path is a dictionary key, never joined to a directory, so no
path can reach outside the package. Every answer carries a strict
Content-Security-Policy (scripts, styles and requests to this origin only, no
inline script) so a hostile string the API returns cannot run even if a page
bug ever rendered it as HTML.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import mimetypes
from importlib import resources

from aiohttp import web

#: Scripts, styles, images and API calls from this origin only; no inline script, no
#: frames, no plugins, no forms posting elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: Assets are not content-hashed (there is no build step), so a browser revalidates
#: each one with its ETag: an upgrade is seen at once, an unchanged file costs a 304.
CACHE_CONTROL = "no-cache"

#: The paths the UI's router owns; each also owns everything below it.
CLIENT_ROUTES = (
    "/login",
    "/applications",
    "/projects",
    "/repositories",
    "/clusters",
    "/settings",
    "/user-info",
)

_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".txt": "text/plain",
}


@dataclasses.dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str


def _asset(name: str, body: bytes) -> Asset:
    suffix = name[name.rfind(".") :] if "." in name else ""
    content_type = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    packed = gzip.compress(body, 9, mtime=0)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Asset(body, packed if len(packed) < len(body) else None, content_type, etag)


def load_assets() -> dict[str, Asset]:
    """Every file under ``static/``, keyed by its path relative to it (``js/main.js``)."""
    found: dict[str, Asset] = {}
    root = resources.files(__name__).joinpath("static")
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        for entry in folder.iterdir():
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                pending.append((entry, f"{prefix}{entry.name}/"))
            else:
                found[prefix + entry.name] = _asset(prefix + entry.name, entry.read_bytes())
    return found


def _respond(request: web.Request, asset: Asset) -> web.Response:
    headers = dict(SECURITY_HEADERS)
    headers["Cache-Control"] = CACHE_CONTROL
    headers["ETag"] = asset.etag
    headers["Vary"] = "Accept-Encoding"
    if asset.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    body = asset.body
    if asset.gzipped is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    headers["Content-Type"] = asset.content_type + (
        "; charset=utf-8" if asset.content_type.startswith("text/") else ""
    )
    return web.Response(body=body, headers=headers)


def add_routes(app: web.Application) -> None:
    """Serve the UI on ``app``: ``/``, ``/assets/*`` and the client routes' ``index.html``."""
    assets = load_assets()
    index = assets["index.html"]

    async def page(request: web.Request) -> web.Response:
        return _respond(request, index)

    async def asset(request: web.Request) -> web.Response:
        found = assets.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound(text="no such asset\n", headers=SECURITY_HEADERS)
        return _respond(request, found)

    app.router.add_get("/", page)
    app.router.add_get("/assets/{name:.+}", asset)
    for route in CLIENT_ROUTES:
        app.router.add_get(route, page)
        app.router.add_get(route + "/{tail:.*}", page)


__all__ = ["CLIENT_ROUTES", "CONTENT_SECURITY_POLICY", "add_routes", "load_assets"]
