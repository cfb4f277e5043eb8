"""A refresh: compare an Application and store the result in its status."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from gitward import diff
from gitward._util.lru import LatestVersions
from gitward._util.versions import state_key
from gitward.appstate.comparison import (
    INVALID_SPEC_ERROR,
    CompareMemo,
    Comparison,
    ManifestSource,
    compare_app,
    failed_comparison,
    invalid_spec,
)
from gitward.appstate.destinations import Destinations, Target
from gitward.appstate.lock import holder_id
from gitward.appstate.orphans import OrphanFinder, orphaned_condition
from gitward.appstate.projects import Projects
from gitward.appstate.settings import Settings
from gitward.appstate.status import Written, write_status
from gitward.cluster import ClusterError, KubeClient
from gitward.model.application import Application, parse_application
from gitward.model.errors import ConfigError, GitwardError
from gitward.model.status import SyncStatus
from gitward.projects.fence import Fence, app_refusal
from gitward.reposerver import ManifestService

Obj = dict[str, Any]
log = logging.getLogger("gitward.sync")


def parse_app_object(obj: Obj) -> Application:
    """The Application in a stored object, errors naming it by namespace and name."""
    meta = obj.get("metadata") or {}
    return parse_application(obj, f"Application {meta.get('namespace')}/{meta.get('name')}")


class ParsedApps:
    """The parsed newest version of each Application, at most ``size`` of them.

    A stored object never changes under one resourceVersion, and a reconcile parses
    the same object several times (target, fence, compare). One entry per uid (the
    newest resourceVersion seen): the parsed Application keeps its whole raw object
    (status, history), and every status write makes a new resourceVersion, so a memo
    by (uid, resourceVersion) held thousands of superseded Applications. The
    :class:`Refresher` owns one for its lifetime.
    """

    def __init__(self, size: int = 5_000) -> None:
        self._found: LatestVersions[str, Application] = LatestVersions(size)

    def __len__(self) -> int:
        return len(self._found)

    def parse(self, obj: Obj) -> Application:
        key = state_key(obj)
        found = self._found.get(key[0], key[1]) if key else None
        if found is not None:
            if found.raw is not obj and key:
                # The same version as another dict (a status write's answer, then the
                # watch's event): keep the one the caller holds, so the other is freed.
                # At rest every app's last written copy was held here beside the watch's.
                found = dataclasses.replace(found, raw=obj)
                self._found.put(key[0], key[1], found)
            return found
        app = parse_app_object(obj)
        if key:
            self._found.put(key[0], key[1], app)
        return app


class ProjectRefusal(ConfigError):
    """The app's project does not permit the app: its repository, destination or namespace."""


class Refresher:
    """Compares Applications of one installation and records the outcome.

    ``client`` is the cluster holding the Applications (their status is
    written there); each app's resources live on its destination cluster,
    which ``destinations`` resolves. ``projects`` reads AppProjects (default:
    one GET each) from ``control_namespace`` (default: each app's own namespace).
    """

    def __init__(
        self,
        client: KubeClient,
        settings: Settings,
        manifests: ManifestSource,
        destinations: Destinations | None = None,
        *,
        projects: Projects | None = None,
        control_namespace: str = "",
        holder: str = "",
        unchanged_status_for: float = 0.0,
        messages_every: float = 0.0,
    ) -> None:
        self.client = client
        self.settings = settings
        self.manifests = manifests
        self.destinations = destinations or Destinations(client, settings.tracking)
        self.projects = projects or Projects.from_api(client)
        self.control_namespace = control_namespace
        #: Orphaned resources by destination namespace, for projects that monitor them.
        self.orphans = OrphanFinder()
        #: Skip status writes that would only move ``reconciledAt``, for this many seconds
        #: (0: always write). The controller asks for it; a CLI refresh always writes.
        self.unchanged_status_for = unchanged_status_for
        #: Hold a status write that would change only health messages until this many
        #: seconds after the last write (0: never hold; see status.message_hold).
        self.messages_every = messages_every
        #: Names this process in the operations it runs (see gitward.appstate.lock).
        self.holder = holder or holder_id("gitward-cli")
        #: Parsed Applications and comparison verdicts, remembered while this lives.
        self.parsed = ParsedApps()
        self.memo = CompareMemo()

    async def target(self, app_obj: Obj) -> Target:
        """The destination cluster of ``app_obj``; raises UnknownDestination.

        Clusters are registered in the control namespace, wherever the app lives.
        """
        app = self.parsed.parse(app_obj)
        namespace = str((app_obj.get("metadata") or {}).get("namespace") or "")
        return await self.destinations.target(app, self.control_namespace or namespace)

    async def fence(
        self, app_obj: Obj, target: Target | None = None, whole_app: bool = True
    ) -> Fence:
        """The project rules ``app_obj`` deploys within, bound to its destination ``target``
        (resolved when not given).

        Raises ProjectNotFound, ProjectRefusal (the project does not permit the app's
        repository, destination or namespace; not checked without ``whole_app``, for
        the cascade deletion of what the app deployed earlier) or ConfigError (an
        invalid project).
        """
        app = self.parsed.parse(app_obj)
        target = target or await self.target(app_obj)
        namespace = str((app_obj.get("metadata") or {}).get("namespace") or "")
        control = self.control_namespace or namespace
        project = await self.projects.get(app.project, control)
        if not whole_app:
            return Fence(project, target.server, target.name)
        refusal = app_refusal(
            project,
            [s.repo_url for s in app.effective_sources],
            target.server,
            target.name,
            app.destination.namespace,
            namespace,
            control,
            target.project,
        )
        if refusal is not None:
            raise ProjectRefusal(refusal)
        return Fence(project, target.server, target.name)

    async def compare(
        self, app_obj: Obj, revision: str | None = None, revisions: Sequence[str] | None = None
    ) -> Comparison:
        try:
            app = self.parsed.parse(app_obj)
        except GitwardError as exc:  # e.g. a repoURL like http://] or a source that is text
            return invalid_spec(app_obj, str(exc))
        try:
            target = await self.target(app_obj)
        except GitwardError as exc:
            return failed_comparison(app, revision or "", str(exc))
        try:
            fence = await self.fence(app_obj, target)
        except ConfigError as exc:
            return failed_comparison(app, revision or "", str(exc), INVALID_SPEC_ERROR)
        except GitwardError as exc:  # the projects could not be read
            return failed_comparison(app, revision or "", str(exc))
        previous = (app_obj.get("status") or {}).get("resources") or []
        comparison = await compare_app(
            target.client,
            app,
            self.manifests,
            self.settings,
            revision=revision,
            previous_resources=previous,
            live=target.live,
            revisions=revisions,
            fence=fence,
            memo=self.memo,
        )
        await self._find_orphans(comparison, fence, target)
        return comparison

    async def source_keys(self, app_obj: Obj, position: int) -> set[tuple[str, str, str]]:
        """(group, kind, name) of what source ``position`` (1-based) of a multi-source app
        renders: ``--source-position`` of ``app diff`` and ``app manifests``."""
        app = self.parsed.parse(app_obj)
        if not app.sources:
            raise ConfigError("--source-position applies to applications with spec.sources")
        if not isinstance(self.manifests, ManifestService):
            raise ConfigError("--source-position cannot be combined with --local")
        rendered = await self.manifests.generate(app, positions=[position], allow_empty=True)
        return {
            (
                str(o["apiVersion"]).rpartition("/")[0],
                str(o["kind"]),
                str(o["metadata"].get("name")),
            )
            for o in rendered.objects
        }

    async def _find_orphans(self, comparison: Comparison, fence: Fence, target: Target) -> None:
        """Orphaned resources of the app's namespace, when its project monitors them."""
        monitor = fence.project.orphaned_resources
        namespace = comparison.app.destination.namespace
        if monitor is None or not namespace or comparison.sync_status is SyncStatus.UNKNOWN:
            return
        try:
            comparison.orphans = await self.orphans.orphans(target.client, namespace, fence)
        except ClusterError as exc:  # a warning that cannot be computed is not a failure
            log.warning("app %s: cannot list orphaned resources: %s", comparison.app.name, exc)
            return
        if monitor.warn and comparison.orphans:
            comparison.conditions.append(orphaned_condition(comparison.orphans))

    async def refresh(
        self, app_obj: Obj, extra_conditions: Iterable[Obj] = ()
    ) -> tuple[Obj, Comparison]:
        """Compare and write status; return the stored Application and the comparison.

        ``extra_conditions`` (the controller's, e.g. a dependency not ready yet)
        are stored with the comparison's own, so a refresh never wipes them.
        """
        comparison = await self.compare(app_obj)
        comparison.conditions.extend(extra_conditions)
        return (await self.write(app_obj, comparison)).app, comparison

    async def write(self, app_obj: Obj, comparison: Comparison) -> Written:
        """Store ``comparison`` in the app's status: the stored Application, and how long
        a write of changed health messages only was held."""
        return await write_status(
            self.client,
            app_obj,
            comparison,
            unchanged_for=self.unchanged_status_for,
            messages_every=self.messages_every,
        )

    @staticmethod
    def diffs(comparison: Comparison) -> list[tuple[str, str]]:
        """(label, unified diff) for every resource that differs."""
        found = []
        for state in comparison.resources:
            if state.hook:
                continue
            label = f"{state.key.group}/{state.key.kind} {state.key.namespace}/{state.key.name}"
            if state.requires_pruning:
                text = diff.unified(
                    diff.ResourceDiff(
                        True, live=diff.normalize_live(state.live or {}), target=None
                    ),
                    label,
                )
                found.append((label, text))
            elif state.difference is not None and state.difference.modified:
                found.append((label, diff.unified(state.difference, label)))
        return found
