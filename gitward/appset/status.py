"""An ApplicationSet's status in Argo CD's shape, and the one write that stores it.

``status.conditions`` carries Argo CD's three conditions after every pass —
``ErrorOccurred``, ``ParametersGenerated``, ``ResourcesUpToDate`` — plus
``RolloutProgressing`` under RollingSync and gitward's ``DeletionHeld`` while a
deletion waits for approval. ``status.resources`` lists the generated
Applications with their sync and health, ``status.applicationStatus`` the
rollout state of each. A pass writes the status only when something in it
changed (one merge patch of the ``status`` subresource), so a steady state
costs no request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gitward._util.redact import redact
from gitward.cluster import KubeClient
from gitward.model.kinds import API_VERSION, APPLICATION, APPLICATION_SET, GROUP

Obj = dict[str, Any]

ERROR_OCCURRED = "ErrorOccurred"
PARAMETERS_GENERATED = "ParametersGenerated"
RESOURCES_UP_TO_DATE = "ResourcesUpToDate"
ROLLOUT_PROGRESSING = "RolloutProgressing"
DELETION_HELD = "DeletionHeld"

UP_TO_DATE = "ApplicationSetUpToDate"
VALIDATION_ERROR = "ApplicationValidationError"
CREATE_ERROR = "CreateApplicationError"
UPDATE_ERROR = "UpdateApplicationError"
DELETE_ERROR = "DeleteApplicationError"
INVALID_SPEC = "ApplicationSetInvalid"


def outcome_conditions(error: tuple[str, str] | None, params_generated: bool) -> list[Obj]:
    """Argo CD's three conditions for a pass that failed with (reason, message) or did not."""
    if error is None:
        return [
            _cond(
                ERROR_OCCURRED,
                False,
                UP_TO_DATE,
                "Successfully generated parameters for all Applications",
            ),
            _cond(
                PARAMETERS_GENERATED,
                True,
                "ParametersGenerated",
                "Successfully generated parameters for all Applications",
            ),
            _cond(RESOURCES_UP_TO_DATE, True, UP_TO_DATE, "ApplicationSet up to date"),
        ]
    reason, message = error
    params = (
        _cond(
            PARAMETERS_GENERATED,
            True,
            "ParametersGenerated",
            "Successfully generated parameters for all Applications",
        )
        if params_generated
        else _cond(PARAMETERS_GENERATED, False, ERROR_OCCURRED, message)
    )
    return [
        _cond(ERROR_OCCURRED, True, reason, message),
        params,
        _cond(RESOURCES_UP_TO_DATE, False, reason, message),
    ]


def _cond(kind: str, status: bool, reason: str, message: str) -> Obj:
    return {
        "type": kind,
        "status": "True" if status else "False",
        "reason": reason,
        "message": redact(message),
    }


def stamped(conditions: Iterable[Obj], previous: Iterable[Obj], at: str) -> list[Obj]:
    """``conditions`` with ``lastTransitionTime``: kept while status, reason and message are."""
    before = {c.get("type"): c for c in previous}
    out = []
    for cond in conditions:
        old = before.get(cond["type"])
        same = old is not None and all(
            old.get(k) == cond.get(k) for k in ("status", "reason", "message")
        )
        out.append(
            {
                **cond,
                "lastTransitionTime": old.get("lastTransitionTime", at) if same and old else at,
            }
        )
    return out


def resource_statuses(apps: Mapping[str, Obj]) -> list[Obj]:
    """``status.resources``: each generated Application with its sync and health, by name."""
    out = []
    for name in sorted(apps):
        app = apps[name]
        status = app.get("status") or {}
        entry: Obj = {
            "group": GROUP,
            "version": "v1alpha1",
            "kind": APPLICATION,
            "name": name,
            "namespace": (app.get("metadata") or {}).get("namespace", ""),
            "status": (status.get("sync") or {}).get("status", ""),
            "health": {"status": (status.get("health") or {}).get("status", "")},
        }
        out.append(entry)
    return out


def _without_times(conditions: Iterable[Obj]) -> list[Obj]:
    return [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in conditions]


def changed(current: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    for key, value in fields.items():
        have = current.get(key)
        if key == "conditions":
            if _without_times(have or []) != _without_times(value or []):
                return True
        elif key == "applicationStatus":
            strip = [{k: v for k, v in s.items() if k != "lastTransitionTime"} for s in value or []]
            had = [{k: v for k, v in s.items() if k != "lastTransitionTime"} for s in have or []]
            if strip != had:
                return True
        elif (have or None) != (value or None):
            return True
    return False


async def write(client: KubeClient, appset: Obj, fields: Obj) -> Obj:
    """Store ``fields`` in the status (None removes one) if any differs; the stored object."""
    current = appset.get("status") or {}
    if not changed(current, fields):
        return appset
    meta = appset["metadata"]
    return await client.patch(
        API_VERSION,
        APPLICATION_SET,
        meta["name"],
        meta.get("namespace"),
        {"status": fields},
        subresource="status",
    )
