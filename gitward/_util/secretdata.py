"""A Kubernetes Secret's string fields: read as the API server would expose them, and
built into a Secret object.

One builder serves every Secret gitward writes (Argo CD's repository and cluster Secrets,
the server's own settings, initial password and certificate), so they are encoded alike
and differ only in what the caller says: labels, annotations and type.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

Obj = dict[str, Any]


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


def encode_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """``fields`` as a Secret's ``data``: each value's UTF-8 bytes in base64."""
    return {k: base64.b64encode(v.encode()).decode() for k, v in fields.items()}


def secret_object(
    name: str,
    namespace: str,
    fields: Mapping[str, str],
    *,
    labels: Mapping[str, str],
    annotations: Mapping[str, str] | None = None,
    type_: str = "Opaque",
) -> Obj:
    """A Secret holding ``fields`` (plain text, base64-encoded here) under ``labels``.

    ``annotations`` are left out of the object when none are given, so a Secret that
    never had any is written without the key (server-side apply would own an empty map).
    """
    metadata: Obj = {"name": name, "namespace": namespace, "labels": dict(labels)}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": type_,
        "metadata": metadata,
        "data": encode_fields(fields),
    }
