"""``POST /api/v1/applicationsets/generate``: the Applications a set would generate, stored
nowhere — Argo CD's ``ApplicationSetService_Generate``, behind ``gitward appset generate``.

The set in the body is parsed as the ApplicationSet controller parses sets and
generated with the same code, so the answer is what the controller would create.
Git generators read repositories as the server may (argocd-cm
``gitward.localRepositories`` decides whether a local path is allowed: a caller must
not read the server's own files through a generator), with the installation's
repository credentials; a clusters generator lists the registered clusters. The
answer carries the generated Applications only: never a credential.

RBAC is ``applicationsets, create`` on the set's object, as Argo CD checks it: a
caller who may not create the set may not learn what it would generate either.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gitward.appset import AppSetSources, GenerationError, generate
from gitward.appset.validate import check_name
from gitward.appstate import repositories as repos
from gitward.appstate.destinations import CLUSTER_SECRETS
from gitward.model.applicationset import parse_applicationset
from gitward.model.errors import GitwardError
from gitward.server.api.applicationsets import from_body, rbac_object
from gitward.server.api.repositories import git_source
from gitward.server.api.routing import Route, field, json_response, mount, read_body
from gitward.server.auth import require
from gitward.server.context import CONTEXT
from gitward.server.errors import InvalidArgument
from gitward.services import gotemplates
from gitward.source.credentials import REPO_CREDS, REPOSITORY

Obj = dict[str, Any]


async def generate_apps(request: web.Request) -> web.Response:
    """Body ``{"applicationSet": {...}}``; answer ``{"applications": [...]}``."""
    ctx = request.app[CONTEXT]
    body = await read_body(request)
    obj = from_body(request, field(body, "applicationSet", "body"))
    require(request, "applicationsets", "create", rbac_object(request, obj))
    appset = parse_applicationset(obj, f"ApplicationSet {obj['metadata']['name']}")
    entries = [
        *await repos.entries(ctx.client, ctx.namespace, REPOSITORY),
        *await repos.entries(ctx.client, ctx.namespace, REPO_CREDS),
    ]
    store = repos.store_of(entries)

    async def cluster_secrets() -> list[Obj]:
        return await ctx.client.list("v1", "Secret", ctx.namespace, CLUSTER_SECRETS)

    sources = AppSetSources(await git_source(request), cluster_secrets, lambda: store)
    try:
        generation = await generate(appset, sources, gotemplates())
    except (GenerationError, GitwardError) as exc:
        raise InvalidArgument(f"{appset.where}: {exc}") from None
    seen: set[str] = set()
    for item in generation.desired:
        problem = check_name(item.name)
        if problem is None and item.name in seen:
            problem = f"duplicate application name {item.name!r}"
        if problem:
            raise InvalidArgument(f"{appset.where}: {item.where}: {problem}")
        seen.add(item.name)
    return json_response({"applications": [item.app for item in generation.desired]})


ROUTES = [
    Route(
        "POST",
        "/api/v1/applicationsets/generate",
        generate_apps,
        "The Applications a set would generate; nothing is stored.",
        "ApplicationSetService",
        ("applicationsets", "create"),
        body="ApplicationSetGenerateRequest",
        answer="ApplicationSetGenerateResponse",
        operation_id="ApplicationSetService_Generate",
    ),
]


def add_routes(app: web.Application) -> None:
    mount(app, ROUTES)
