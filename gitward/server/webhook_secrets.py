"""argocd-secret's webhook secrets, read at most once every ``SECRETS_TTL`` seconds.

The controller's ``/api/webhook`` and the API server's read them the same way: a
push flood costs one GET per TTL, and a secret added or rotated is in force within
the TTL.
"""

from __future__ import annotations

import logging
import time

from gitward._util.secretdata import SecretDataError, secret_fields
from gitward.cluster import KubeClient, NotFound
from gitward.model.errors import ConfigError
from gitward.server.webhook import WebhookSecrets

log = logging.getLogger("gitward.server")

SECRETS_TTL = 30.0


class WebhookSecretReader:
    def __init__(self, client: KubeClient, namespace: str, ttl: float = SECRETS_TTL) -> None:
        self.client = client
        self.namespace = namespace
        self.ttl = ttl
        self._cached: tuple[float, WebhookSecrets] | None = None
        self._warned = False

    async def get(self) -> WebhookSecrets:
        """The secrets; ConfigError when argocd-secret holds data that is not base64."""
        now = time.monotonic()
        if self._cached is not None and self._cached[0] > now:
            return self._cached[1]
        try:
            secret = await self.client.get("v1", "Secret", "argocd-secret", self.namespace)
            secrets = WebhookSecrets.from_fields(secret_fields(secret))
        except NotFound:
            secrets = WebhookSecrets()
        except SecretDataError as exc:
            raise ConfigError(f"Secret {self.namespace}/argocd-secret: {exc}") from None
        if not secrets.any and not self._warned:
            self._warned = True
            log.warning("webhooks are accepted unverified: argocd-secret sets no webhook secret")
        self._cached = (now + self.ttl, secrets)
        return secrets
