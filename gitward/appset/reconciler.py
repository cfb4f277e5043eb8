"""Reconcile one ApplicationSet: generate, check, plan, write, report.

A pass reads only memory (the ApplicationSet, its Applications, AppProjects and
cluster Secrets all come from watches) and writes only what changed: created
apps (one POST each), updated apps (a merge patch of the difference), deleted
apps, one status patch when the status changed, and a few Events. Any failure
before the plan — a generator, a template, the spec itself — writes a condition
and changes nothing else; so does a deletion above the threshold, which waits
for ``gitward appset approve``.

Deleting the ApplicationSet deletes its Applications through their owner
references (the API_VERSION server's garbage collector), unless its policy does not
allow deletion (``create-only``, ``create-update``): then their owner
references are removed first, so they stay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitward.appset import plan as planning
from gitward.appset import rollout, status
from gitward.appset.generate import GenerationError, generate
from gitward.appset.generators import Sources
from gitward.appset.generators.listings import TreeListings
from gitward.appset.gotemplate import GoTemplates
from gitward.appset.template import RESOURCES_FINALIZER, Desired
from gitward.appset.validate import ProjectChecks, ProjectRules, validate
from gitward.appstate import events
from gitward.appstate.status import now
from gitward.cluster import ApiError, Conflict, KubeClient, NotFound
from gitward.cluster.secrets import secret_fields
from gitward.model.applicationset import (
    APPROVE_ANNOTATION,
    REFRESH_ANNOTATION,
    ApplicationSet,
    parse_applicationset,
)
from gitward.model.destination import destination_ref
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION, APPLICATION, APPLICATION_SET

Obj = dict[str, Any]
log = logging.getLogger("gitward.appset")

#: After a failed generation, look again this soon (Argo CD: 3 minutes).
RETRY_SECONDS = 180.0
#: Application writes in flight at once for one ApplicationSet.
WRITE_CONCURRENCY = 16
#: Per-app Events up to this many per pass; beyond, one Event names them in a summary.
EVENTS_PER_ACTION = 5


@dataclass
class Outcome:
    """What one pass did (for logs, tests and metrics)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    requeue_after: float | None = None


def cluster_names(secrets: list[Obj]) -> dict[str, str]:
    """Registered cluster names to servers (Secrets gitward cannot read are left out)."""
    out: dict[str, str] = {}
    for secret in secrets:
        try:
            fields = secret_fields(secret)
        except ConfigError:
            continue
        if fields.get("name"):
            out[fields["name"]] = fields.get("server", "").rstrip("/")
    return out


def _destination_known(app: Obj, clusters: Mapping[str, str]) -> bool:
    return destination_ref((app.get("spec") or {}).get("destination")).known_in(clusters)


def _summary(action: str, names: list[str]) -> str:
    shown = ", ".join(f'"{n}"' for n in names[:10])
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return f"{action} {len(names)} Applications: {shown}{more}"


class AppSetReconciler:
    """One pass over one ApplicationSet at a time (the controller runs many in parallel)."""

    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        sources: Sources,
        go: GoTemplates,
        *,
        appset_of: Callable[[str], Obj | None],
        applications: Callable[[], Mapping[str, Obj]],
        projects: Callable[[], Awaitable[Mapping[str, Obj]]],
        clusters: Callable[[], Awaitable[list[Obj]]],
        rules: ProjectRules | None = None,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.sources = sources
        self.go = go
        self.appset_of = appset_of
        self.applications = applications
        self.projects = projects
        self.clusters = clusters
        self.rules: ProjectRules = rules or ProjectChecks()
        #: Repositories each set's last generation read (normalised URL -> revision).
        self.reads: dict[str, dict[str, str]] = {}
        #: The held deletion each set was last warned about (one Event per distinct hold).
        self._warned: dict[str, str] = {}
        self.passes = 0
        #: Listings of exported commits the git generators walked, for this reconciler's life.
        self.listings = TreeListings()

    def forget(self, name: str) -> None:
        self.reads.pop(name, None)
        self._warned.pop(name, None)

    def owned(self, appset: ApplicationSet) -> dict[str, Obj]:
        return {n: a for n, a in self.applications().items() if planning.owned_by(a, appset)}

    async def reconcile(self, name: str) -> Outcome | None:
        """One pass over ApplicationSet ``name``; None once it no longer exists."""
        obj = self.appset_of(name)
        if obj is None:
            self.forget(name)
            return None
        self.passes += 1
        if (obj.get("metadata") or {}).get("deletionTimestamp"):
            await self._deleting(obj)
            return Outcome()
        try:
            appset = parse_applicationset(obj)
        except ConfigError as exc:
            await self._report(obj, (status.INVALID_SPEC, str(exc)), False, {})
            return Outcome(errors={"spec": str(exc)}, requeue_after=RETRY_SECONDS)
        try:
            generation = await generate(appset, self.sources, self.go, self.listings)
        except GenerationError as exc:
            log.warning("%s: %s", appset.where, exc)
            await self._report(obj, (exc.reason, str(exc)), False, self.owned(appset))
            return Outcome(errors={"generators": str(exc)}, requeue_after=RETRY_SECONDS)
        self.reads[name] = generation.repos
        return await self._apply(obj, appset, generation.desired, generation.requeue_after)

    async def _apply(
        self, obj: Obj, appset: ApplicationSet, desired: list[Desired], requeue: float | None
    ) -> Outcome:
        secrets = await self.clusters()
        clusters = cluster_names(secrets)
        checked = validate(appset.name, desired, await self.projects(), clusters, self.rules)
        owned = self.owned(appset)
        outcome = Outcome(requeue_after=requeue)
        application_status = None
        progressing = None
        if appset.rolling_sync:
            result = rollout.progress(
                appset,
                checked.valid,
                owned,
                (obj.get("status") or {}).get("applicationStatus") or [],
                now(),
            )
            rollout.apply_to_apps(checked.valid, owned, result)
            application_status, progressing = result.statuses, result.progressing
        the_plan = await planning.plan(appset, desired, checked.valid, owned, self.applications())
        errors: dict[str, str] = dict(checked.errors)
        for app_name, owner in the_plan.foreign.items():
            errors[app_name] = f"application {app_name} already exists and is owned by {owner}"
        stored = dict(owned)
        reasons: list[str] = [status.VALIDATION_ERROR] * len(errors)
        semaphore = asyncio.Semaphore(WRITE_CONCURRENCY)

        async def create(app: Obj) -> None:
            app_name = app["metadata"]["name"]
            async with semaphore:
                try:
                    stored[app_name] = await self.client.create(app)
                    outcome.created.append(app_name)
                except Conflict:
                    pass  # created by an earlier pass the watch has not delivered yet
                except ApiError as exc:
                    errors[app_name] = str(exc)
                    reasons.append(status.CREATE_ERROR)

        async def update(item: planning.Update) -> None:
            async with semaphore:
                try:
                    stored[item.name] = await self.client.patch(
                        API_VERSION, APPLICATION, item.name, appset.namespace, item.patch
                    )
                    outcome.updated.append(item.name)
                except ApiError as exc:
                    errors[item.name] = str(exc)
                    reasons.append(status.UPDATE_ERROR)

        async def delete(app_name: str) -> None:
            async with semaphore:
                try:
                    live = owned[app_name]
                    finalizers = (live.get("metadata") or {}).get("finalizers") or []
                    if RESOURCES_FINALIZER in finalizers and not _destination_known(live, clusters):
                        # Its cluster is gone: the cascade could never end (Argo CD does this too).
                        await self.client.patch(
                            API_VERSION,
                            APPLICATION,
                            app_name,
                            appset.namespace,
                            {
                                "metadata": {
                                    "finalizers": [
                                        f for f in finalizers if f != RESOURCES_FINALIZER
                                    ]
                                }
                            },
                        )
                    await self.client.delete(
                        API_VERSION,
                        APPLICATION,
                        app_name,
                        appset.namespace,
                        propagation="Background",
                    )
                    stored.pop(app_name, None)
                    outcome.deleted.append(app_name)
                except NotFound:
                    stored.pop(app_name, None)
                except ApiError as exc:
                    errors[app_name] = str(exc)
                    reasons.append(status.DELETE_ERROR)

        await asyncio.gather(
            *(create(a) for a in the_plan.creates),
            *(update(u) for u in the_plan.updates),
            *(delete(n) for n in the_plan.deletes),
        )
        outcome.held = the_plan.held
        outcome.errors = errors
        await self._events(obj, outcome, the_plan)
        # An approval is used up once nothing is held: by this pass's deletion, or because
        # the generators returned the apps. Kept while a hold lasts (it may match later).
        obj = await self._clear_annotations(obj, approval_used=not the_plan.held)
        error = None
        if errors:
            last = list(errors.values())[-1]
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            error = (reasons[-1] if reasons else status.VALIDATION_ERROR, last + more)
        extra: list[status.Obj] = []
        if progressing is not None:
            extra.append(
                status._cond(
                    status.ROLLOUT_PROGRESSING,
                    progressing,
                    "ApplicationSetModified" if progressing else "ApplicationSetRolloutComplete",
                    "ApplicationSet Rollout Rollout started"
                    if progressing
                    else "ApplicationSet Rollout Rollout complete",
                )
            )
        if the_plan.held:
            shown = ", ".join(the_plan.held[:5]) + (" ..." if len(the_plan.held) > 5 else "")
            extra.append(
                status._cond(
                    status.DELETION_HELD,
                    True,
                    "DeletionThresholdExceeded",
                    f"deletion held: {the_plan.held_reason} ({shown}); nothing was deleted. "
                    f"Approve with: gitward appset approve {appset.name} "
                    f"(or restore the generators' input)",
                )
            )
        held_field = (
            {
                "applications": the_plan.held,
                "digest": the_plan.held_digest,
                "reason": the_plan.held_reason,
            }
            if the_plan.held
            else None
        )
        await self._report(obj, error, True, stored, extra, application_status, held_field)
        if errors:
            outcome.requeue_after = min(outcome.requeue_after or RETRY_SECONDS, RETRY_SECONDS)
        return outcome

    async def _report(
        self,
        obj: Obj,
        error: tuple[str, str] | None,
        params_generated: bool,
        apps: Mapping[str, Obj],
        extra: list[Obj] | None = None,
        application_status: list[Obj] | None = None,
        held: Obj | None = None,
    ) -> None:
        previous = (obj.get("status") or {}).get("conditions") or []
        conditions = status.outcome_conditions(error, params_generated) + list(extra or [])
        if error is not None and not params_generated:
            # A failed generation changes nothing: a hold still in force stays visible.
            conditions += [c for c in previous if c.get("type") == status.DELETION_HELD]
            held = (obj.get("status") or {}).get("heldDeletion")
        fields: Obj = {
            "conditions": status.stamped(conditions, previous, now()),
            "resources": status.resource_statuses(apps) or None,
            "heldDeletion": held,
        }
        if application_status is not None:
            fields["applicationStatus"] = application_status or None
        elif (obj.get("status") or {}).get("applicationStatus") and params_generated:
            fields["applicationStatus"] = None  # no longer a rolling sync
        with contextlib.suppress(NotFound):
            await status.write(self.client, obj, fields)

    async def _events(self, obj: Obj, outcome: Outcome, the_plan: planning.Plan) -> None:
        for reason, names in (("created", outcome.created), ("updated", outcome.updated)):
            if not names:
                continue
            if len(names) <= EVENTS_PER_ACTION:
                for app_name in names:
                    await events.record(
                        self.client, obj, reason, f'{reason} Application "{app_name}"'
                    )
            else:
                await events.record(self.client, obj, reason, _summary(reason, sorted(names)))
        if outcome.deleted:
            names = sorted(outcome.deleted)
            if len(names) <= EVENTS_PER_ACTION:
                for app_name in names:
                    await events.record(
                        self.client, obj, "Deleted", f'Deleted Application "{app_name}"'
                    )
            else:
                await events.record(self.client, obj, "Deleted", _summary("Deleted", names))
        name = str(obj["metadata"]["name"])
        if the_plan.held:
            if self._warned.get(name) != the_plan.held_digest:
                self._warned[name] = the_plan.held_digest
                await events.record(
                    self.client,
                    obj,
                    "DeletionHeld",
                    f"Held the deletion of {len(the_plan.held)} Applications: "
                    f"{the_plan.held_reason}. "
                    f"Approve with: gitward appset approve {name}",
                    warning=True,
                )
        else:
            self._warned.pop(name, None)

    async def _clear_annotations(self, obj: Obj, approval_used: bool) -> Obj:
        """Remove a used approval and Argo CD's refresh annotation once handled."""
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        remove: dict[str, None] = {}
        if approval_used and APPROVE_ANNOTATION in annotations:
            remove[APPROVE_ANNOTATION] = None
        if REFRESH_ANNOTATION in annotations:
            remove[REFRESH_ANNOTATION] = None
        if not remove:
            return obj
        meta = obj["metadata"]
        try:
            return await self.client.patch(
                API_VERSION,
                APPLICATION_SET,
                meta["name"],
                meta.get("namespace"),
                {"metadata": {"annotations": remove}},
            )
        except NotFound:
            return obj

    async def _deleting(self, obj: Obj) -> None:
        """The set is being deleted: keep its apps when its policy does not allow deletion."""
        try:
            appset = parse_applicationset(obj)
        except ConfigError:
            return
        if not appset.may_delete:
            for app_name, app in self.owned(appset).items():
                refs = [
                    r
                    for r in (app.get("metadata") or {}).get("ownerReferences") or []
                    if r.get("uid") != appset.uid
                ]
                try:
                    await self.client.patch(
                        API_VERSION,
                        APPLICATION,
                        app_name,
                        appset.namespace,
                        {"metadata": {"ownerReferences": refs or None}},
                    )
                except NotFound:
                    continue
        finalizers = (obj.get("metadata") or {}).get("finalizers") or []
        if RESOURCES_FINALIZER in finalizers:
            meta = obj["metadata"]
            remaining = [f for f in finalizers if f != RESOURCES_FINALIZER]
            try:
                await self.client.patch(
                    API_VERSION,
                    APPLICATION_SET,
                    meta["name"],
                    meta.get("namespace"),
                    {"metadata": {"finalizers": remaining or None}},
                )
            except NotFound:
                return
