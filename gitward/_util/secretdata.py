"""The string fields of a Kubernetes Secret, as the API server would expose them."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any


class SecretDataError(ValueError):
    """A Secret's data is not a mapping of base64 text; the message names the field."""


def secret_fields(secret: Mapping[str, Any]) -> dict[str, str]:
    """``data`` (base64-decoded) overlaid with ``stringData``, every value a string.

    Callers wrap :class:`SecretDataError` in their own error type, prefixed with
    the Secret's name; values never appear in the message.
    """
    fields: dict[str, str] = {}
    data = secret.get("data") or {}
    if not isinstance(data, Mapping):
        raise SecretDataError("data: expected a mapping")
    for key, value in data.items():
        try:
            fields[str(key)] = base64.b64decode(str(value), validate=True).decode()
        except (ValueError, UnicodeDecodeError):  # binascii.Error; or non-ASCII text
            raise SecretDataError(f"data.{key}: not valid base64 text") from None
    string_data = secret.get("stringData") or {}
    if not isinstance(string_data, Mapping):
        raise SecretDataError("stringData: expected a mapping")
    fields.update({str(k): str(v) for k, v in string_data.items()})
    return fields
