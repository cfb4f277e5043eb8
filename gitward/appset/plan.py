"""What a generation changes: creates, updates, deletes — and when deletion is held.

Pure: the generated Applications and the ones the set owns now (as the watch
delivered them) in, a :class:`Plan` out. What an update writes follows Argo
CD: the set owns each app's ``spec``, labels, annotations, finalizers and its
controller reference; a user's edits there are put back, except
``preservedFields`` (and Argo CD's always-preserved annotations), post-delete
finalizers, and ``ignoreApplicationDifferences`` paths, which keep their live
values. An update is a JSON merge patch of just the differences; an unchanged
app costs no request.

Beyond Argo CD: a generation that would delete more than ``gitward.io/max-delete``
of the set's apps (default 25 %, never fewer than one app), or every one of them,
deletes nothing. A git outage, a mistyped path, a matrix child that returned
nothing — each looks like "the apps are gone", and Argo CD users have lost
fleets that way. The hold lasts until a person approves exactly that deletion
(``gitward appset approve``: the digest of the app names) or the generators
return the apps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitward._util.jsoncopy import json_copy
from gitward.appset.template import Desired
from gitward.diff.ignore import IgnoreRule, apply_rules, parse_rules
from gitward.model.applicationset import APPROVE_ANNOTATION, ApplicationSet
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION, APPLICATION, APPLICATION_SET, GROUP
from gitward.sandbox.jqrun import default_runner

Obj = dict[str, Any]

#: Annotations Argo CD never takes away from a generated app (notifications state, refresh).
ALWAYS_PRESERVED_ANNOTATIONS = (
    "notified.notifications.argoproj.io",
    "argocd.argoproj.io/refresh",
    "argocd.argoproj.io/hydrate",
)
POST_DELETE_FINALIZER = "post-delete-finalizer.argocd.argoproj.io"


@dataclass
class Update:
    name: str
    patch: Obj


@dataclass
class Plan:
    creates: list[Obj] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    #: Deletions the threshold holds back (empty when none are held).
    held: list[str] = field(default_factory=list)
    held_digest: str = ""
    held_reason: str = ""
    #: Apps of these names exist but belong to another controller: not touched.
    foreign: dict[str, str] = field(default_factory=dict)


def owner_reference(appset: ApplicationSet) -> Obj:
    return {
        "apiVersion": API_VERSION,
        "kind": APPLICATION_SET,
        "name": appset.name,
        "uid": appset.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_of(app: Mapping[str, Any]) -> Obj | None:
    for ref in (app.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def owned_by(app: Mapping[str, Any], appset: ApplicationSet) -> bool:
    """Whether ``app``'s controller is this ApplicationSet (by uid, or by name without one)."""
    ref = controller_of(app)
    if ref is None or ref.get("kind") != APPLICATION_SET:
        return False
    if appset.uid and ref.get("uid"):
        return bool(ref.get("uid") == appset.uid)
    return bool(ref.get("name") == appset.name)


def deletion_digest(names: list[str]) -> str:
    """What ``gitward appset approve`` writes: which deletion, exactly, a person allowed."""
    text = "\n".join(sorted(names))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _normalise_spec(raw: Any) -> Obj:
    spec: Obj = dict(raw) if isinstance(raw, dict) else {}
    if not spec.get("project"):
        spec["project"] = "default"
    if spec.get("syncPolicy") == {}:
        spec.pop("syncPolicy")
    return spec


def _owned(app: Mapping[str, Any]) -> Obj:
    """The parts of an Application the set writes, in the shape a patch compares."""
    meta = app.get("metadata") or {}
    out: Obj = {
        "metadata": {
            "labels": dict(meta.get("labels") or {}),
            "annotations": dict(meta.get("annotations") or {}),
            "finalizers": list(meta.get("finalizers") or []),
            "ownerReferences": list(meta.get("ownerReferences") or []),
        },
        "spec": _normalise_spec(app.get("spec")),
    }
    if app.get("operation") is not None:
        out["operation"] = app["operation"]
    return out


def merge_diff(live: Any, desired: Any) -> Any:
    """The JSON merge patch that turns ``live`` into ``desired`` (None: no change)."""
    if isinstance(live, dict) and isinstance(desired, dict):
        patch: Obj = {}
        for key in live.keys() - desired.keys():
            patch[key] = None
        for key, value in desired.items():
            if key not in live:
                patch[key] = json_copy(value)
            else:
                sub = merge_diff(live[key], value)
                if sub is not None:
                    patch[key] = sub
        return patch or None
    if live == desired:
        return None
    return json_copy(desired)


def _ignore_rules(appset: ApplicationSet, name: str) -> list[IgnoreRule]:
    """``ignoreApplicationDifferences`` entries for app ``name`` (an entry without a name: all).

    Parsed by the diff package's parser, so a jq expression is checked (and later run
    in its sandboxed worker) exactly like an Application's ``ignoreDifferences``.
    """
    entries = [
        {
            "group": GROUP,
            "kind": APPLICATION,
            "jsonPointers": e.get("jsonPointers"),
            "jqPathExpressions": e.get("jqPathExpressions"),
        }
        for e in appset.ignore_application_differences
        if not e.get("name") or e.get("name") == name
    ]
    try:
        return parse_rules(
            entries, f"{appset.where}: spec.ignoreApplicationDifferences", jq=default_runner()
        )
    except ConfigError as exc:
        raise ConfigError(str(exc)) from None


def desired_for_update(appset: ApplicationSet, generated: Obj, live: Obj) -> Obj:
    """The owned parts of ``live`` as the set wants them (Argo CD's mutate function)."""
    live_meta = live.get("metadata") or {}
    meta = generated.get("metadata") or {}
    annotations = dict(meta.get("annotations") or {})
    labels = dict(meta.get("labels") or {})
    live_annotations = live_meta.get("annotations") or {}
    live_labels = live_meta.get("labels") or {}
    for key in (*appset.preserved_annotations, *ALWAYS_PRESERVED_ANNOTATIONS):
        if key in live_annotations:
            annotations[key] = live_annotations[key]
    for key in appset.preserved_labels:
        if key in live_labels:
            labels[key] = live_labels[key]
    finalizers = list(meta.get("finalizers") or [])
    finalizers += [
        f for f in live_meta.get("finalizers") or [] if f.startswith(POST_DELETE_FINALIZER)
    ]
    refs = [r for r in live_meta.get("ownerReferences") or [] if not r.get("controller")]
    refs.append(owner_reference(appset))
    want: Obj = {
        "metadata": {
            "labels": labels,
            "annotations": annotations,
            "finalizers": finalizers,
            "ownerReferences": refs,
        },
        "spec": _normalise_spec(generated.get("spec")),
    }
    if generated.get("operation") is not None:
        want["operation"] = generated["operation"]
    return want


def for_create(appset: ApplicationSet, generated: Obj) -> Obj:
    app = json_copy(generated)
    app["spec"] = _normalise_spec(app.get("spec"))
    meta = app.setdefault("metadata", {})
    meta["ownerReferences"] = [owner_reference(appset)]
    return app


def _hold(appset: ApplicationSet, deletes: list[str], total: int) -> str:
    """Why deleting ``deletes`` of ``total`` apps must wait for a person ('' if it need not)."""
    if not deletes:
        return ""
    limit = appset.max_delete
    if len(deletes) >= total and not limit.allows_all:
        return f"it would delete all {total} applications of the set"
    allowed = limit.allowed(total)
    if len(deletes) > allowed:
        share = f" ({len(deletes) / total:.0%})" if total else ""
        return (
            f"it would delete {len(deletes)} of {total} applications{share}, more than "
            f"gitward.io/max-delete {limit.text} allows ({allowed})"
        )
    return ""


async def plan(
    appset: ApplicationSet,
    desired: list[Desired],
    valid: list[Desired],
    owned: Mapping[str, Obj],
    existing: Mapping[str, Obj],
) -> Plan:
    """Creates, updates and deletes for one generation.

    ``desired``: every generated app (valid or not); ``valid``: those that may be
    written; ``owned``: the set's current apps by name; ``existing``: every
    Application of the namespace by name (to find apps another controller owns).
    """
    out = Plan()
    for item in valid:
        name = item.name
        live = owned.get(name)
        if live is None:
            other = existing.get(name)
            if other is not None:
                ref = controller_of(other)
                if ref is not None:
                    out.foreign[name] = f"{ref.get('kind')} {ref.get('name')}"
                    continue
                live = other  # no controller: the set adopts it, as Argo CD does
        if live is None:
            out.creates.append(for_create(appset, item.app))
            continue
        if not appset.may_update and owned.get(name) is not None:
            continue
        want = desired_for_update(appset, item.app, live)
        have = _owned(live)
        if "operation" not in want or live.get("operation"):
            # An operation already set (requested, or running under its lock) is the app
            # controller's business: never rewrite or clear it.
            have.pop("operation", None)
            want.pop("operation", None)
        rules = _ignore_rules(appset, name)
        if rules:
            want = await apply_rules(rules, want, None)
            have = await apply_rules(rules, have, None)
        patch = merge_diff(have, want)
        if patch is not None:
            out.updates.append(Update(name, patch))
    if appset.may_delete:
        generated = {item.name for item in desired}
        deletes = sorted(
            name for name, app in owned.items() if name not in generated and not _deleting(app)
        )
        reason = _hold(appset, deletes, len(owned))
        approved = (appset.raw.get("metadata") or {}).get("annotations", {}).get(APPROVE_ANNOTATION)
        digest = deletion_digest(deletes)
        if reason and approved != digest:
            out.held, out.held_digest, out.held_reason = deletes, digest, reason
        else:
            out.deletes = deletes
    return out


def _deleting(app: Mapping[str, Any]) -> bool:
    return bool((app.get("metadata") or {}).get("deletionTimestamp"))
