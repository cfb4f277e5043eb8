"""``gitward proj`` writes through a gitward server: the same edits, the same lines printed.

The edits are the pure functions of :mod:`gitward.projects.edit`, applied here to the
project the server answers and checked whole with
:func:`~gitward.projects.validate.validate_project` before anything is sent, as
:mod:`gitward.appstate.project_writes` does with a kubeconfig. The update carries the
resourceVersion it was read at, so an edit made meanwhile by someone else makes the
server answer Conflict and the edit is made again on the fresh project.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from gitward.apiclient import ApiClient
from gitward.apiclient.errors import FailedPrecondition, NotFound
from gitward.model.errors import ConfigError
from gitward.projects.edit import Change
from gitward.projects.validate import validate_project

Obj = dict[str, Any]

#: How many times an edit is made again after a Conflict, as with a kubeconfig.
ATTEMPTS = 5


def project_path(name: str) -> str:
    return f"/api/v1/projects/{quote(name, safe='')}"


def _not_found(name: str, namespace: str) -> ConfigError:
    return ConfigError(f"project {name!r} not found in namespace {namespace!r}")


async def read(client: ApiClient, name: str, namespace: str) -> Obj:
    """The project as the server has it; the kubeconfig path's error when there is none."""
    try:
        answer: Obj = await client.get(project_path(name))
    except NotFound:
        raise _not_found(name, namespace) from None
    return answer


async def update(
    client: ApiClient, name: str, namespace: str, edit: Callable[[Obj], Change]
) -> Change:
    """Read, edit, validate and send one project; the edit's Change (nothing sent if none)."""
    for _ in range(ATTEMPTS):
        obj = await read(client, name, namespace)
        spec = obj.get("spec")
        change = edit(spec if isinstance(spec, dict) else {})
        if not change.changed:
            return change
        new = {**obj, "spec": change.spec}
        validate_project(new)
        try:
            await client.put(project_path(name), {"project": new})
        except FailedPrecondition as exc:
            if "modified" not in str(exc) and "conflict" not in str(exc).lower():
                raise
            continue
        return change
    raise ConfigError(
        f"project {name!r} was changed by someone else {ATTEMPTS} times while this edit was "
        "being made; nothing was written, try again"
    )


async def create(client: ApiClient, obj: Obj, *, upsert: bool) -> str:
    """Create ``obj``; ``created``, ``unchanged`` or (with ``upsert``) ``updated``."""
    validate_project(obj)
    name = str(obj["metadata"]["name"])
    try:
        existing: Obj | None = await client.get(project_path(name))
    except NotFound:
        existing = None
    if existing is not None and (existing.get("spec") or {}) == (obj.get("spec") or {}):
        return "unchanged"
    await client.post("/api/v1/projects", {"project": obj, "upsert": upsert})
    return "created" if existing is None else "updated"


async def delete(client: ApiClient, name: str, namespace: str) -> None:
    """Delete the project; the server refuses ``default`` and a project still in use."""
    try:
        await client.delete(project_path(name))
    except NotFound:
        raise _not_found(name, namespace) from None
