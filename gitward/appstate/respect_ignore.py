"""``RespectIgnoreDifferences=true``: fields ``ignoreDifferences`` names keep their live values.

Without the option, ``ignoreDifferences`` only hides a difference from the
comparison: the next sync still applies Git's value (an HPA's ``spec.replicas``
is set back to Git's count at every sync). With it, Argo CD applies the live
value of every ignored field instead, so the sync leaves those fields as the
cluster has them and changes only what the comparison looks at.

How: the rules are run on copies of the desired and the live object (the same
:func:`gitward.diff.ignore.apply_rules` the comparison uses, so jq paths and
``managedFieldsManagers`` count too). Whatever the rules removed from the live
copy is put back, with its live value, into the desired copy. A field inside a
list the rules changed takes the whole live list (a list has no stable paths to
merge by). A field ignored in Git's object but absent from the live one is left
out, so the apply does not set it. Server-owned metadata is never copied in.

The rewritten object is computed by the comparison (which holds the live object
and the rules) only for resources that ask for the option, in the Application's
``syncOptions`` or the resource's ``argocd.argoproj.io/sync-options``
annotation; the plan applies it instead of Git's object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward._util.jsoncopy import json_copy
from gitward.diff.ignore import IgnoreRule, apply_rules
from gitward.model import resource_options as sync_options
from gitward.model.application import Application
from gitward.model.errors import ConfigError

Obj = dict[str, Any]

OPTION = "RespectIgnoreDifferences"
#: Metadata the API server owns: never part of an applied object.
_SERVER_METADATA = (
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def spec_options(app: Application) -> dict[str, str]:
    """The Application's own sync options, read leniently (the plan reports bad ones)."""
    policy = app.sync_policy
    items = policy.sync_options if policy else ()
    return {name.strip(): value.strip() for name, _, value in (i.partition("=") for i in items)}


def wanted(app_options: Mapping[str, str], desired: Obj) -> bool:
    """Whether ``desired`` asks for the option (app-level, or its own annotation).

    A malformed annotation reads as "no" here: the comparison must not fail on it,
    and the sync plan, which parses the same annotation, reports it.
    """
    try:
        return sync_options.effective(dict(app_options), desired).flag(OPTION)
    except ConfigError:
        return False


def refuse_request_only(
    spec_options: Mapping[str, str], request_options: Mapping[str, str]
) -> None:
    """A sync request cannot turn the option on for one sync: the comparison that
    computes the objects to apply reads the Application's own options."""
    asked = request_options.get(OPTION, "").strip().lower() == "true"
    if asked and spec_options.get(OPTION, "").strip().lower() != "true":
        raise ConfigError(
            f"sync option {OPTION}=true: set it in spec.syncPolicy.syncOptions "
            "(a sync request cannot turn it on for one sync)"
        )


async def keep_live_ignored(desired: Obj, live: Obj, rules: list[IgnoreRule]) -> Obj:
    """``desired`` with every field ``rules`` ignore set to its value in ``live``."""
    target = await apply_rules(rules, json_copy(desired), live)
    kept = await apply_rules(rules, json_copy(live), live)
    _restore(target, live, kept)
    meta = target.get("metadata")
    if isinstance(meta, dict):
        for key in _SERVER_METADATA:
            meta.pop(key, None)
    target.pop("status", None)
    return target


def _restore(target: Obj, live: Obj, kept: Any) -> None:
    """Copy into ``target`` what is in ``live`` but was removed to make ``kept``."""
    if not isinstance(kept, dict):
        return
    for key, value in live.items():
        if key not in kept:
            target[key] = json_copy(value)
        elif isinstance(value, dict):
            inner = target.get(key)
            if isinstance(inner, dict):
                _restore(inner, value, kept[key])
            elif key not in target:
                fresh: Obj = {}
                _restore(fresh, value, kept[key])
                if fresh:
                    target[key] = fresh
        elif isinstance(value, list) and value != kept[key]:
            target[key] = json_copy(value)
