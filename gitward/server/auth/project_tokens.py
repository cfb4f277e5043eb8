"""Recording and revoking project role tokens in the AppProject, as Argo CD does.

A token of role ``ROLE`` in project ``P`` is recorded twice, as Argo CD records it:
in ``spec.roles[ROLE].jwtTokens`` and in ``status.jwtTokensByRole[ROLE].items``, each
entry ``{iat, exp, id}``. A token is valid while either records it, so revoking removes
it from both. Both writes carry the resourceVersion they read (status is a
subresource, written after the spec) and are made again on a Conflict, so two
concurrent revocations never resurrect each other's token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gitward.cluster import KubeClient, NotFound
from gitward.cluster.errors import Conflict
from gitward.model.kinds import API_VERSION
from gitward.server.errors import FailedPrecondition, NotFoundError, Unavailable

Obj = dict[str, Any]
ATTEMPTS = 5
#: Most tokens one role may hold.
MAX_TOKENS = 1000
#: Edits a token list; returns the new list, or None when there is nothing to write.
ListEdit = Callable[[list[Obj]], list[Obj] | None]


async def read_project(client: KubeClient, namespace: str, project: str) -> Obj:
    try:
        return await client.get(API_VERSION, "AppProject", project, namespace)
    except NotFound:
        raise NotFoundError(f'appprojects.argoproj.io "{project}" not found') from None


def _role_index(obj: Obj, role: str) -> int:
    roles = (obj.get("spec") or {}).get("roles") or []
    for i, item in enumerate(roles if isinstance(roles, list) else []):
        if isinstance(item, dict) and item.get("name") == role:
            return i
    name = (obj.get("metadata") or {}).get("name")
    raise NotFoundError(f"project '{name}' does not have role '{role}'")


def _tokens(value: Any) -> list[Obj]:
    return [t for t in value if isinstance(t, dict)] if isinstance(value, list) else []


async def _edit(
    client: KubeClient, namespace: str, project: str, role: str, edit: ListEdit
) -> bool:
    changed = False
    for _ in range(ATTEMPTS):
        obj = await read_project(client, namespace, project)
        index = _role_index(obj, role)
        spec_role = obj["spec"]["roles"][index]
        new = edit(_tokens(spec_role.get("jwtTokens")))
        if new is None:
            break
        if len(new) > MAX_TOKENS:
            raise FailedPrecondition(f"role '{role}' holds more than {MAX_TOKENS} tokens")
        spec_role["jwtTokens"] = new
        try:
            await client.replace(obj)
        except Conflict:
            continue
        changed = True
        break
    else:
        raise Unavailable(f"project '{project}' kept changing during this write; try again")
    for _ in range(ATTEMPTS):
        obj = await read_project(client, namespace, project)
        status = obj.setdefault("status", {}) if isinstance(obj.get("status"), dict) else {}
        obj["status"] = status
        by_role = status.get("jwtTokensByRole")
        if not isinstance(by_role, dict):
            by_role = status["jwtTokensByRole"] = {}
        entry = by_role.get(role) if isinstance(by_role.get(role), dict) else {}
        new = edit(_tokens(entry.get("items") if entry else None))
        if new is None:
            return changed
        by_role[role] = {"items": new}
        try:
            await client.replace(obj, subresource="status")
        except Conflict:
            continue
        return True
    raise Unavailable(f"project '{project}' kept changing during this write; try again")


async def record_token(
    client: KubeClient, namespace: str, project: str, role: str, record: Obj
) -> None:
    """Add ``record`` (``{iat, exp, id}``) to the role's tokens."""

    def add(tokens: list[Obj]) -> list[Obj] | None:
        if any(t.get("id") == record.get("id") for t in tokens if record.get("id")):
            return None
        return [*tokens, record]

    await _edit(client, namespace, project, role, add)


async def revoke_token(
    client: KubeClient, namespace: str, project: str, role: str, iat: int, token_id: str = ""
) -> bool:
    """Remove the role's token issued at ``iat`` (and with ``token_id`` when given)."""

    def matches(t: Obj) -> bool:
        if token_id:
            return t.get("id") == token_id
        return t.get("iat") == iat

    def remove(tokens: list[Obj]) -> list[Obj] | None:
        kept = [t for t in tokens if not matches(t)]
        return kept if len(kept) != len(tokens) else None

    return await _edit(client, namespace, project, role, remove)


async def ensure_role(client: KubeClient, namespace: str, project: str, role: str) -> Obj:
    """The project object, if it has ``role``; else NotFoundError."""
    obj = await read_project(client, namespace, project)
    _role_index(obj, role)
    return obj
