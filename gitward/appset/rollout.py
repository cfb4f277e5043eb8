"""Progressive syncs: ``strategy.type: RollingSync``, step by step, each after the last is Healthy.

Argo CD's state machine per app, kept in ``status.applicationStatus``:
``Waiting`` (has changes to sync) -> ``Pending`` (allowed to sync now, a sync
operation was requested) -> ``Progressing`` (its sync ran) -> ``Healthy``. An app
belongs to the first step whose ``matchExpressions`` (``In``/``NotIn`` on its
labels) select it. Apps of a step may sync once every app of every earlier step
is Healthy; ``maxUpdate`` (a count or a share of the step, at least one for a
share above 0 %) caps how many are Pending or Progressing at once. The set
removes ``automated`` from its apps' sync policy and requests each sync itself
(the ``operation`` field, as a CLI sync does).

Unlike Argo CD, no controller flag is needed: a set that asks for RollingSync
gets it. Pure: statuses and apps in, statuses, the apps to sync and the
rollout condition out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitward._util.jsoncopy import json_copy
from gitward.appset.template import Desired
from gitward.model.applicationset import ApplicationSet, RolloutStep

Obj = dict[str, Any]
SYNC_REASON = "ApplicationSet RollingSync triggered a sync of this Application resource."


@dataclass
class Rollout:
    statuses: list[Obj] = field(default_factory=list)
    #: Apps allowed to sync by their step (healthy steps and the first unhealthy one).
    sync_allowed: dict[str, bool] = field(default_factory=dict)
    #: Whether some app of the set is not Healthy yet.
    progressing: bool = False


def _labels(app: Mapping[str, Any]) -> Mapping[str, str]:
    return (app.get("metadata") or {}).get("labels") or {}


def _selected(step: RolloutStep, labels: Mapping[str, str]) -> bool:
    for expr in step.match_expressions:
        key, operator, values = expr["key"], expr["operator"], expr["values"]
        if key in labels:
            matched = labels[key] in values
            if (operator == "In" and not matched) or (operator == "NotIn" and matched):
                return False
        elif operator == "In":
            return False
    return True


def steps_of(
    appset: ApplicationSet, apps: Sequence[Desired]
) -> tuple[list[list[str]], dict[str, int]]:
    """The apps of each step, and each app's step (its first match; unmatched apps: none)."""
    steps = list(appset.rollout_steps or ())
    members: list[list[str]] = [[] for _ in steps]
    step_of: dict[str, int] = {}
    for item in apps:
        for i, step in enumerate(steps):
            if _selected(step, _labels(item.app)):
                members[i].append(item.name)
                step_of.setdefault(item.name, i)
    return members, step_of


def _status(app: Mapping[str, Any]) -> tuple[str, str, str]:
    status = app.get("status") or {}
    phase = (status.get("operationState") or {}).get("phase") or ""
    return (
        str((status.get("health") or {}).get("status") or ""),
        str((status.get("sync") or {}).get("status") or ""),
        str(phase),
    )


def healthy(app: Mapping[str, Any]) -> bool:
    health, sync, phase = _status(app)
    return health == "Healthy" and sync != "OutOfSync" and phase in ("Succeeded", "")


def _revisions(app: Mapping[str, Any]) -> list[str]:
    sync = (app.get("status") or {}).get("sync") or {}
    if sync.get("revisions"):
        return list(sync["revisions"])
    return [sync["revision"]] if sync.get("revision") else []


def _synced_revisions(app: Mapping[str, Any]) -> list[str]:
    result = ((app.get("status") or {}).get("operationState") or {}).get("syncResult") or {}
    if result.get("revisions"):
        return list(result["revisions"])
    return [result["revision"]] if result.get("revision") else []


def _move(entry: Obj, status: str, message: str, step: int, now: str) -> None:
    entry.update(status=status, message=message, step=str(step + 1), lastTransitionTime=now)


def _max_update(step: RolloutStep, total: int) -> int | None:
    value = step.max_update
    if value is None:
        return None
    if isinstance(value, int):
        return value
    scaled = math.floor(total * float(value.rstrip("%")) / 100)
    return 1 if value != "0%" and scaled < 1 else scaled


def progress(
    appset: ApplicationSet,
    desired: Sequence[Desired],
    current: Mapping[str, Obj],
    previous: Sequence[Obj],
    now: str,
) -> Rollout:
    """One pass of the rollout over the set's current apps (Argo CD's order of checks)."""
    members, step_of = steps_of(appset, desired)
    known = {str(s.get("application")): s for s in previous}
    statuses: list[Obj] = []
    for name, app in current.items():
        step = step_of.get(name, 0)
        entry = json_copy(known.get(name)) if name in known else None
        if entry is None:
            entry = {
                "application": name,
                "lastTransitionTime": now,
                "message": "No Application status found, defaulting status to Waiting.",
                "status": "Waiting",
                "step": str(step + 1),
                "targetRevisions": _revisions(app),
            }
        elif not entry.get("targetRevisions"):
            entry["targetRevisions"] = _revisions(app)
        health, sync, phase = _status(app)
        if sync == "OutOfSync" and entry["status"] not in ("Waiting", "Pending"):
            _move(
                entry,
                "Waiting",
                "Application has pending changes, setting status to Waiting.",
                step,
                now,
            )
            entry["targetRevisions"] = _revisions(app)
        if entry["status"] == "Pending":
            if phase == "Succeeded":
                if entry.get("targetRevisions") == _synced_revisions(app):
                    _move(
                        entry,
                        "Progressing",
                        "Application resource completed a sync successfully, updating status "
                        "from Pending to Progressing.",
                        step,
                        now,
                    )
            elif phase == "Running" or health == "Progressing":
                _move(
                    entry,
                    "Progressing",
                    "Application resource became Progressing, updating status from Pending to "
                    "Progressing.",
                    step,
                    now,
                )
        if entry["status"] == "Waiting" and healthy(app):
            _move(
                entry,
                health,
                "Application resource is already Healthy, updating status from Waiting to Healthy.",
                step,
                now,
            )
        if entry["status"] == "Progressing" and healthy(app):
            _move(
                entry,
                health,
                "Application resource became Healthy, updating status from Progressing to Healthy.",
                step,
                now,
            )
        statuses.append(entry)
    by_name = {s["application"]: s for s in statuses}
    allowed: dict[str, bool] = {}
    enabled = True
    for names in members:
        for name in names:
            allowed[name] = enabled
        for name in names:
            found = by_name.get(name)
            live = current.get(name)
            if found is None or live is None:
                enabled = False
                break
            enabled = healthy(live) and found.get("status") == "Healthy"
            if not enabled:
                break
    steps = list(appset.rollout_steps or ())
    totals = [0] * len(steps)
    updating = [0] * len(steps)
    for entry in statuses:
        step = step_of.get(entry["application"], 0)
        if step < len(steps):
            totals[step] += 1
            if entry["status"] in ("Pending", "Progressing"):
                updating[step] += 1
    for entry in statuses:
        name = entry["application"]
        step = step_of.get(name, 0)
        limit = _max_update(steps[step], totals[step]) if step < len(steps) else None
        under = limit is None or updating[step] < limit
        if entry["status"] == "Waiting" and allowed.get(name) and under:
            _move(
                entry,
                "Pending",
                "Application moved to Pending status, watching for the Application resource to "
                "start Progressing.",
                step,
                now,
            )
            if step < len(steps):
                updating[step] += 1
    return Rollout(
        statuses=statuses,
        sync_allowed=allowed,
        progressing=any(s.get("status") != "Healthy" for s in statuses),
    )


def apply_to_apps(desired: Sequence[Desired], current: Mapping[str, Obj], rollout: Rollout) -> None:
    """Take ``automated`` out of each app's policy; request a sync of each Pending app that
    is allowed and OutOfSync (in place, on the generated apps)."""
    pending = {s["application"] for s in rollout.statuses if s.get("status") == "Pending"}
    for item in desired:
        spec = item.app.setdefault("spec", {})
        policy = spec.get("syncPolicy") if isinstance(spec.get("syncPolicy"), dict) else None
        prune = False
        if policy is not None and policy.get("automated") is not None:
            prune = bool((policy.get("automated") or {}).get("prune"))
            policy.pop("automated")
        live = current.get(item.name)
        out_of_sync = live is not None and _status(live)[1] == "OutOfSync"
        if rollout.sync_allowed.get(item.name) and out_of_sync and item.name in pending:
            sync: Obj = {"prune": prune} if policy is not None else {}
            if policy is not None and policy.get("syncOptions"):
                sync["syncOptions"] = list(policy["syncOptions"])
            operation: Obj = {
                "initiatedBy": {"username": "applicationset-controller", "automated": True},
                "info": [{"name": "Reason", "value": SYNC_REASON}],
                "sync": sync,
            }
            if policy is not None and policy.get("retry"):
                operation["retry"] = json_copy(policy["retry"])
            item.app["operation"] = operation
