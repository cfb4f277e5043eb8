"""Delivery records kept durably: one ConfigMap per Application in gitward's namespace.

``gitward-dora-<digest>`` (the digest of ``namespace/name``, so any app name fits),
labelled with the app, holding ``record.json``. Written with the resourceVersion it was
read at: two replicas recording at once cannot lose each other's entry — the loser
reads again and re-applies. A record survives a controller restart, and a deleted
Application's record stays until its ConfigMap is deleted (an ownerReference to the
Application makes Kubernetes do that with the app).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from typing import Any

from gitward._util.hashing import digest_of
from gitward.cluster import Conflict, KubeClient, NotFound
from gitward.dora.records import Record
from gitward.model.kinds import API_VERSION, APPLICATION

LABEL = "gitward.io/dora-record"
APP_LABEL = "gitward.io/application"
KEY = "record.json"
ATTEMPTS = 20


def configmap_name(app_namespace: str, app_name: str) -> str:
    return f"gitward-dora-{digest_of([app_namespace, app_name], 20)}"


def parse(cm: dict[str, Any]) -> Record:
    raw = (cm.get("data") or {}).get(KEY) or "{}"
    name = cm["metadata"]["name"]
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        data = None
    return Record.from_dict(data if data is not None else {}, f"ConfigMap {name}")


async def load(client: KubeClient, namespace: str, app_namespace: str, app_name: str) -> Record:
    try:
        cm = await client.get("v1", "ConfigMap", configmap_name(app_namespace, app_name), namespace)
    except NotFound:
        return Record()
    return parse(cm)


async def load_all(client: KubeClient, namespace: str) -> dict[str, Record]:
    """Every app's record, keyed ``namespace/name``."""
    return {app: parse(cm) for app, cm in (await load_all_configmaps(client, namespace)).items()}


async def load_all_configmaps(client: KubeClient, namespace: str) -> dict[str, dict[str, Any]]:
    """Every app's record ConfigMap as stored, keyed ``namespace/name``."""
    out = {}
    for cm in await client.list("v1", "ConfigMap", namespace, f"{LABEL}=true"):
        app = (cm["metadata"].get("annotations") or {}).get(APP_LABEL, "")
        if app:
            # Items of a list carry no apiVersion or kind; a later replace needs both.
            out[app] = {**cm, "apiVersion": "v1", "kind": "ConfigMap"}
    return out


#: ``known`` for :func:`update` when the caller knows the app has no record yet.
ABSENT: dict[str, Any] = {}


async def update(
    client: KubeClient,
    namespace: str,
    app: dict[str, Any],
    change: Callable[[Record], bool],
    known: dict[str, Any] | None = None,
) -> tuple[Record, dict[str, Any] | None]:
    """Apply ``change`` to the app's record and store it, unless it reports no change.

    Returns the record and its ConfigMap as stored. ``known`` (the ConfigMap as last
    stored, or :data:`ABSENT`) saves the first read: a writer that keeps every record
    in memory writes once per change; a stale copy only costs a Conflict and a read.
    """
    meta = app["metadata"]
    app_ns, app_name = meta.get("namespace", namespace), meta["name"]
    name = configmap_name(app_ns, app_name)
    for _ in range(ATTEMPTS):
        cm: dict[str, Any] | None
        if known is not None:
            cm, known = (known or None), None
        else:
            try:
                cm = await client.get("v1", "ConfigMap", name, namespace)
            except NotFound:
                cm = None
        record = parse(cm) if cm is not None else Record()
        if not change(record):
            return record, cm
        text = json.dumps(record.to_dict(), separators=(",", ":"))
        try:
            if cm is None:
                owner = {
                    "apiVersion": app.get("apiVersion", API_VERSION),
                    "kind": APPLICATION,
                    "name": app_name,
                    "uid": meta.get("uid", ""),
                }
                stored = await client.create(
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {
                            "name": name,
                            "namespace": namespace,
                            "labels": {LABEL: "true"},
                            "annotations": {APP_LABEL: f"{app_ns}/{app_name}"},
                            **(
                                {"ownerReferences": [owner]}
                                if owner["uid"] and app_ns == namespace
                                else {}
                            ),
                        },
                        "data": {KEY: text},
                    }
                )
            else:
                cm["data"] = {**(cm.get("data") or {}), KEY: text}
                stored = await client.replace(cm)
            return record, stored
        except Conflict:  # someone else wrote meanwhile (or created it): read again
            await asyncio.sleep(random.uniform(0, 0.05))  # noqa: S311 - jitter only
    raise Conflict(
        409, f"still changing after {ATTEMPTS} attempts", f"ConfigMap {namespace}/{name}"
    )
