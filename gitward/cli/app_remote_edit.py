"""``gitward app create/set/delete/wait/manifests/terminate-op`` through a gitward server.

Each function answers what its kubeconfig twin answers (the same line to print, the
same objects), so the command prints one way whichever path it took. The server
authenticates the caller, applies RBAC and leaves the audit Event; these functions
only shape the requests Argo CD's CLI sends and read the answers back.

A delete through the server only marks the app (Argo CD's resources finalizer) and
the controller removes what it tracks: the command waits until the Application is
gone, so the next command sees what ``--core`` would have left.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from gitward.apiclient import ApiClient
from gitward.apiclient.errors import NotFound
from gitward.appstate.wait import WaitFor, WaitTimeout
from gitward.cli.app_remote import app_path, get_app
from gitward.model.app_edit import SpecEdit, edited_spec
from gitward.model.application import parse_application
from gitward.model.errors import ConfigError, GitwardError

Obj = dict[str, Any]


class DeleteTimeout(GitwardError):
    """The controller did not finish deleting the Application in time."""


async def create(client: ApiClient, obj: Obj, *, upsert: bool, namespace: str) -> str:
    """Store ``obj`` through the server; the line ``--core`` prints for the same outcome."""
    meta = obj["metadata"]
    name, app_namespace = str(meta["name"]), str(meta.get("namespace") or namespace)
    qualified = name if app_namespace == namespace else f"{app_namespace}/{name}"
    try:
        existing: Obj | None = await get_app(client, qualified, namespace)
    except NotFound:
        existing = None
    if existing is not None and not upsert:
        if existing.get("spec") == obj.get("spec"):
            return f"application '{name}' unchanged"
        raise ConfigError(
            f"application {name!r} exists in {app_namespace!r} with a "
            "different spec; use --upsert to replace it"
        )
    await client.request(
        "POST", "/api/v1/applications", params={"upsert": "true" if upsert else "false"}, body=obj
    )
    return f"application '{name}' {'updated' if existing is not None else 'created'}"


async def set_spec(client: ApiClient, name: str, namespace: str, edit: SpecEdit) -> Obj:
    """Apply ``edit`` to the app's spec as the server has it; the new spec must parse first."""
    obj = await get_app(client, name, namespace)
    spec = edited_spec(obj.get("spec") or {}, edit)
    parse_application({**obj, "spec": spec}, f"application {name}")
    path, params = app_path(name, namespace)
    answer: Obj = await client.request("PUT", f"{path}/spec", params=params or None, body=spec)
    return answer


async def delete(
    client: ApiClient, name: str, namespace: str, *, cascade: bool, policy: str, timeout: float
) -> None:
    """Ask the server to delete the app, then wait until the controller has let it go.

    ``policy`` is the Kubernetes propagation policy (``Foreground``...); Argo CD's API
    takes foreground or background, and ``orphan`` means no cascade.
    """
    path, params = app_path(name, namespace)
    lowered = policy.lower()
    query = {
        **params,
        "cascade": "true" if cascade and lowered != "orphan" else "false",
        "propagationPolicy": "background" if lowered == "background" else "foreground",
    }
    await client.request("DELETE", path, params=query)
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        try:
            obj = await get_app(client, name, namespace)
        except NotFound:
            return
        if time.monotonic() > deadline:
            left = (obj.get("metadata") or {}).get("finalizers") or []
            raise DeleteTimeout(
                f"timed out after {timeout:.0f} s waiting for the controller to delete "
                f"application {name!r} (finalizers {', '.join(map(str, left)) or 'none'})"
            )
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 2.0)


async def terminate(client: ApiClient, name: str, namespace: str) -> Obj:
    """End the app's running operation (the server refuses when none runs); the answer.

    A gitward server answers the record's ``phase`` (``Terminating`` when the
    controller still has to end it) and ``message``; anything else is ``{}``.
    """
    path, params = app_path(name, namespace)
    answer = await client.request("DELETE", f"{path}/operation", params=params or None)
    return answer if isinstance(answer, dict) else {}


def decoded_object(text: str, what: str) -> Obj:
    """One object of a server's answer that carries JSON as a string (Argo CD's way)."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise ConfigError(f"the server sent a {what} that is not JSON") from None
    if not isinstance(value, dict):
        raise ConfigError(f"the server sent a {what} that is not an object")
    return value


async def manifests(
    client: ApiClient, name: str, namespace: str, source: str, revision: str
) -> list[Obj]:
    """The app's rendered manifests (``git``) or its live objects (``live``).

    Git: ``GET .../manifests``. Live: the live states of ``GET .../managed-resources``
    (Secrets' data masked by the server, which never sends a Secret's values).
    """
    path, params = app_path(name, namespace)
    if source == "git":
        query = {**params, **({"revision": revision} if revision else {})}
        answer = await client.get(f"{path}/manifests", **query)
        return [decoded_object(str(m), "manifest") for m in answer.get("manifests") or []]
    answer = await client.get(f"{path}/managed-resources", **params)
    return [
        decoded_object(str(item["liveState"]), "live state")
        for item in answer.get("items") or []
        if item.get("liveState")
    ]


async def wait(client: ApiClient, name: str, namespace: str, want: WaitFor, timeout: float) -> Obj:
    """The app once ``want`` holds in the status the controller writes.

    The first read asks the server for a refresh, so a wait right after a change
    does not judge a status compared before it.
    """
    deadline = time.monotonic() + timeout
    delay = 0.2
    obj = await get_app(client, name, namespace, "normal")
    while True:
        if want.satisfied(obj):
            return obj
        if time.monotonic() > deadline:
            status = obj.get("status") or {}
            raise WaitTimeout(
                f"timed out after {timeout:.0f} s waiting for application {name!r}: "
                f"sync {(status.get('sync') or {}).get('status')}, "
                f"health {(status.get('health') or {}).get('status')}"
            )
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 3.0)
        obj = await get_app(client, name, namespace)
