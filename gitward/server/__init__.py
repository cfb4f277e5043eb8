"""HTTP faces of gitward: the API server (``app.py``, ``api/``, ``auth/``) and the
controller's webhook, metrics and health endpoints.

Layer 8: uses the composition root and everything below; the CLI starts it.
"""

from gitward.server.http import MAX_PAYLOAD_BYTES, ControllerServer
from gitward.server.webhook import Push, WebhookSecrets, matches, parse_push, verify

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "ControllerServer",
    "Push",
    "WebhookSecrets",
    "matches",
    "parse_push",
    "verify",
]
