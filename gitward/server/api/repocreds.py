"""``/api/v1/repocreds``: credential templates (repo-creds Secrets) by URL prefix.

Argo CD's RepoCredsService. A template's credentials serve every repository whose
URL starts with its prefix and has none of its own. Like repositories, secrets go in
and come out only as ``hasPassword``-style booleans. RBAC is Argo CD's: resource
``repositories``, object the URL prefix.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gitward.appstate import repositories as repos
from gitward.appstate.repositories import Entry, NotRegistered
from gitward.cluster.secrets import argocd_secret, creds_secret_name
from gitward.model.errors import GitwardError
from gitward.server.api.repositories import fields_from_body
from gitward.server.api.routing import (
    Route,
    audit,
    flag,
    json_response,
    list_of,
    missing,
    mount,
    read_body,
)
from gitward.server.auth import allowed, require
from gitward.server.context import CONTEXT
from gitward.server.errors import AlreadyExists, InvalidArgument
from gitward.source import redact_url
from gitward.source.credentials import REPO_CREDS

Obj = dict[str, Any]


def _fields(body: Obj) -> tuple[str, dict[str, str]]:
    clean, fields = fields_from_body(body, "creds", "url")
    if not (fields["password"] or fields["sshPrivateKey"] or fields["bearerToken"]):
        raise InvalidArgument("creds: needs password, sshPrivateKey or bearerToken")
    return clean, fields


async def _templates(request: web.Request) -> list[Entry]:
    ctx = request.app[CONTEXT]
    return await repos.entries(ctx.client, ctx.namespace, REPO_CREDS)


def _find(request: web.Request, found: list[Entry], url: str, action: str) -> Entry:
    namespace = request.app[CONTEXT].namespace
    try:
        return repos.find_one(found, url, None, namespace, "credential template")
    except NotRegistered as exc:
        raise missing(request, "repositories", action, url, str(exc)) from None


async def list_repocreds(request: web.Request) -> web.Response:
    found = await _templates(request)
    wanted = request.query.get("url", "")
    if wanted:
        found = repos.matching(found, wanted, None, prefix=True)
    shown = [repos.creds_view(e) for e in found if allowed(request, "repositories", "get", e.url)]
    return json_response(list_of(shown))


async def create_repocreds(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    clean, fields = _fields(await read_body(request))
    require(request, "repositories", "create", clean)
    upsert = flag(request, "upsert")
    secret = argocd_secret(creds_secret_name(clean), ctx.namespace, REPO_CREDS, fields)
    existing = next(iter(repos.matching(await _templates(request), clean, None, True)), None)
    if existing is not None and upsert:
        require(request, "repositories", "update", clean)
    try:
        action = repos.plan(existing, secret, upsert, "credential template")
    except GitwardError as exc:
        raise AlreadyExists(str(exc)) from None
    stored = await repos.write(ctx.client, existing, secret, action)
    if action != "unchanged":
        message = f"{action} credential template {redact_url(clean)}"
        await audit(request, stored, "ResourceCreated", message)
    return json_response(repos.creds_view(Entry(stored, fields)))


async def update_repocreds(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await read_body(request)
    body.setdefault("url", request.match_info["url"])
    clean, fields = _fields(body)
    entry = _find(request, await _templates(request), request.match_info["url"], "update")
    if repos.matching([entry], clean, None, prefix=True) != [entry]:
        raise InvalidArgument("creds.url: differs from the URL in the path")
    require(request, "repositories", "update", entry.url)
    secret = argocd_secret(entry.secret_name, ctx.namespace, REPO_CREDS, fields)
    action = repos.plan(entry, secret, True, "credential template")
    stored = await repos.write(ctx.client, entry, secret, action)
    if action != "unchanged":
        message = f"updated credential template {redact_url(clean)}"
        await audit(request, stored, "ResourceUpdated", message)
    return json_response(repos.creds_view(Entry(stored, fields)))


async def delete_repocreds(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    entry = _find(request, await _templates(request), request.match_info["url"], "delete")
    require(request, "repositories", "delete", entry.url)
    await ctx.client.delete("v1", "Secret", entry.secret_name, ctx.namespace, "Background")
    secret = {**entry.secret, "apiVersion": "v1", "kind": "Secret"}
    message = f"deleted credential template {redact_url(entry.url)}"
    await audit(request, secret, "ResourceDeleted", message)
    return json_response({})


TAG = "RepoCredsService"
CREDS = "/api/v1/repocreds/{url:.+}"
ROUTES = [
    Route(
        "GET",
        "/api/v1/repocreds",
        list_repocreds,
        "List credential templates the caller may get (secrets as booleans).",
        TAG,
        ("repositories", "get"),
        query=("url",),
        answer="RepoCredsList",
    ),
    Route(
        "POST",
        "/api/v1/repocreds",
        create_repocreds,
        "Add a credential template (upsert: replace different settings).",
        TAG,
        ("repositories", "create"),
        flags=("upsert",),
        body="RepoCreds",
        answer="RepoCreds",
    ),
    Route(
        "PUT",
        CREDS,
        update_repocreds,
        "Replace a credential template's credentials.",
        TAG,
        ("repositories", "update"),
        body="RepoCreds",
        answer="RepoCreds",
    ),
    Route(
        "DELETE",
        CREDS,
        delete_repocreds,
        "Remove a credential template (deletes its Secret).",
        TAG,
        ("repositories", "delete"),
    ),
]


def add_routes(app: web.Application) -> None:
    mount(app, ROUTES)
