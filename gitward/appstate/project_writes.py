"""Writing AppProjects: create, edit and delete them the way Argo CD's project API does.

Every write reads the object, changes it, checks the *whole* result with
:func:`~gitward.projects.validate.validate_project` and only then writes it, with the
resourceVersion it was read at: a bad cron, time zone or glob is an error naming the
field and nothing is written, and an edit made meanwhile by someone else is never
overwritten — the write fails with Conflict and is made again on the fresh object (a few
times). An edit that changes nothing writes nothing.

A project is not deleted while an Application in the namespace still uses it (its
``spec.project``, empty meaning ``default``), as Argo CD refuses; nor is ``default``
itself, because without the object gitward (like Argo CD) falls back to a built-in
``default`` that permits everything — deleting a narrowed ``default`` would widen it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gitward.cluster import KubeClient, NotFound
from gitward.cluster.errors import Conflict
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION, APP_PROJECT, APPLICATION
from gitward.model.project import DEFAULT_PROJECT
from gitward.projects.edit import Change
from gitward.projects.validate import validate_project

Obj = dict[str, Any]

#: How many times an edit is made again after a Conflict (someone else wrote in between).
ATTEMPTS = 5


def _not_found(name: str, namespace: str) -> ConfigError:
    return ConfigError(f"project {name!r} not found in namespace {namespace!r}")


async def read_project(client: KubeClient, name: str, namespace: str) -> Obj:
    """The stored AppProject object; a ConfigError when there is none."""
    try:
        return await client.get(API_VERSION, APP_PROJECT, name, namespace)
    except NotFound:
        raise _not_found(name, namespace) from None


def _conflicted(name: str) -> ConfigError:
    return ConfigError(
        f"project {name!r} was changed by someone else {ATTEMPTS} times while this edit was "
        "being made; nothing was written, try again"
    )


async def create_project(client: KubeClient, obj: Obj, *, upsert: bool) -> str:
    """Create ``obj``; ``created``, ``unchanged`` or (with ``upsert``) ``updated``.

    An existing project with a different spec is refused unless ``upsert``; then its
    spec is replaced and its metadata (labels, annotations, finalizers) kept.
    """
    validate_project(obj)
    meta = obj["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    for _ in range(ATTEMPTS):
        try:
            existing = await client.get(API_VERSION, APP_PROJECT, name, namespace)
        except NotFound:
            try:
                await client.create(obj)
            except Conflict:  # created meanwhile: compare with that one
                continue
            return "created"
        if (existing.get("spec") or {}) == (obj.get("spec") or {}):
            return "unchanged"
        if not upsert:
            raise ConfigError(
                f"project {name!r} already exists in namespace {namespace!r} with a different "
                "spec; use --upsert to replace it"
            )
        try:
            await client.replace({**existing, "spec": obj.get("spec") or {}})
        except Conflict:
            continue
        return "updated"
    raise _conflicted(name)


async def update_project(
    client: KubeClient, name: str, namespace: str, edit: Callable[[Obj], Change]
) -> Change:
    """Read the project, apply ``edit`` to its spec, validate, write; the edit's Change.

    ``edit`` is called again on the fresh object after a Conflict, so it must be pure.
    """
    for _ in range(ATTEMPTS):
        obj = await read_project(client, name, namespace)
        spec = obj.get("spec")
        change = edit(spec if isinstance(spec, dict) else {})
        if not change.changed:
            return change
        new = {**obj, "spec": change.spec}
        validate_project(new)
        try:
            await client.replace(new)
        except Conflict:
            continue
        return change
    raise _conflicted(name)


def project_of(app: Obj) -> str:
    """The project an Application object uses (empty: ``default``)."""
    spec = app.get("spec")
    project = spec.get("project") if isinstance(spec, dict) else None
    return str(project or DEFAULT_PROJECT)


async def apps_using(client: KubeClient, name: str, namespace: str) -> list[str]:
    """Names of the Applications in ``namespace`` whose project is ``name``, sorted."""
    apps = await client.list(API_VERSION, APPLICATION, namespace)
    return sorted(str(a["metadata"]["name"]) for a in apps if project_of(a) == name)


async def delete_project(client: KubeClient, name: str, namespace: str) -> None:
    """Delete the project, unless it is ``default`` or an Application still uses it."""
    if name == DEFAULT_PROJECT:
        raise ConfigError(
            "project 'default' cannot be deleted: without it gitward, like Argo CD, uses a "
            "built-in default project that permits everything; narrow it instead"
        )
    await read_project(client, name, namespace)
    users = await apps_using(client, name, namespace)
    if users:
        shown = ", ".join(users[:10]) + (f" and {len(users) - 10} more" if len(users) > 10 else "")
        raise ConfigError(
            f"project {name!r} is referenced by {len(users)} application(s) in namespace "
            f"{namespace!r} ({shown}); delete them or move them to another project first"
        )
    try:
        await client.delete(API_VERSION, APP_PROJECT, name, namespace, "Background")
    except NotFound:
        raise _not_found(name, namespace) from None
