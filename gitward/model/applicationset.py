"""The Argo CD ``ApplicationSet``: generators, one template, policies — parsed and checked.

An ApplicationSet written for Argo CD must parse unchanged. The parts gitward
interprets itself (template mode and options, sync policy, strategy, preserved
fields, the deletion threshold) are typed here; the generators and the
template stay the plain dicts the user wrote, because they are trees that get
templated with parameters (and a matrix's second generator is templated with
the first one's parameters before it runs).

Errors are :class:`ConfigError` naming the field, e.g.
``ApplicationSet argocd/guestbook: spec.syncPolicy.applicationsSync: ...``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION, APPLICATION_SET
from gitward.model.source_spec import FieldReader

#: ``syncPolicy.applicationsSync`` values; ``sync`` (the default) may create, update and delete.
APPLICATIONS_SYNC = ("create-only", "create-update", "create-delete", "sync")
#: Annotation: the largest share (``25%``) or count (``10``) of a set's apps one generation
#: may delete before it is held for approval.
MAX_DELETE_ANNOTATION = "gitward.io/max-delete"
DEFAULT_MAX_DELETE = "25%"
#: Annotation ``gitward appset approve`` writes: the digest of the held deletion it allows.
APPROVE_ANNOTATION = "gitward.io/approve-deletion"
#: Argo CD's annotation asking for a generation now (``true``), removed once handled.
REFRESH_ANNOTATION = "argocd.argoproj.io/application-set-refresh"

GENERATOR_KINDS = (
    "list",
    "clusters",
    "git",
    "matrix",
    "merge",
    "scmProvider",
    "pullRequest",
    "clusterDecisionResource",
    "plugin",
)
#: Generators Argo CD has that gitward refuses with a clear condition for now.
UNSUPPORTED_GENERATORS = ("scmProvider", "pullRequest", "clusterDecisionResource", "plugin")

_OPTION = re.compile(r"missingkey=(default|invalid|zero|error)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)%")


@dataclass(frozen=True)
class MaxDelete:
    """How many of a set's apps one generation may delete: a share, or a count."""

    fraction: float | None = 0.25
    count: int | None = None
    text: str = DEFAULT_MAX_DELETE

    def allowed(self, total: int) -> int:
        """Deletions allowed out of ``total`` apps (a share never allows fewer than one)."""
        if self.count is not None:
            return self.count
        assert self.fraction is not None
        return max(1, math.floor(total * self.fraction + 1e-9))

    @property
    def allows_all(self) -> bool:
        """Only an explicit ``100%`` lets one generation delete every app of the set."""
        return self.fraction is not None and self.fraction >= 1.0


def parse_max_delete(text: str, where: str) -> MaxDelete:
    """``25%`` or ``10``; a :class:`ConfigError` for anything else."""
    value = text.strip()
    percent = _PERCENT.fullmatch(value)
    if percent:
        fraction = float(percent[1]) / 100
        if fraction > 1:
            raise ConfigError(f"{where}: {MAX_DELETE_ANNOTATION}: {text!r} is above 100%")
        return MaxDelete(fraction=fraction, text=value)
    if value.isdigit():
        return MaxDelete(fraction=None, count=int(value), text=value)
    raise ConfigError(
        f"{where}: {MAX_DELETE_ANNOTATION}: {text!r} is neither a share (25%) nor a count (10)"
    )


@dataclass(frozen=True)
class RolloutStep:
    """One ``strategy.rollingSync.steps`` entry: which apps (by label), how many at once."""

    match_expressions: tuple[dict[str, Any], ...]
    max_update: int | str | None = None


@dataclass(frozen=True, kw_only=True)
class ApplicationSet:
    """An ApplicationSet as gitward interprets it; ``raw`` keeps the object as written."""

    name: str
    namespace: str
    uid: str = ""
    generators: tuple[dict[str, Any], ...]
    template: dict[str, Any]
    go_template: bool = False
    go_template_options: tuple[str, ...] = ()
    template_patch: str | None = None
    applications_sync: str = "sync"
    preserve_resources_on_deletion: bool = False
    preserved_annotations: tuple[str, ...] = ()
    preserved_labels: tuple[str, ...] = ()
    ignore_application_differences: tuple[dict[str, Any], ...] = ()
    apply_nested_selectors: bool = False
    rollout_steps: tuple[RolloutStep, ...] | None = None
    max_delete: MaxDelete = field(default_factory=MaxDelete)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def where(self) -> str:
        return f"ApplicationSet {self.namespace}/{self.name}"

    @property
    def may_update(self) -> bool:
        return self.applications_sync in ("create-update", "sync")

    @property
    def may_delete(self) -> bool:
        return self.applications_sync in ("create-delete", "sync")

    @property
    def rolling_sync(self) -> bool:
        return self.rollout_steps is not None


def _template(spec: FieldReader) -> dict[str, Any]:
    template = spec.raw_obj("template") or {}
    reader = FieldReader(template, spec.sub("template"), spec.where)
    meta = reader.obj("metadata")
    if meta is not None:
        meta.str_map("labels")
        meta.str_map("annotations")
        meta.str_list("finalizers")
        meta.string("name")
        meta.string("namespace")
    reader.raw_obj("spec")
    return template


def _strategy(spec: FieldReader) -> tuple[RolloutStep, ...] | None:
    strategy = spec.obj("strategy")
    if strategy is None:
        return None
    kind = strategy.string("type") or "AllAtOnce"
    if kind == "AllAtOnce":
        return None
    if kind != "RollingSync":
        raise strategy.error("type", f"{kind!r}: expected AllAtOnce or RollingSync")
    rolling = strategy.obj("rollingSync")
    if rolling is None:
        raise strategy.error("rollingSync", "required with type RollingSync")
    steps: list[RolloutStep] = []
    for item, path in rolling.items("steps"):
        step = rolling.item_obj(item, path)
        expressions = []
        for expr_item, expr_path in step.items("matchExpressions"):
            expr = step.item_obj(expr_item, expr_path)
            operator = expr.string("operator", required=True)
            if operator not in ("In", "NotIn"):
                raise expr.error("operator", f"{operator!r}: expected In or NotIn")
            expressions.append(
                {
                    "key": expr.string("key", required=True),
                    "operator": operator,
                    "values": list(expr.str_list("values")),
                }
            )
        raw_max = step.data.get("maxUpdate")
        if raw_max is not None and (
            isinstance(raw_max, bool)
            or not isinstance(raw_max, int | str)
            or (isinstance(raw_max, str) and not _PERCENT.fullmatch(raw_max))
        ):
            raise step.error("maxUpdate", f"{raw_max!r}: expected a count or a percentage")
        steps.append(RolloutStep(tuple(expressions), raw_max))
    return tuple(steps)


def parse_applicationset(obj: Any, where: str = "") -> ApplicationSet:
    """Parse one ApplicationSet object; ``where`` prefixes errors (a file name)."""
    if not isinstance(obj, dict):
        raise ConfigError(f"{where or 'ApplicationSet'}: expected a mapping")
    raw_meta = obj.get("metadata")
    meta_data: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    name = str(meta_data.get("name") or "")
    namespace = str(meta_data.get("namespace") or "argocd")
    label = f"{where + ': ' if where else ''}ApplicationSet {namespace}/{name or '?'}"
    root = FieldReader(obj, "", label)
    if obj.get("apiVersion") != API_VERSION or obj.get("kind") != APPLICATION_SET:
        raise root.error(
            None,
            f"expected apiVersion {API_VERSION} kind {APPLICATION_SET}, "
            f"got {obj.get('apiVersion')!r} {obj.get('kind')!r}",
        )
    metadata = root.obj("metadata")
    if metadata is None or not name:
        raise root.error("metadata.name", "required")
    annotations = metadata.str_map("annotations")
    spec = root.obj("spec")
    if spec is None:
        raise root.error("spec", "required")
    generators = []
    for item, path in spec.items("generators"):
        generators.append(spec.item_obj(item, path).data)
    options = spec.str_list("goTemplateOptions")
    for option in options:
        if not _OPTION.fullmatch(option):
            raise spec.error(
                "goTemplateOptions", f"{option!r}: expected missingkey=default|zero|error"
            )
    policy = spec.obj("syncPolicy")
    applications_sync = "sync"
    preserve = False
    if policy is not None:
        applications_sync = policy.string("applicationsSync") or "sync"
        if applications_sync not in APPLICATIONS_SYNC:
            raise policy.error(
                "applicationsSync",
                f"{applications_sync!r}: expected one of {', '.join(APPLICATIONS_SYNC)}",
            )
        preserve = policy.flag("preserveResourcesOnDeletion")
    preserved = spec.obj("preservedFields")
    patch = spec.data.get("templatePatch")
    if patch is not None and not isinstance(patch, str):
        raise spec.error("templatePatch", "expected a string (a YAML or JSON template)")
    ignore = tuple(spec.item_obj(i, p).data for i, p in spec.items("ignoreApplicationDifferences"))
    return ApplicationSet(
        name=name,
        namespace=namespace,
        uid=str(meta_data.get("uid") or ""),
        generators=tuple(generators),
        template=_template(spec),
        go_template=spec.flag("goTemplate"),
        go_template_options=options,
        template_patch=patch,
        applications_sync=applications_sync,
        preserve_resources_on_deletion=preserve,
        preserved_annotations=preserved.str_list("annotations") if preserved else (),
        preserved_labels=preserved.str_list("labels") if preserved else (),
        ignore_application_differences=ignore,
        apply_nested_selectors=spec.flag("applyNestedSelectors"),
        rollout_steps=_strategy(spec),
        max_delete=parse_max_delete(
            annotations.get(MAX_DELETE_ANNOTATION, DEFAULT_MAX_DELETE), label
        ),
        raw=obj,
    )
