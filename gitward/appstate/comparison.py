"""Compare one Application's desired state with the live cluster (a "refresh").

Steps: render the source at its revision; give each object its destination
namespace and tracking metadata; read the live counterparts; find live objects
that carry the app's tracking id but that Git no longer declares; compare each
pair (structurally, confirming a difference with a server-side dry-run so that
spelling differences the server would erase are not reported); assess health.

The result is data (:class:`Comparison`): the CLI prints it, the status writer
stores it in the Application, the sync planner acts on it. A render failure is
a ComparisonError condition with sync status Unknown — never an empty desired
state, so nothing downstream can mistake it for "prune everything".
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gitward import diff, health
from gitward._util.hashing import digest_of
from gitward._util.lru import BoundedLRU, LatestVersions
from gitward._util.versions import state_key
from gitward.appstate import respect_ignore
from gitward.appstate.settings import Settings
from gitward.cluster import ApiError, ClusterError, KubeClient, UnknownKind
from gitward.cluster.live import ApiLiveReader, LiveReader
from gitward.model.application import Application, Destination
from gitward.model.errors import GitwardError
from gitward.model.ordering import is_hook
from gitward.model.status import Health, HealthStatus, SyncStatus
from gitward.model.tracking import ResourceKey, TrackingMethod, with_tracking
from gitward.projects.fence import Fence
from gitward.sandbox.jqrun import default_runner

Obj = dict[str, Any]

COMPARE_OPTIONS_ANNOTATION = "argocd.argoproj.io/compare-options"
#: The Application's spec cannot be read or acted on, e.g. its project refuses it (Argo CD's
#: condition type for it).
INVALID_SPEC_ERROR = "InvalidSpecError"
#: A custom health check (argocd-cm Lua or CEL) failed; the resource's health is Unknown.
HEALTH_CHECK_ERROR = "HealthCheckError"
COMPARISON_ERROR = "ComparisonError"


class RenderedManifests(Protocol):
    revision: str
    objects: list[Obj]
    source_type: str
    revisions: tuple[str, ...]


class ManifestSource(Protocol):
    """What the comparison needs from the repo server (gitward.reposerver)."""

    async def generate(
        self,
        app: Application,
        revision: str | None = None,
        *,
        allow_empty: bool = False,
        revisions: Sequence[str] | None = None,
    ) -> RenderedManifests: ...


@dataclass
class ResourceState:
    """One resource as the comparison sees it."""

    key: ResourceKey
    api_version: str
    desired: Obj | None
    live: Obj | None
    status: SyncStatus
    health: Health | None
    difference: diff.ResourceDiff | None = None
    requires_pruning: bool = False
    hook: bool = False
    message: str = ""
    #: Why the app's project forbids this resource; such a resource is never touched.
    violation: str = ""
    #: ``RespectIgnoreDifferences=true``: what to apply instead of ``desired`` (ignored
    #: fields hold their live values); None when the option is off or nothing is live.
    respected: Obj | None = None

    def as_status(self) -> Obj:
        """The ``status.resources[]`` entry, as Argo CD writes it."""
        group, _, version = self.api_version.rpartition("/")
        entry: Obj = {
            "group": group,
            "version": version,
            "kind": self.key.kind,
            "name": self.key.name,
            "status": str(self.status),
        }
        if self.key.namespace:
            entry["namespace"] = self.key.namespace
        if self.health is not None:
            entry["health"] = self.health.as_dict()
        if self.requires_pruning:
            entry["requiresPruning"] = True
        if self.hook:
            entry["hook"] = True
        return entry


@dataclass
class Comparison:
    app: Application
    revision: str
    sync_status: SyncStatus
    health: Health
    resources: list[ResourceState] = field(default_factory=list)
    conditions: list[Obj] = field(default_factory=list)
    source_type: str = ""
    #: One resolved revision per ``spec.sources`` entry (multi-source apps only).
    revisions: tuple[str, ...] = ()
    #: The project rules the comparison was made within (None: unfenced, e.g. a failure).
    fence: Fence | None = None
    #: False when the spec could not be read (:func:`invalid_spec`): nothing was compared.
    spec_valid: bool = True
    #: Orphaned resources of the destination namespace, when the project monitors them.
    orphans: list[ResourceKey] = field(default_factory=list)

    @property
    def out_of_sync(self) -> list[ResourceState]:
        return [r for r in self.resources if r.status is SyncStatus.OUT_OF_SYNC]

    @property
    def images(self) -> list[str]:
        found: set[str] = set()
        for r in self.resources:
            found.update(_images(r.live or r.desired or {}))
        return sorted(found)


def failed_comparison(
    app: Application, revision: str, message: str, condition: str = COMPARISON_ERROR
) -> Comparison:
    """A comparison that could not be made: Unknown, with the reason as a condition.

    It lists no resources, and sync status Unknown stops every sync and prune.
    """
    return Comparison(
        app,
        revision,
        SyncStatus.UNKNOWN,
        Health(HealthStatus.UNKNOWN, "comparison failed"),
        conditions=[{"type": condition, "message": message}],
    )


def invalid_spec(app_obj: Obj, message: str) -> Comparison:
    """The comparison of an Application whose spec gitward cannot read: an InvalidSpecError
    condition naming the field, sync and health Unknown, nothing listed — so nothing is
    synced or pruned, as for any failed comparison.

    Its ``app`` carries only the object's name and namespace (the spec is what failed).
    """
    meta = app_obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    app = Application(
        name=str(meta.get("name") or ""),
        namespace=str(meta.get("namespace") or "argocd"),
        destination=Destination(),
        raw=app_obj,
    )
    return Comparison(
        app,
        "",
        SyncStatus.UNKNOWN,
        Health(HealthStatus.UNKNOWN, "the spec is invalid"),
        conditions=[{"type": INVALID_SPEC_ERROR, "message": message}],
        spec_valid=False,
    )


def _images(obj: Obj) -> Iterable[str]:
    stack: list[Any] = [obj.get("spec")]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in ("containers", "initContainers"):
                for c in node.get(key) or []:
                    if isinstance(c, dict) and c.get("image"):
                        yield str(c["image"])
            stack.extend(v for k, v in node.items() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(node)


class CompareMemo:
    """What comparisons remember from one run to the next; its owner sets its lifetime.

    The :class:`~gitward.appstate.refresh.Refresher` owns one for as long as it lives (the
    controller's lifetime, so every refresh of a steady app reuses its verdicts); a
    comparison made without one gets a fresh memo and forgets when it returns (the CLI).

    - ``outcomes``: by (server, live uid), for the live resourceVersion and the digest
      of desired + rules last asked about: True when applying would change nothing. A
      live object never changes under one resourceVersion, so the same question asked
      again (every refresh of a steady app, the sync right after its refresh) is
      answered without diffing or a dry-run. One verdict per live object: a verdict
      for a superseded version or an older desired state is never asked for again, and
      keeping them (one per push to every object) grew the memo to its bound.
    - ``system_rules``: argocd-cm's ``resource.customizations.ignoreDifferences``,
      parsed once per content.
    """

    def __init__(self, outcomes: int = 50_000, rule_sets: int = 8) -> None:
        self.outcomes: LatestVersions[tuple[str, str], bool] = LatestVersions(outcomes)
        self.system_rules: BoundedLRU[str, list[diff.IgnoreRule]] = BoundedLRU(rule_sets)

    def rules_of(self, settings: Settings) -> list[diff.IgnoreRule]:
        """argocd-cm's system-wide ignore rules, parsed once per content."""
        entries = settings.overrides.ignore_entries()
        if not entries:
            return []
        key = json.dumps(entries, sort_keys=True)
        found = self.system_rules.get(key)
        if found is None:
            found = diff.parse_rules(
                entries,
                "argocd-cm resource.customizations",
                jq_timeout=settings.jq_timeout_seconds,
                jq=default_runner(),
            )
            self.system_rules.put(key, found)
        return found


def _ignores_extraneous(obj: Obj) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return "IgnoreExtraneous" in str(annotations.get(COMPARE_OPTIONS_ANNOTATION, ""))


async def _is_namespaced(client: KubeClient, obj: Obj, desired: list[Obj]) -> bool | None:
    """Scope of ``obj``'s kind: from discovery, else from a CRD in the same render."""
    try:
        return (await client.resource_of(obj)).namespaced
    except UnknownKind:
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        for crd in desired:
            spec = crd.get("spec") or {}
            if (
                crd.get("kind") == "CustomResourceDefinition"
                and spec.get("group") == group
                and (spec.get("names") or {}).get("kind") == obj.get("kind")
            ):
                return bool(spec.get("scope") == "Namespaced")
        return None


async def prepare_desired(
    client: KubeClient, app: Application, objects: list[Obj], tracking: TrackingMethod
) -> tuple[list[Obj], list[str], set[int]]:
    """Objects with namespaces defaulted and tracking metadata set; per-object errors;
    and the ``id()`` of each prepared object whose kind is cluster-scoped."""
    default_ns = app.destination.namespace
    prepared: list[Obj] = []
    errors: list[str] = []
    cluster_scoped: set[int] = set()
    for obj in objects:
        namespaced = await _is_namespaced(client, obj, objects)
        meta = dict(obj.get("metadata") or {})
        if namespaced is None:
            errors.append(
                f"{obj.get('kind')} {meta.get('name')}: the cluster serves no kind "
                f"{obj.get('kind')!r} in {obj.get('apiVersion')!r}"
            )
        elif namespaced and not meta.get("namespace"):
            meta["namespace"] = default_ns
        elif not namespaced:
            meta.pop("namespace", None)
        done = with_tracking({**obj, "metadata": meta}, app.name, tracking)
        if namespaced is False:
            cluster_scoped.add(id(done))
        prepared.append(done)
    return prepared, errors, cluster_scoped


def _outcome_key(
    server: str, desired: Obj, live: Obj, rules: list[diff.IgnoreRule]
) -> tuple[tuple[str, str], str] | None:
    """((server, live uid), "resourceVersion/digest of desired + rules") for the memo."""
    state = state_key(live)
    if state is None:
        return None
    text = json.dumps([desired, repr(rules)], sort_keys=True, separators=(",", ":"))
    uid, version = state
    return (server, uid), f"{version}/{digest_of([text], 32)}"


async def _dry_run_agrees(
    client: KubeClient, desired: Obj, live: Obj, rules: list[diff.IgnoreRule]
) -> bool:
    """True when the server says applying ``desired`` would leave ``live`` unchanged."""
    try:
        predicted = await client.apply(desired, force=True, dry_run=True)
    except ApiError:
        return False  # the apply itself would fail: certainly not in sync
    return await diff.compare_exact(predicted, live, rules)


async def compare_app(
    client: KubeClient,
    app: Application,
    manifests: ManifestSource,
    settings: Settings,
    *,
    revision: str | None = None,
    previous_resources: Iterable[Obj] = (),
    concurrency: int = 16,
    live: LiveReader | None = None,
    revisions: Sequence[str] | None = None,
    fence: Fence | None = None,
    memo: CompareMemo | None = None,
) -> Comparison:
    """Refresh ``app``: what Git declares vs what runs, per resource.

    ``client`` talks to the destination cluster; ``live`` answers reads of its
    objects (default: the API itself; the controller passes its watch cache).
    ``fence`` (the app's project rules): a desired resource outside it is listed
    OutOfSync with its ``violation`` and a condition, and never read, diffed or
    dry-run; a live object outside it is not the app's, so never RequiresPruning.
    ``memo``: what earlier comparisons found (see :class:`CompareMemo`); none kept
    beyond this call when not given.
    """
    memo = memo or CompareMemo()
    try:
        rendered = await manifests.generate(
            app, revision, allow_empty=True, revisions=revisions or None
        )
    except GitwardError as exc:
        return failed_comparison(app, revision or "", str(exc))
    tracking = settings.tracking
    desired, errors, cluster_scoped = await prepare_desired(client, app, rendered.objects, tracking)
    try:
        reader = await (live or ApiLiveReader(client, tracking)).for_objects(desired)
    except ClusterError as exc:
        return failed_comparison(app, rendered.revision, str(exc))
    conditions = [{"type": COMPARISON_ERROR, "message": e} for e in errors]

    def violation(key: ResourceKey, namespaced: bool) -> str | None:
        if fence is None:
            return None
        return fence.violation(key.group, key.kind, key.name, key.namespace, namespaced)

    overrides = settings.overrides
    health_errors: list[str] = []
    try:
        all_rules = diff.parse_rules(
            app.ignore_differences, jq_timeout=settings.jq_timeout_seconds, jq=default_runner()
        ) + memo.rules_of(settings)
    except GitwardError as exc:  # e.g. a jq expression refused as unsafe: say so, compare nothing
        return failed_comparison(app, rendered.revision, str(exc))
    semaphore = asyncio.Semaphore(concurrency)
    own_options = respect_ignore.spec_options(app)

    async def one(obj: Obj) -> ResourceState:
        key = ResourceKey.of(obj)
        hook = is_hook(obj)
        refused = violation(key, id(obj) not in cluster_scoped)
        if refused is not None:
            conditions.append({"type": COMPARISON_ERROR, "message": refused})
            return ResourceState(
                key,
                obj["apiVersion"],
                obj,
                None,
                SyncStatus.OUT_OF_SYNC,
                None,
                hook=hook,
                violation=refused,
            )
        async with semaphore:
            meta = obj["metadata"]
            live = None  # a hook with generateName is a new object every run: nothing to read
            if meta.get("name"):
                api_version, kind = obj["apiVersion"], obj["kind"]
                live = await reader.get(api_version, kind, meta["name"], meta.get("namespace"))
            if hook:
                return ResourceState(
                    key,
                    obj["apiVersion"],
                    obj,
                    live,
                    SyncStatus.SYNCED,
                    health.assess(live, overrides, health_errors) if live else None,
                    hook=True,
                )
            rules = diff.rules_for(all_rules, key.group, key.kind, key.name, key.namespace)
            memo_key = _outcome_key(client.server, obj, live, rules) if live is not None else None
            known = memo.outcomes.get(*memo_key) if memo_key is not None else None
            if known:
                result = diff.ResourceDiff(False)  # in sync, as found for this very version
            else:
                result = await diff.compare(obj, live, rules)
                in_sync = not result.modified
                if result.modified and live is not None and not result.removed:
                    # A structural difference the server may erase (defaults, spellings).
                    in_sync = (
                        known
                        if known is not None
                        else await _dry_run_agrees(client, obj, live, rules)
                    )
                    if in_sync:
                        result = diff.ResourceDiff(False, live=result.live, target=result.live)
                if memo_key is not None:
                    memo.outcomes.put(*memo_key, in_sync)
        status = SyncStatus.OUT_OF_SYNC if result.modified else SyncStatus.SYNCED
        verdict = (
            health.assess(live, overrides, health_errors) if live is not None else health.missing()
        )
        state = ResourceState(key, obj["apiVersion"], obj, live, status, verdict, result)
        if live is not None and rules and respect_ignore.wanted(own_options, obj):
            state.respected = await respect_ignore.keep_live_ignored(obj, live, rules)
        return state

    try:
        states = list(await asyncio.gather(*(one(obj) for obj in desired)))
        kinds = {(str(o["apiVersion"]), str(o["kind"])) for o in desired}
        for entry in previous_resources:
            group, version = entry.get("group", ""), entry.get("version", "")
            kinds.add((f"{group}/{version}" if group else version, str(entry.get("kind", ""))))
        declared = {ResourceKey.of(o) for o in desired}
        for extra in await reader.tracked(app.name, kinds):
            key = ResourceKey.of(extra)
            if key in declared or _ignores_extraneous(extra):
                continue
            if fence is not None and fence.live_violation(key) is not None:
                continue  # outside the project's fence: not this app's to prune
            states.append(
                ResourceState(
                    key,
                    str(extra["apiVersion"]),
                    None,
                    extra,
                    SyncStatus.OUT_OF_SYNC,
                    health.assess(extra, overrides, health_errors),
                    requires_pruning=True,
                )
            )
    except ClusterError as exc:
        failed = failed_comparison(app, rendered.revision, str(exc))
        failed.source_type = rendered.source_type
        return failed
    states.sort(key=lambda s: s.key)
    counted = [s for s in states if not s.hook]
    sync = (
        SyncStatus.OUT_OF_SYNC
        if any(s.status is SyncStatus.OUT_OF_SYNC for s in counted)
        else SyncStatus.SYNCED
    )
    if errors:
        sync = SyncStatus.OUT_OF_SYNC
    app_health = health.roll_up(s.health for s in counted if not s.requires_pruning)
    conditions += [{"type": HEALTH_CHECK_ERROR, "message": e} for e in health_errors]
    return Comparison(
        app,
        rendered.revision,
        sync,
        app_health,
        states,
        conditions,
        rendered.source_type,
        tuple(rendered.revisions) if app.has_multiple_sources else (),
        fence,
    )
