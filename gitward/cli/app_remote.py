"""``gitward app list/get/history/sync/rollback/diff`` through a gitward server.

The same commands as in kubeconfig mode, with the same output: these functions
fetch the Application dicts the server answers (Argo CD's shapes) and hand them to
the printers in :mod:`gitward.cli.app_view`, which the kubeconfig path uses too.
A sync or rollback asks the server to record the operation (``initiatedBy`` is the
caller) and waits for the controller to run it: the server never syncs itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import Any
from urllib.parse import quote

from gitward import diff as diffing
from gitward.apiclient import ApiClient
from gitward.model.application import split_qualified
from gitward.model.errors import ConfigError, GitwardError

Obj = dict[str, Any]

TERMINAL = ("Succeeded", "Failed", "Error")
PAGE = "500"


class OperationTimeout(GitwardError):
    """The controller did not finish the operation in time."""


def app_path(name: str, namespace: str) -> tuple[str, dict[str, str]]:
    """The path of app ``name`` (``NS/NAME`` for another namespace) and its query."""
    app_namespace, plain = split_qualified(name, namespace)
    params = {"appNamespace": app_namespace} if app_namespace != namespace else {}
    return f"/api/v1/applications/{quote(plain, safe='')}", params


async def list_apps(client: ApiClient) -> list[Obj]:
    """Every Application the caller may see, page by page."""
    apps: list[Obj] = []
    token = ""
    while True:
        params = {"limit": PAGE, **({"continue": token} if token else {})}
        answer = await client.get("/api/v1/applications", **params)
        apps += list(answer.get("items") or [])
        token = str((answer.get("metadata") or {}).get("continue") or "")
        if not token:
            return apps


async def get_app(client: ApiClient, name: str, namespace: str, refresh: str = "") -> Obj:
    path, params = app_path(name, namespace)
    if refresh:
        params["refresh"] = refresh
    answer: Obj = await client.get(path, **params)
    return answer


def sync_body(
    *,
    revision: str | None,
    prune: bool,
    dry_run: bool,
    force: bool,
    resources: list[tuple[str, str, str]] | None,
    sync_options: list[str],
    retry: Obj | None,
) -> Obj:
    """Argo CD's ``ApplicationSyncRequest`` for the flags of ``app sync``."""
    body: Obj = {"prune": prune, "dryRun": dry_run}
    if revision:
        body["revision"] = revision
    if force:
        body["strategy"] = {"apply": {"force": True}}
    if resources:
        body["resources"] = [{"group": g, "kind": k, "name": n} for g, k, n in resources]
    if sync_options:
        body["syncOptions"] = {"items": sync_options}
    if retry:
        body["retryStrategy"] = retry
    return body


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def wait_for_operation(
    client: ApiClient, name: str, namespace: str, since: str, timeout: float
) -> Obj:
    """The app once the operation started at or after ``since`` has finished."""
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        obj = await get_app(client, name, namespace)
        state = (obj.get("status") or {}).get("operationState") or {}
        finished = str(state.get("startedAt") or "") >= since and state.get("phase") in TERMINAL
        if finished and not obj.get("operation"):
            return obj
        if time.monotonic() > deadline:
            raise OperationTimeout(
                f"timed out after {timeout:.0f} s waiting for the controller to run the "
                f"operation of application {name!r} (phase {state.get('phase') or 'none'})"
            )
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 2.0)


async def sync(client: ApiClient, name: str, namespace: str, body: Obj, timeout: float) -> Obj:
    """Ask for a sync and return the app when the controller has run it."""
    since = _now()
    path, params = app_path(name, namespace)
    await client.request("POST", f"{path}/sync", params=params or None, body=body)
    return await wait_for_operation(client, name, namespace, since, timeout)


async def disable_automated(client: ApiClient, name: str, namespace: str) -> None:
    path, params = app_path(name, namespace)
    patch = {
        "patch": json.dumps({"spec": {"syncPolicy": {"automated": None}}}),
        "patchType": "merge",
    }
    await client.request("PATCH", path, params=params or None, body=patch)


async def rollback(
    client: ApiClient, name: str, namespace: str, history_id: int, prune: bool, timeout: float
) -> Obj:
    since = _now()
    path, params = app_path(name, namespace)
    body = {"id": history_id, "prune": prune}
    await client.request("POST", f"{path}/rollback", params=params or None, body=body)
    return await wait_for_operation(client, name, namespace, since, timeout)


def health_by_key(app: Obj) -> dict[tuple[str, str, str, str], str]:
    """Health of each resource of the app's status, by (group, kind, namespace, name)."""
    found = {}
    for r in (app.get("status") or {}).get("resources") or []:
        key = (r.get("group", ""), r.get("kind", ""), r.get("namespace", ""), r.get("name", ""))
        found[key] = str((r.get("health") or {}).get("status") or "")
    return found


async def diffs(client: ApiClient, name: str, namespace: str) -> list[tuple[str, str]]:
    """(label, unified diff) of every resource that differs, as kubeconfig mode prints them."""
    path, params = app_path(name, namespace)
    answer = await client.get(f"{path}/managed-resources", **params)
    found = []
    for item in answer.get("items") or []:
        if item.get("hook"):
            continue
        label = (
            f"{item.get('group', '')}/{item.get('kind', '')} "
            f"{item.get('namespace', '')}/{item.get('name', '')}"
        )
        if item.get("diff"):
            found.append((label, str(item["diff"])))
        elif item.get("normalizedLiveState") and not item.get("targetState"):
            try:
                live = json.loads(item["normalizedLiveState"])
            except ValueError:
                raise ConfigError(
                    f"{label}: the server sent a live state that is not JSON"
                ) from None
            text = diffing.unified(diffing.ResourceDiff(True, live=live, target=None), label)
            found.append((label, text))
    return found
