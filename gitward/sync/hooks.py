"""Which operation a hook object belongs to, and the name a ``generateName`` hook gets.

A step creates a hook and then records it; a process that dies between the
two leaves a hook the record does not know. The next step must find that
object again instead of creating a second one, so every hook gitward creates
carries the attempt it belongs to (:data:`OWNER`: the operation's id from
the lock, the retry count, the sync phase and wave), and a hook declared
with ``generateName`` gets a name derived from that and its own identity
rather than one the API server makes up. A second create of the same hook
then meets AlreadyExists and finds the first one, which it adopts only when
its :data:`OWNER` annotation names this very attempt: an object of that name
made by anyone else is an error naming it, never taken over.

The same mark keeps termination honest: a terminated operation deletes only
running hooks that carry its operation's id, whatever its record (input
like any other) claims.
"""

from __future__ import annotations

import hashlib
from typing import Any

Obj = dict[str, Any]

#: The annotation on every hook object gitward creates: ``<operation id>.<retry>.<phase>.<wave>``.
OWNER = "gitward.io/hook-of"
#: Longest name a hook gets: a Job's name is also a label value of its Pods (63 characters).
MAX_NAME = 63
#: Hex digits of the hash that ends a derived name.
SUFFIX = 10


def owner_token(operation_id: str, retry_count: int, phase: str, wave: int) -> str:
    """The :data:`OWNER` value of one attempt's hooks of one phase and wave."""
    return f"{operation_id}.{retry_count}.{phase}.{wave}"


def derived_name(generate_name: str, token: str, identity: str) -> str:
    """The name of a ``generateName`` hook: the prefix, then a hash of attempt and hook.

    ``identity`` names the hook within its attempt (group, kind, namespace,
    ``generateName``), so two hooks of one wave get two names and the same
    hook gets the same name in every process. The prefix is shortened as the
    API server shortens a ``generateName`` so the whole stays within
    :data:`MAX_NAME`.
    """
    digest = hashlib.sha256(f"{token}\n{identity}".encode()).hexdigest()[:SUFFIX]
    return generate_name[: MAX_NAME - SUFFIX] + digest


def owner_of(live: Obj) -> str:
    """The :data:`OWNER` annotation of a live object ("" when it has none)."""
    annotations = (live.get("metadata") or {}).get("annotations")
    if not isinstance(annotations, dict):
        return ""
    value = annotations.get(OWNER)
    return value if isinstance(value, str) else ""


def belongs_to_operation(live: Obj, operation_id: str) -> bool:
    """Whether ``live`` is a hook some attempt of operation ``operation_id`` created."""
    return bool(operation_id) and owner_of(live).startswith(operation_id + ".")


def marked(obj: Obj, token: str, name: str = "") -> Obj:
    """``obj`` with the :data:`OWNER` annotation (and ``name``, replacing ``generateName``)."""
    meta = dict(obj.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    annotations[OWNER] = token
    meta["annotations"] = annotations
    if name:
        meta.pop("generateName", None)
        meta["name"] = name
    return {**obj, "metadata": meta}
