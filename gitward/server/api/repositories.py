"""``/api/v1/repositories``: registered Git repositories, as Argo CD's RepositoryService.

The repository is named in the path by its URL, percent-encoded as Argo CD's
clients send it (``/api/v1/repositories/https%3A%2F%2Fgit.example%2Fteam%2Fapps``).
Credentials go in and never come out: an answer has ``hasPassword``-style booleans,
and a password in a URL's user-info is moved into the Secret's fields before
anything is stored or printed. A create tests access with a real ``git ls-remote``
first (as Argo CD does) and stores nothing when git is refused. RBAC objects are the
URL, or ``PROJECT/URL`` for a project-scoped repository, as Argo CD's.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gitward.appstate import load_settings
from gitward.appstate import repositories as repos
from gitward.appstate.repositories import UNTESTED, Entry, NotRegistered
from gitward.cluster.secrets import argocd_secret, repo_secret_name
from gitward.model.errors import GitwardError
from gitward.server.api.routing import (
    Route,
    audit,
    flag,
    json_response,
    list_of,
    missing,
    mount,
    read_body,
    text,
)
from gitward.server.auth import allowed, require
from gitward.server.context import CONTEXT
from gitward.server.errors import AlreadyExists, InvalidArgument
from gitward.source import GitSource, redact_url
from gitward.source.credentials import REPO_CREDS, REPOSITORY
from gitward.source.gitsource import split_userinfo
from gitward.source.policy import RepoURLPolicy

Obj = dict[str, Any]

#: Longest URL accepted (Git hosts allow far less).
MAX_URL = 2048
TYPES = ("git", "helm")
CREDENTIAL_FIELDS = ("username", "password", "sshPrivateKey", "bearerToken")


def rbac_object(project: str, url: str) -> str:
    return f"{project}/{url}" if project else url


def check_url(url: str, where: str) -> str:
    """A URL that git may be given: not empty, no control characters, not an option."""
    if not url:
        raise InvalidArgument(f"{where}: required")
    if len(url) > MAX_URL:
        raise InvalidArgument(f"{where}: longer than {MAX_URL} characters")
    if url.startswith("-") or any(ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidArgument(f"{where}: not a repository URL")
    return url


def fields_from_body(body: Obj, where: str, url_key: str) -> tuple[str, dict[str, str]]:
    """The clean URL and the Secret fields a Repository or RepoCreds body carries."""
    url = check_url(text(body, url_key, where), f"{where}.{url_key}")
    fields = {key: text(body, key, where) for key in CREDENTIAL_FIELDS}
    clean, from_url = split_userinfo(url, None)
    if from_url is not None and not fields["password"]:
        fields["username"] = fields["username"] or from_url.username
        fields["password"] = from_url.password
    if fields["sshPrivateKey"] and "PRIVATE KEY" not in fields["sshPrivateKey"]:
        raise InvalidArgument(f"{where}.sshPrivateKey: not a PEM/OpenSSH private key")
    fields["url"] = clean
    return clean, fields


def _repo_fields(body: Obj) -> tuple[str, dict[str, str]]:
    clean, fields = fields_from_body(body, "repo", "repo")
    kind = text(body, "type", "repo") or "git"
    if kind not in TYPES:
        raise InvalidArgument(f"repo.type: {kind[:20]!r} is not one of {', '.join(TYPES)}")
    insecure = body.get("insecure") is True or body.get("insecureIgnoreHostKey") is True
    fields.update(
        type=kind,
        name=text(body, "name", "repo"),
        project=text(body, "project", "repo"),
        insecure="true" if insecure else "",
    )
    return clean, fields


async def git_source(request: web.Request) -> GitSource:
    """Git as the installation allows it: local paths only under argocd-cm's
    ``gitward.localRepositories`` (a caller must not probe the server's own files)."""
    ctx = request.app[CONTEXT]
    settings = await load_settings(ctx.client, ctx.namespace)
    return GitSource(policy=RepoURLPolicy.create(settings.local_repositories))


async def _all(request: web.Request) -> tuple[list[Entry], list[Entry]]:
    ctx = request.app[CONTEXT]
    return (
        await repos.entries(ctx.client, ctx.namespace, REPOSITORY),
        await repos.entries(ctx.client, ctx.namespace, REPO_CREDS),
    )


def _find(request: web.Request, found: list[Entry], url: str, action: str) -> Entry:
    project = request.query.get("appProject") or None
    try:
        return repos.find_one(found, url, project, request.app[CONTEXT].namespace, "repository")
    except NotRegistered as exc:
        obj = rbac_object(project or "", url)
        raise missing(request, "repositories", action, obj, str(exc)) from None


async def list_repositories(request: web.Request) -> web.Response:
    found, creds = await _all(request)
    wanted = request.query.get("repo", "")
    if wanted:
        found = repos.matching(found, wanted, None, prefix=False)
    found = [
        e for e in found if allowed(request, "repositories", "get", rbac_object(e.project, e.url))
    ]
    store = repos.store_of(found + creds)
    refresh = flag(request, "forceRefresh")
    source = await git_source(request) if refresh else None
    states = await repos.check_all(found, store, refresh, source)
    return json_response(
        list_of([repos.repo_view(e, s, store) for e, s in zip(found, states, strict=True)])
    )


async def get_repository(request: web.Request) -> web.Response:
    found, creds = await _all(request)
    entry = _find(request, found, request.match_info["repo"], "get")
    require(request, "repositories", "get", rbac_object(entry.project, entry.url))
    store = repos.store_of(found + creds)
    state = UNTESTED
    if flag(request, "forceRefresh"):
        state = await repos.check_connection(
            await git_source(request), entry.url, store.lookup(entry.url, entry.project)
        )
    return json_response(repos.repo_view(entry, state, store))


async def create_repository(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await read_body(request)
    clean, fields = _repo_fields(body)
    obj = rbac_object(fields["project"], clean)
    require(request, "repositories", "create", obj)
    upsert = flag(request, "upsert")
    secret = argocd_secret(
        repo_secret_name(clean, fields["project"]), ctx.namespace, REPOSITORY, fields
    )
    found, creds = await _all(request)
    existing = next(iter(repos.matching(found, clean, fields["project"], prefix=False)), None)
    if existing is not None and upsert:
        require(request, "repositories", "update", obj)
    try:
        action = repos.plan(existing, secret, upsert, "repository")
    except GitwardError as exc:
        raise AlreadyExists(str(exc)) from None
    store = repos.store_of(creds)
    store.add(Entry(secret, fields).credentials())
    git = await git_source(request)
    state = await repos.check_connection(git, clean, store.lookup(clean, fields["project"]))
    if state.status != "Successful":
        raise InvalidArgument(f"unable to access repository {redact_url(clean)}: {state.message}")
    stored = await repos.write(ctx.client, existing, secret, action)
    if action != "unchanged":
        await audit(request, stored, "ResourceCreated", f"{action} repository {redact_url(clean)}")
    return json_response(repos.repo_view(Entry(stored, fields), state, store))


async def update_repository(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await read_body(request)
    clean, fields = _repo_fields(body)
    found, creds = await _all(request)
    entry = _find(request, found, request.match_info["repo"], "update")
    if repos.matching([entry], clean, None, prefix=False) != [entry]:
        raise InvalidArgument("repo.repo: differs from the URL in the path")
    require(request, "repositories", "update", rbac_object(entry.project, entry.url))
    fields["project"] = entry.project
    secret = argocd_secret(entry.secret_name, ctx.namespace, REPOSITORY, fields)
    action = repos.plan(entry, secret, True, "repository")
    stored = await repos.write(ctx.client, entry, secret, action)
    if action != "unchanged":
        await audit(request, stored, "ResourceUpdated", f"updated repository {redact_url(clean)}")
    store = repos.store_of(found + creds)
    return json_response(repos.repo_view(Entry(stored, fields), UNTESTED, store))


async def delete_repository(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    found, _ = await _all(request)
    entry = _find(request, found, request.match_info["repo"], "delete")
    require(request, "repositories", "delete", rbac_object(entry.project, entry.url))
    await ctx.client.delete("v1", "Secret", entry.secret_name, ctx.namespace, "Background")
    secret = {**entry.secret, "apiVersion": "v1", "kind": "Secret"}
    await audit(request, secret, "ResourceDeleted", f"deleted repository {redact_url(entry.url)}")
    return json_response({})


async def validate_access(request: web.Request) -> web.Response:
    """Test access with the credentials in the body, storing nothing."""
    body = await read_body(request)
    body.setdefault("repo", request.match_info["repo"])
    clean, fields = _repo_fields(body)
    require(request, "repositories", "create", rbac_object(fields["project"], clean))
    creds = Entry({"metadata": {"name": "validate"}}, fields).credentials()
    state = await repos.check_connection(await git_source(request), clean, creds)
    if state.status != "Successful":
        raise InvalidArgument(f"unable to access repository {redact_url(clean)}: {state.message}")
    return json_response({})


TAG = "RepositoryService"
REPO = "/api/v1/repositories/{repo:.+}"
ROUTES = [
    Route(
        "GET",
        "/api/v1/repositories",
        list_repositories,
        "List repositories the caller may get (forceRefresh: test each with git now).",
        TAG,
        ("repositories", "get"),
        query=("repo", "appProject"),
        flags=("forceRefresh",),
        answer="RepositoryList",
    ),
    Route(
        "POST",
        "/api/v1/repositories",
        create_repository,
        "Register a repository after testing access (upsert: replace different settings).",
        TAG,
        ("repositories", "create"),
        flags=("upsert",),
        body="Repository",
        answer="Repository",
    ),
    Route(
        "POST",
        REPO + "/validate",
        validate_access,
        "Test access to a repository with the body's credentials; nothing is stored.",
        TAG,
        ("repositories", "create"),
        body="Repository",
    ),
    Route(
        "GET",
        REPO,
        get_repository,
        "Get a repository by its (percent-encoded) URL.",
        TAG,
        ("repositories", "get"),
        query=("appProject",),
        flags=("forceRefresh",),
        answer="Repository",
    ),
    Route(
        "PUT",
        REPO,
        update_repository,
        "Replace a repository's settings and credentials.",
        TAG,
        ("repositories", "update"),
        query=("appProject",),
        body="Repository",
        answer="Repository",
    ),
    Route(
        "DELETE",
        REPO,
        delete_repository,
        "Remove a repository (deletes its Secret).",
        TAG,
        ("repositories", "delete"),
        query=("appProject",),
    ),
]


def add_routes(app: web.Application) -> None:
    mount(app, ROUTES)
