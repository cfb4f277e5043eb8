"""An Application in a create, update or patch body, reduced to what a caller may set.

Only ``metadata.name``, ``namespace``, ``labels``, ``annotations``, ``finalizers`` and
``spec`` are taken; ``status``, ``operation`` and every other field are dropped, so a
body can never start an operation or forge a status. The spec is read by the same
parser the controller uses; every refusal is an
:class:`~gitward.server.errors.InvalidArgument` naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gitward.model.application import parse_application
from gitward.model.errors import GitwardError
from gitward.model.kinds import API_VERSION
from gitward.server.errors import InvalidArgument

Obj = dict[str, Any]
MAX_NAME = 253


def check_name(name: object, field: str = "name") -> str:
    """A name that can only ever name one object: a string, no slash, not too long."""
    if not isinstance(name, str) or not name or len(name) > MAX_NAME or "/" in name:
        raise InvalidArgument(f"{field}: not a valid application name")
    return name


def _string_map(meta: Obj, key: str) -> dict[str, str] | None:
    value = meta.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidArgument(f"metadata.{key}: expected a map of strings")
    return value


def application_from(
    body: Any, namespace_for: Callable[[str], str], field: str = "body", *, parse: bool = True
) -> Obj:
    """The Application ``body`` describes. ``namespace_for`` turns the body's namespace
    ("" when absent) into the one to use, refusing a namespace the server does not serve.
    Without ``parse`` the spec is not read yet (RBAC is checked first)."""
    if not isinstance(body, dict):
        raise InvalidArgument(f"{field}: expected an Application object")
    meta = body.get("metadata")
    if not isinstance(meta, dict):
        raise InvalidArgument(f"{field}: metadata: required")
    name = check_name(meta.get("name"), "metadata.name")
    namespace = meta.get("namespace") or ""
    if not isinstance(namespace, str):
        raise InvalidArgument("metadata.namespace: expected a string")
    kept: Obj = {"name": name, "namespace": namespace_for(namespace)}
    for key in ("labels", "annotations"):
        value = _string_map(meta, key)
        if value is not None:
            kept[key] = value
    finalizers = meta.get("finalizers")
    if finalizers is not None:
        if not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers):
            raise InvalidArgument("metadata.finalizers: expected a list of strings")
        kept["finalizers"] = finalizers
    obj: Obj = {"apiVersion": API_VERSION, "kind": "Application", "metadata": kept}
    obj["spec"] = body.get("spec")
    if parse:
        check_application(obj)
    return obj


def check_application(obj: Obj) -> None:
    """Refuse ``obj`` unless the controller's parser accepts it."""
    meta = obj["metadata"]
    try:
        parse_application(obj, f"application {meta['namespace']}/{meta['name']}")
    except GitwardError as exc:
        raise InvalidArgument(str(exc)) from None
