"""Reading and writing ``argocd-cm`` / ``argocd-secret`` for the auth layer.

Every request's token is checked against the account's current state (enabled,
``passwordMtime``, the API keys still recorded), so the settings are read through a
cache with a short time to live: a change made elsewhere (``kubectl edit``, another
server replica) is seen within :attr:`SettingsStore.ttl` seconds, and a change made by
this server is seen at once (a write drops the cache).

Writes to ``argocd-secret`` are read-modify-write guarded by the resourceVersion
read, and made again on a Conflict: two replicas revoking two keys at once both win.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from typing import Any

from gitward._util.secretdata import encode_fields, secret_object
from gitward.cluster import KubeClient, NotFound
from gitward.cluster.errors import Conflict
from gitward.model.errors import ConfigError
from gitward.server.auth.accounts import CM_NAME, SECRET_NAME, AuthSettings, parse_settings

Obj = dict[str, Any]
ATTEMPTS = 5
PART_OF = {"app.kubernetes.io/part-of": "argocd"}
#: A function that changes the Secret's decoded string data in place; returns False
#: when there is nothing to write.
SecretEdit = Callable[[dict[str, str]], bool]


def decode_data(secret: Obj) -> dict[str, str]:
    out = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[str(key)] = base64.b64decode(str(value), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            continue  # kept as stored by edit_secret, never rewritten
    return out


class SettingsStore:
    """The auth settings of one control namespace, cached for ``ttl`` seconds."""

    def __init__(self, client: KubeClient, namespace: str, ttl: float = 2.0) -> None:
        self.client = client
        self.namespace = namespace
        self.ttl = ttl
        self._cached: AuthSettings | None = None
        self._read_at = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._cached = None

    async def _get(self, kind: str, name: str) -> Obj | None:
        try:
            return await self.client.get("v1", kind, name, self.namespace)
        except NotFound:
            return None

    async def settings(self) -> AuthSettings:
        """The current settings (at most ``ttl`` seconds old)."""
        cached = self._cached
        if cached is not None and time.monotonic() - self._read_at < self.ttl:
            return cached
        async with self._lock:
            if self._cached is not None and time.monotonic() - self._read_at < self.ttl:
                return self._cached
            cm, secret = await asyncio.gather(
                self._get("ConfigMap", CM_NAME), self._get("Secret", SECRET_NAME)
            )
            settings = parse_settings(cm, secret)
            self._cached, self._read_at = settings, time.monotonic()
            return settings

    async def edit_secret(self, edit: SecretEdit, *, create: bool = True) -> bool:
        """Apply ``edit`` to ``argocd-secret``'s data and write it, guarded by resourceVersion.

        Returns whether anything was written. A Secret created meanwhile by someone
        else, or changed between read and write, makes the edit run again on the fresh
        object, so ``edit`` must decide from what it is given.
        """
        try:
            for _ in range(ATTEMPTS):
                secret = await self._get("Secret", SECRET_NAME)
                fields = decode_data(secret) if secret else {}
                if not edit(fields):
                    return False
                try:
                    if secret is None:
                        if not create:
                            return False
                        await self.client.create(new_secret(SECRET_NAME, self.namespace, fields))
                    else:
                        raw = dict(secret.get("data") or {})
                        kept = {k: v for k, v in raw.items() if k not in decode_data(secret)}
                        await self.client.replace(
                            {**secret, "data": {**kept, **encode_fields(fields)}}
                        )
                except Conflict:
                    continue
                return True
            raise ConfigError(
                f"{SECRET_NAME} was changed by someone else {ATTEMPTS} times during this "
                "write; nothing was written, try again"
            )
        finally:
            self.invalidate()


def new_secret(name: str, namespace: str, fields: dict[str, str], type_: str = "Opaque") -> Obj:
    """A Secret of the server's own (settings, initial password, certificate) holding
    ``fields``: labelled as part of Argo CD, as Argo CD labels ``argocd-secret``."""
    return secret_object(name, namespace, fields, labels=PART_OF, type_=type_)
