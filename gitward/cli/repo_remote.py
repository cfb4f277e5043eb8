"""``gitward repo`` writes through a gitward server, printing what the kubeconfig path prints.

Argo CD's API answers a create with the stored repository, not with what it did. The
CLI says ``added``, ``unchanged`` or ``updated`` as with a kubeconfig, so it asks in
two steps: a create without upsert is refused (AlreadyExists) exactly when the
stored settings differ; only then, and only when ``--upsert`` was given, is the
create sent again with upsert. The server tests access with git before it stores
anything, and never sends a credential back (only ``hasPassword``-style booleans).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from gitward.apiclient import ApiClient
from gitward.apiclient.errors import AlreadyExists
from gitward.source import redact_url

Obj = dict[str, Any]

#: The Repository body's name for each Secret field the CLI's flags give.
_BODY_KEYS = {
    "url": "repo",
    "username": "username",
    "password": "password",
    "sshPrivateKey": "sshPrivateKey",
    "bearerToken": "bearerToken",
    "type": "type",
    "name": "name",
    "project": "project",
}


def repository_body(fields: dict[str, str]) -> Obj:
    """Argo CD's ``Repository`` for the Secret fields ``repo add`` built."""
    body: Obj = {_BODY_KEYS[k]: v for k, v in fields.items() if k in _BODY_KEYS and v}
    if fields.get("insecure") == "true":
        body["insecure"] = True
    return body


async def _added(client: ApiClient, path: str, body: Obj, upsert: bool) -> str:
    """POST without upsert first; ``added``/``unchanged``/``updated`` as the kubeconfig path."""
    listed = await client.get(path)
    before = {str(v.get("secretName") or "") for v in listed.get("items") or []}
    try:
        answer = await client.post(path, body)
    except AlreadyExists:
        if not upsert:
            raise
        await client.post(path, body, upsert="true")
        return "updated"
    return "unchanged" if str(answer.get("secretName") or "") in before else "added"


async def add(client: ApiClient, fields: dict[str, str], upsert: bool) -> str:
    """Register a repository (the server tests access first); what was done."""
    return await _added(client, "/api/v1/repositories", repository_body(fields), upsert)


async def add_creds(client: ApiClient, fields: dict[str, str], upsert: bool) -> str:
    """Add a credential template; what was done."""
    body = {k: v for k, v in fields.items() if k in _BODY_KEYS and k != "project" and v}
    return await _added(client, "/api/v1/repocreds", body, upsert)


async def remove(client: ApiClient, url: str, project: str | None) -> str:
    """Remove a repository; its URL as stored (credentials redacted), for the message."""
    path = f"/api/v1/repositories/{quote(url, safe='')}"
    params = {"appProject": project} if project is not None else {}
    view = await client.get(path, **params)
    await client.delete(path, **params)
    return str(view.get("repo") or redact_url(url))


async def remove_creds(client: ApiClient, url: str) -> str:
    """Remove a credential template; its URL prefix as stored, for the message."""
    listed = await client.get("/api/v1/repocreds", url=url)
    items = list(listed.get("items") or [])
    await client.delete(f"/api/v1/repocreds/{quote(url, safe='')}")
    return str(items[0].get("url")) if len(items) == 1 else redact_url(url)


async def list_creds(client: ApiClient) -> list[Obj]:
    """The credential templates the caller may see, as ``list-creds`` prints them."""
    answer = await client.get("/api/v1/repocreds")
    return list(answer.get("items") or [])
