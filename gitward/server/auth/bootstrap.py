"""The server's first start: a signing key and an initial admin password, like Argo CD.

When ``argocd-secret`` has no ``server.secretkey``, a random 32-byte key is written;
when it has no ``admin.password``, a random password is written bcrypt-hashed (with
``admin.passwordMtime``) and, in clear, to the Secret ``argocd-initial-admin-secret``
key ``password``, where the operator reads it once (and should delete it).

Two replicas starting together must agree on one password: the clear copy is created
first (a create fails if it exists, so one replica wins and the other adopts the
winner's password), then the hash is written with a resourceVersion-guarded update that
only ever fills an absent key.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time

from gitward.cluster import KubeClient, NotFound
from gitward.cluster.errors import Conflict
from gitward.server.auth.accounts import SECRET_KEY, format_mtime
from gitward.server.auth.passwords import COST, generate_password
from gitward.server.auth.store import SettingsStore, decode_data, new_secret

INITIAL_SECRET = "argocd-initial-admin-secret"  # noqa: S105 - a name


async def _initial_password(client: KubeClient, namespace: str) -> str:
    """The password in ``argocd-initial-admin-secret``, creating it when absent."""
    candidate = generate_password()
    try:
        await client.create(new_secret(INITIAL_SECRET, namespace, {"password": candidate}))
        return candidate
    except Conflict:
        pass  # another replica created it first: use its password
    existing = await client.get("v1", "Secret", INITIAL_SECRET, namespace)
    return decode_data(existing).get("password", "") or candidate


async def ensure_initial_settings(client: KubeClient, namespace: str) -> bool:
    """Fill in ``server.secretkey`` and the admin password when absent; whether anything was."""
    import bcrypt

    store = SettingsStore(client, namespace, ttl=0)
    try:
        secret = await client.get("v1", "Secret", "argocd-secret", namespace)
        fields = decode_data(secret)
    except NotFound:
        fields = {}
    password_hash = ""
    if not fields.get("admin.password"):
        password = await _initial_password(client, namespace)
        password_hash = (
            await asyncio.to_thread(bcrypt.hashpw, password.encode(), bcrypt.gensalt(COST))
        ).decode()
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    mtime = format_mtime(time.time())

    def fill(data: dict[str, str]) -> bool:
        changed = False
        if not data.get(SECRET_KEY):
            data[SECRET_KEY] = key
            changed = True
        if password_hash and not data.get("admin.password"):
            data["admin.password"] = password_hash
            data["admin.passwordMtime"] = mtime
            changed = True
        return changed

    return await store.edit_secret(fill)
