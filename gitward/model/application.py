"""The Argo CD ``Application``: sources, destination and sync policy, parsed and checked.

An Application written for Argo CD must parse unchanged, so every default is
Argo CD's (project ``default``, namespace ``argocd``, ``targetRevision`` HEAD,
ten history entries). What gitward does not interpret (``ignoreDifferences``
rules, ``info``, the rest of the object) is kept as written: the parsed
fields are typed, and :attr:`Application.raw` keeps the original dict.

Errors are :class:`ConfigError` naming the file, document and field, e.g.
``apps.yaml: document 2: spec.destination: set server or name``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from gitward._util.yamlload import load_all
from gitward.model.destination import destination_problem
from gitward.model.durations import DurationError, parse_duration
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION, APPLICATION
from gitward.model.source_spec import ApplicationSource, FieldReader, source_from
from gitward.model.sync_options import parse as parse_sync_options

_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


@dataclass(frozen=True)
class Destination:
    """Where the manifests go: a cluster (by API server URL or by name) and a default namespace."""

    server: str = ""
    name: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class Automated:
    """``syncPolicy.automated``: sync on every change, optionally prune and heal drift."""

    prune: bool = False
    self_heal: bool = False
    allow_empty: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class Backoff:
    """Retry backoff, Argo CD's defaults: 5s doubling up to 3m."""

    duration: str = "5s"
    factor: int = 2
    max_duration: str = "3m"

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based), capped at the maximum."""
        base = parse_duration(self.duration) * float(self.factor) ** attempt
        return min(base, parse_duration(self.max_duration))


@dataclass(frozen=True)
class Retry:
    """``syncPolicy.retry``: ``limit`` attempts (negative: unlimited) with backoff."""

    limit: int = 0
    backoff: Backoff = field(default_factory=Backoff)


@dataclass(frozen=True)
class ManagedNamespaceMetadata:
    """Labels and annotations put on a namespace that ``CreateNamespace=true`` creates."""

    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncPolicy:
    """``spec.syncPolicy``; ``automated`` is None for manual sync."""

    automated: Automated | None = None
    sync_options: tuple[str, ...] = ()
    retry: Retry | None = None
    managed_namespace_metadata: ManagedNamespaceMetadata | None = None

    def option(self, name: str) -> str | None:
        """The value of ``NAME=value`` in ``syncOptions`` (last one wins), or None."""
        found = None
        for item in self.sync_options:
            key, _, value = item.partition("=")
            if key.strip() == name:
                found = value.strip()
        return found


@dataclass(frozen=True, kw_only=True)
class Application:
    """An Application: what to deploy (sources), where (destination), and how (sync policy)."""

    name: str
    namespace: str = "argocd"
    project: str = "default"
    source: ApplicationSource | None = None
    sources: tuple[ApplicationSource, ...] = ()
    destination: Destination
    sync_policy: SyncPolicy | None = None
    ignore_differences: tuple[dict[str, Any], ...] = ()
    revision_history_limit: int = 10
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_multiple_sources(self) -> bool:
        """Argo CD uses ``sources`` whenever it is non-empty, ignoring ``source``."""
        return bool(self.sources)

    @property
    def effective_sources(self) -> tuple[ApplicationSource, ...]:
        """The sources Argo CD renders: ``sources`` if set, else the single ``source``."""
        if self.sources:
            return self.sources
        return (self.source,) if self.source is not None else ()

    @property
    def automated(self) -> bool:
        policy = self.sync_policy
        return bool(policy and policy.automated and policy.automated.enabled)


#: Levels of nesting a spec may have. Real specs stay far below it (a Helm
#: ``valuesObject`` a dozen levels deep is rare); the API server takes up to 10,000,
#: which a Python recursion over the object (copying, encoding, comparing) cannot.
MAX_SPEC_DEPTH = 100


def qualified_name(namespace: str, name: str, control_namespace: str) -> str:
    """Argo CD's name of an app: ``NAME`` in the control namespace, ``NS/NAME`` elsewhere."""
    return name if not namespace or namespace == control_namespace else f"{namespace}/{name}"


def split_qualified(key: str, control_namespace: str) -> tuple[str, str]:
    """(namespace, name) of a qualified name (a bare name lives in the control namespace)."""
    namespace, _, name = key.rpartition("/")
    return (namespace or control_namespace), name


def too_deep(value: Any, limit: int) -> str | None:
    """The field (its first three names) under which ``value`` nests deeper than ``limit``
    levels of mappings and lists, else None. Iterative: any depth is measured."""
    stack: list[tuple[Any, int, str, int]] = [(value, 0, "", 0)]  # node, depth, path, names
    while stack:
        node, depth, path, names = stack.pop()
        if depth > limit:
            return path
        if isinstance(node, dict):
            stack.extend(
                (v, depth + 1, f"{path}.{k}".lstrip("."), names + 1)
                if names < 3
                else (v, depth + 1, path, names)
                for k, v in node.items()
            )
        elif isinstance(node, list):
            stack.extend(
                (v, depth + 1, f"{path}[{i}]" if names < 3 else path, names)
                for i, v in enumerate(node)
            )
    return None


def parse_application(obj: Any, where: str) -> Application:
    """Parse one Application object; ``where`` names it in errors (``apps.yaml: document 2``)."""
    root = FieldReader(obj, "", where)
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    if api_version != API_VERSION or kind != APPLICATION:
        raise root.error(
            None,
            f"expected apiVersion {API_VERSION} kind {APPLICATION}, got {api_version!r} {kind!r}",
        )
    metadata = root.obj("metadata")
    if metadata is None:
        raise root.error("metadata", "required")
    name = metadata.string("name", required=True)
    if len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
        raise metadata.error(
            "name", f"{name!r} is not a valid name (lowercase letters, digits, '-' and '.')"
        )
    spec = root.obj("spec")
    if spec is None:
        raise root.error("spec", "required")
    spec.only(_SPEC_FIELDS, _SPEC_UNSUPPORTED)
    deep = too_deep(spec.data, MAX_SPEC_DEPTH)
    if deep is not None:
        raise spec.error(deep, f"nested more than {MAX_SPEC_DEPTH} levels deep")
    source = None
    source_reader = spec.obj("source")
    if source_reader is not None:
        source = source_from(source_reader)
    sources = tuple(source_from(spec.item_obj(item, path)) for item, path in spec.items("sources"))
    if source is None and not sources:
        raise spec.error("source", "required (or spec.sources)")
    return Application(
        name=name,
        namespace=metadata.string("namespace") or "argocd",
        project=spec.string("project") or "default",
        source=source,
        sources=sources,
        destination=_destination(spec),
        sync_policy=_sync_policy(spec.obj("syncPolicy")),
        ignore_differences=tuple(
            _raw_mapping(spec, item, path) for item, path in spec.items("ignoreDifferences")
        ),
        revision_history_limit=spec.integer("revisionHistoryLimit", 10),
        raw=obj,
    )


#: The ``spec`` fields gitward reads; ``info`` is Argo CD's free-form display text, kept.
_SPEC_FIELDS = (
    "source",
    "sources",
    "destination",
    "project",
    "syncPolicy",
    "ignoreDifferences",
    "info",
    "revisionHistoryLimit",
)
_SPEC_UNSUPPORTED = {
    "sourceHydrator": "not supported by gitward (hydrate into a branch and point source at it)"
}


def _raw_mapping(parent: FieldReader, item: Any, path: str) -> dict[str, Any]:
    return parent.item_obj(item, path).data


def _destination(spec: FieldReader) -> Destination:
    r = spec.obj("destination")
    if r is None:
        raise spec.error("destination", "required")
    r.only(("server", "name", "namespace"))
    dest = Destination(
        server=r.string("server"), name=r.string("name"), namespace=r.string("namespace")
    )
    problem = destination_problem(dest.server, dest.name)
    if problem is not None:
        raise r.error(None, problem.value)
    return dest


def _sync_policy(r: FieldReader | None) -> SyncPolicy | None:
    if r is None:
        return None
    r.only(("automated", "syncOptions", "retry", "managedNamespaceMetadata"))
    automated = None
    a = r.obj("automated")
    if a is not None:
        a.only(("prune", "selfHeal", "allowEmpty", "enabled"))
        automated = Automated(
            prune=a.flag("prune"),
            self_heal=a.flag("selfHeal"),
            allow_empty=a.flag("allowEmpty"),
            enabled=a.flag("enabled", True),
        )
    retry = None
    rr = r.obj("retry")
    if rr is not None:
        rr.only(("limit", "backoff", "refresh"))
        if rr.flag("refresh"):
            raise rr.error("refresh", "not supported by gitward: a retry runs at the same revision")
        backoff = Backoff()
        b = rr.obj("backoff")
        if b is not None:
            b.only(("duration", "factor", "maxDuration"))
            backoff = Backoff(
                duration=_duration(b, "duration", "5s"),
                factor=b.integer("factor", 2),
                max_duration=_duration(b, "maxDuration", "3m"),
            )
            if backoff.factor < 1:
                raise b.error("factor", f"must be at least 1, got {backoff.factor}")
        retry = Retry(limit=rr.integer("limit", 0), backoff=backoff)
    managed = None
    m = r.obj("managedNamespaceMetadata")
    if m is not None:
        m.only(("labels", "annotations"))
        managed = ManagedNamespaceMetadata(
            labels=m.str_map("labels"), annotations=m.str_map("annotations")
        )
    options = r.str_list("syncOptions")
    path = r.sub("syncOptions")
    parse_sync_options(options, f"{r.where}: {path}" if r.where else path)
    return SyncPolicy(
        automated=automated,
        sync_options=options,
        retry=retry,
        managed_namespace_metadata=managed,
    )


def _duration(r: FieldReader, key: str, default: str) -> str:
    value = r.string(key, default) or default
    try:
        parse_duration(value)
    except DurationError as exc:
        raise r.error(key, str(exc)) from None
    return value


def load_applications(text: str, filename: str) -> list[Application]:
    """Every Application in a multi-document YAML file; empty documents are skipped."""
    apps: list[Application] = []
    try:
        for index, doc in enumerate(load_all(text), start=1):
            if doc is None:
                continue
            where = f"{filename}: document {index}"
            if not isinstance(doc, dict):
                raise ConfigError(
                    f"{where}: expected an Application mapping, got {type(doc).__name__}"
                )
            if doc.get("kind") != APPLICATION or doc.get("apiVersion") != API_VERSION:
                raise ConfigError(
                    f"{where}: not an {API_VERSION} {APPLICATION} "
                    f"(apiVersion {doc.get('apiVersion')!r}, kind {doc.get('kind')!r})"
                )
            apps.append(parse_application(doc, where))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{filename}{line}: invalid YAML: {problem}") from None
    return apps
