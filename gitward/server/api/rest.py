"""Every route module of this package in one call, for the server's application factory.

``add_routes(app)`` mounts projects, repositories, repocreds, clusters,
applicationsets (and their generate), settings, version and the OpenAPI document with its page.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from gitward.server.api import (
    applicationsets,
    appset_generate,
    clusters,
    openapi,
    projects,
    repocreds,
    repositories,
    settings,
    version,
)

MODULES: tuple[Callable[[web.Application], None], ...] = (
    projects.add_routes,
    repositories.add_routes,
    repocreds.add_routes,
    clusters.add_routes,
    applicationsets.add_routes,
    appset_generate.add_routes,
    settings.add_routes,
    version.add_routes,
    openapi.add_routes,
)


def add_routes(app: web.Application) -> None:
    for add in MODULES:
        add(app)
