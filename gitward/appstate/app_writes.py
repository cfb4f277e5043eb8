"""Writing Applications the way ``app create``, ``app set`` and ``app rollback`` do.

Each write validates the whole Application first (so nothing unparsable is
stored) and says what it did as one line for its caller to print. Creating an
app that exists with the same spec is not an error (scripts re-run ``create``);
a different spec is, unless ``upsert`` asks to replace it, and the replacement
keeps the stored object's metadata and status.
"""

from __future__ import annotations

from typing import Any

from gitward.cluster import KubeClient, NotFound
from gitward.model.app_edit import SpecEdit, edited_spec
from gitward.model.application import load_applications, parse_application, split_qualified
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION, APPLICATION

Obj = dict[str, Any]


async def get_app(client: KubeClient, name: str, namespace: str) -> Obj:
    """The Application ``name``: ``NAME`` in ``namespace``, or ``NS/NAME`` in another one."""
    app_namespace, plain = split_qualified(name, namespace)
    try:
        return await client.get(API_VERSION, APPLICATION, plain, app_namespace)
    except NotFound:
        raise ConfigError(
            f"application {plain!r} not found in namespace {app_namespace!r}"
        ) from None


def where(obj: Obj) -> tuple[str, str]:
    """(name, namespace) of a stored Application, for requests about that very object."""
    meta = obj["metadata"]
    return str(meta["name"]), str(meta.get("namespace") or "")


def applications_in_file(text: str, filename: str, namespace: str) -> list[Obj]:
    """Every Application in a file, validated, its namespace defaulted to ``namespace``."""
    objects = []
    for parsed in load_applications(text, filename):
        obj = dict(parsed.raw)
        obj["metadata"] = {
            **obj["metadata"],
            "namespace": parsed.raw["metadata"].get("namespace") or namespace,
        }
        objects.append(obj)
    return objects


async def create_or_update(client: KubeClient, obj: Obj, *, upsert: bool) -> str:
    """Store ``obj``: created, unchanged (same spec) or, with ``upsert``, updated."""
    meta = obj["metadata"]
    try:
        existing = await client.get(API_VERSION, APPLICATION, meta["name"], meta["namespace"])
    except NotFound:
        existing = None
    if existing is not None and not upsert:
        if existing.get("spec") == obj.get("spec"):
            return f"application '{meta['name']}' unchanged"
        raise ConfigError(
            f"application {meta['name']!r} exists in {meta['namespace']!r} with a "
            "different spec; use --upsert to replace it"
        )
    if existing is not None:
        await client.replace({**existing, "spec": obj["spec"]})
        return f"application '{meta['name']}' updated"
    await client.create(obj)
    return f"application '{meta['name']}' created"


async def set_spec(client: KubeClient, name: str, namespace: str, edit: SpecEdit) -> Obj:
    """Apply ``edit`` to the stored app's spec; the result must parse before it is stored.

    The replace carries the resourceVersion read, so a concurrent change fails with
    Conflict instead of being overwritten.
    """
    obj = await get_app(client, name, namespace)
    updated = {**obj, "spec": edited_spec(obj.get("spec") or {}, edit)}
    parse_application(updated, f"application {name}")
    return await client.replace(updated)


async def disable_automated(client: KubeClient, obj: Obj) -> Obj | None:
    """Turn automated sync off (the rollback rule); the app as stored, None if it was off."""
    automated = ((obj.get("spec") or {}).get("syncPolicy") or {}).get("automated")
    if automated is None:
        return None
    return await client.patch(
        API_VERSION, APPLICATION, *where(obj), {"spec": {"syncPolicy": {"automated": None}}}
    )
