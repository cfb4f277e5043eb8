"""``gitward appset create/list/get/delete`` through a gitward server.

The answers are the ApplicationSet objects themselves (Argo CD's shapes), so the
printers of :mod:`gitward.cli.appset_cmd` show them as they show what a kubeconfig
read returns. A set in another namespace is asked for with ``appsetNamespace``;
the server admits only the namespaces its installation permits.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from gitward.apiclient import ApiClient
from gitward.apiclient.errors import NotFound
from gitward.model.errors import ConfigError

Obj = dict[str, Any]

BASE = "/api/v1/applicationsets"


def _where(namespace: str, default: str) -> dict[str, str]:
    return {"appsetNamespace": namespace} if namespace and namespace != default else {}


async def read(client: ApiClient, name: str, namespace: str) -> Obj:
    """The set ``name``; the kubeconfig path's error when there is none."""
    try:
        answer: Obj = await client.get(f"{BASE}/{quote(name, safe='')}")
    except NotFound:
        raise ConfigError(f"applicationset {name!r} not found in namespace {namespace!r}") from None
    return answer


async def list_sets(client: ApiClient) -> list[Obj]:
    answer = await client.get(BASE)
    return list(answer.get("items") or [])


async def create(client: ApiClient, obj: Obj, namespace: str, upsert: bool) -> str:
    """Store one set; the line the kubeconfig path prints for the same outcome."""
    meta = obj["metadata"]
    name, set_namespace = str(meta["name"]), str(meta.get("namespace") or namespace)
    params = _where(set_namespace, namespace)
    try:
        existing: Obj | None = await client.get(f"{BASE}/{quote(name, safe='')}", **params)
    except NotFound:
        existing = None
    if existing is not None and existing.get("spec") == obj.get("spec"):
        return f"applicationset '{name}' unchanged"
    if existing is not None and not upsert:
        raise ConfigError(
            f"applicationset {name!r} exists in {set_namespace!r} with a "
            "different spec; use --upsert to replace it"
        )
    await client.post(BASE, obj, **({"upsert": "true"} if upsert else {}))
    return f"applicationset '{name}' {'updated' if existing is not None else 'created'}"


async def delete(client: ApiClient, name: str, namespace: str) -> None:
    """Delete the set (the server's delete cascades to the generated apps)."""
    await read(client, name, namespace)
    await client.delete(f"{BASE}/{quote(name, safe='')}")


async def generate(client: ApiClient, objects: list[Obj], namespace: str) -> list[Obj]:
    """The Applications each set would generate, as the server generates them."""
    apps: list[Obj] = []
    for obj in objects:
        meta = {**obj["metadata"], "namespace": obj["metadata"].get("namespace") or namespace}
        answer = await client.post(
            f"{BASE}/generate", {"applicationSet": {**obj, "metadata": meta}}
        )
        apps += [a for a in answer.get("applications") or [] if isinstance(a, dict)]
    return apps
