"""``GET /api/version``: what gitward is, in Argo CD's ``VersionMessage`` field names.

Public like Argo CD's (the CLI asks it before logging in), but an anonymous caller
learns only ``Version``: build details and tool versions help an attacker pick an
exploit, so they are for authenticated callers. Tool versions are asked from the
binaries once per server (``kustomize version``, ``helm version``), not per request.
"""

from __future__ import annotations

import os
import platform
import sys

from aiohttp import web

from gitward import __version__
from gitward.render import RenderTools
from gitward.server.api.routing import Route, json_response, mount
from gitward.server.auth import PRINCIPAL_KEY, Principal

#: The tools the server renders with (the CLI sets the toolchain's); PATH's when unset.
RENDER_TOOLS: web.AppKey[RenderTools] = web.AppKey("gitward.server.render_tools", RenderTools)

#: Set by the image build (Dockerfile); empty in a checkout.
BUILD_ENV = {"BuildDate": "GITWARD_BUILD_DATE", "GitCommit": "GITWARD_GIT_COMMIT"}


def set_render_tools(app: web.Application, tools: RenderTools) -> None:
    app[RENDER_TOOLS] = tools


def _platform() -> str:
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    return f"{sys.platform}/{machine}"


async def get_version(request: web.Request) -> web.Response:
    if not isinstance(request.get(PRINCIPAL_KEY), Principal):
        return json_response({"Version": f"v{__version__}"})
    versions = await request.app[RENDER_TOOLS].versions()
    answer = {
        "Version": f"v{__version__}",
        **{field: os.environ.get(var, "") for field, var in BUILD_ENV.items()},
        "GitTag": "",
        "GitTreeState": "",
        "GoVersion": "",
        "Compiler": f"{sys.implementation.name} {platform.python_version()}",
        "Platform": _platform(),
        "KustomizeVersion": versions.get("kustomize", ""),
        "HelmVersion": versions.get("helm", ""),
        "KubectlVersion": "",
        "JsonnetVersion": versions.get("jsonnet", ""),
    }
    return json_response(answer)


ROUTES = [
    Route(
        "GET",
        "/api/version",
        get_version,
        "The server's version; build and tool versions for authenticated callers.",
        "VersionService",
        rbac=None,
        answer="VersionMessage",
    )
]


def add_routes(app: web.Application) -> None:
    if RENDER_TOOLS not in app:
        app[RENDER_TOOLS] = RenderTools.from_path()
    mount(app, ROUTES)
