"""An Argo CD ``ApplicationSource``: where manifests come from and how to render them.

Parsed from the same camelCase fields Argo CD accepts, into frozen dataclasses
with snake_case names. Values are checked as strictly as the Kubernetes API
server checks the Application CRD (a string field given a number is an error,
not a silent conversion, because ``1.10`` would become ``1.1``), and every
error names the exact field path, e.g. ``spec.source.helm.parameters[2].name:
required``. Fields Argo CD defines that gitward does not act on
(``kustomize.version``, a ``helm.version`` other than ``v3``) are refused with an
error naming the field, never accepted and ignored.

Mapping-valued fields (labels, ``valuesObject``) are plain dicts, so these
dataclasses compare by value but are not hashable; :meth:`ApplicationSource.options_key`
is the stable key to use for caches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from gitward.model.errors import ConfigError

#: The renderers gitward implements, as ``detect`` and ``explicit_type`` name them.
SOURCE_TYPES = ("directory", "helm", "kustomize", "plugin")

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class FieldReader:
    """One mapping being parsed, and the dotted path that names it in error messages.

    ``where`` is a prefix naming the document (``apps.yaml document 2``); ``path``
    is the field path inside it (``spec.source.helm``).
    """

    def __init__(self, data: Any, path: str, where: str = "") -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{_at(where, path)}: expected a mapping, got {_type_name(data)}")
        self.data: dict[str, Any] = data
        self.path = path
        self.where = where

    def error(self, key: str | None, message: str) -> ConfigError:
        """A :class:`ConfigError` naming ``key`` under this mapping (or the mapping itself)."""
        return ConfigError(f"{_at(self.where, self.sub(key) if key else self.path)}: {message}")

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def string(self, key: str, default: str = "", *, required: bool = False) -> str:
        value = self.data.get(key)
        if value is None or (required and value == ""):
            if required:
                raise self.error(key, "required")
            return default
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {_type_name(value)} (quote it)")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {_type_name(value)}")
        return value

    def integer(self, key: str, default: int) -> int:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {_type_name(value)}")
        return value

    def only(self, known: Collection[str], unsupported: Mapping[str, str] | None = None) -> None:
        """Refuse every field gitward would not act on, so none is accepted and ignored.

        ``unsupported`` maps fields Argo CD defines but gitward does not implement to
        the reason given; any other field not in ``known`` is reported as unknown.
        """
        for key in self.data:
            name = str(key)
            if unsupported and name in unsupported:
                raise self.error(_short(name), unsupported[name])
            if name not in known:
                listed = ", ".join(sorted(known))
                raise self.error(_short(name), f"unknown field (gitward reads {listed})")

    def obj(self, key: str) -> FieldReader | None:
        value = self.data.get(key)
        return None if value is None else FieldReader(value, self.sub(key), self.where)

    def raw_obj(self, key: str) -> dict[str, Any] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(key, f"expected a mapping, got {_type_name(value)}")
        return value

    def items(self, key: str) -> list[tuple[Any, str]]:
        """The elements of a list field, each with its own path (``key[3]``)."""
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(key, f"expected a list, got {_type_name(value)}")
        return [(item, f"{self.sub(key)}[{i}]") for i, item in enumerate(value)]

    def item_obj(self, item: Any, path: str) -> FieldReader:
        return FieldReader(item, path, self.where)

    def str_list(self, key: str) -> tuple[str, ...]:
        out: list[str] = []
        for item, path in self.items(key):
            if not isinstance(item, str):
                raise ConfigError(
                    f"{_at(self.where, path)}: expected a string, got {_type_name(item)}"
                )
            out.append(item)
        return tuple(out)

    def str_map(self, key: str) -> dict[str, str]:
        value = self.raw_obj(key)
        if value is None:
            return {}
        for name, item in value.items():
            if not isinstance(name, str) or not isinstance(item, str):
                bad = name if not isinstance(name, str) else item
                raise self.error(
                    f"{key}.{name}", f"expected string keys and values, got {_type_name(bad)}"
                )
        return dict(value)


def _short(name: str) -> str:
    """A field name as an error may quote it: hostile names are cut, not echoed whole."""
    return name if len(name) <= 64 else name[:61] + "..."


def _at(where: str, path: str) -> str:
    return f"{where}: {path}" if where and path else (where or path)


def _type_name(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), type(value).__name__)


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values so that ``to_dict`` output is canonical (omitempty, like Argo CD)."""
    return {k: v for k, v in data.items() if v not in (None, "", False, (), [], {})}


@dataclass(frozen=True)
class JsonnetVar:
    """One ``extVars`` or ``tlas`` entry: a string, or Jsonnet code when ``code``."""

    name: str
    value: str = ""
    code: bool = False

    def to_dict(self) -> dict[str, Any]:
        return _compact({"name": self.name, "value": self.value, "code": self.code})


@dataclass(frozen=True)
class JsonnetSpec:
    """``directory.jsonnet``: external variables, top-level arguments, library paths."""

    ext_vars: tuple[JsonnetVar, ...] = ()
    tlas: tuple[JsonnetVar, ...] = ()
    libs: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.ext_vars or self.tlas or self.libs)

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "extVars": [v.to_dict() for v in self.ext_vars],
                "tlas": [v.to_dict() for v in self.tlas],
                "libs": list(self.libs),
            }
        )


@dataclass(frozen=True)
class DirectorySpec:
    """``directory``: which manifest files of the path to load, and how to evaluate Jsonnet."""

    recurse: bool = False
    include: str = ""
    exclude: str = ""
    jsonnet: JsonnetSpec = field(default_factory=JsonnetSpec)

    def is_zero(self) -> bool:
        return not (self.recurse or self.include or self.exclude or self.jsonnet)

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "recurse": self.recurse,
                "include": self.include,
                "exclude": self.exclude,
                "jsonnet": self.jsonnet.to_dict(),
            }
        )


@dataclass(frozen=True)
class KustomizeReplica:
    """One ``kustomize edit set replicas NAME=COUNT`` override."""

    name: str
    count: int


@dataclass(frozen=True)
class KustomizePatch:
    """One entry appended to the kustomization's ``patches`` (inline ``patch`` or a ``path``)."""

    path: str = ""
    patch: str = ""
    target: Mapping[str, str] | None = None
    options: Mapping[str, bool] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "path": self.path,
                "patch": self.patch,
                "target": dict(self.target) if self.target else None,
                "options": dict(self.options),
            }
        )


@dataclass(frozen=True)
class KustomizeSpec:
    """``kustomize``: edits Argo CD applies to the kustomization before ``kustomize build``."""

    name_prefix: str = ""
    name_suffix: str = ""
    images: tuple[str, ...] = ()
    common_labels: Mapping[str, str] = field(default_factory=dict)
    common_annotations: Mapping[str, str] = field(default_factory=dict)
    common_annotations_envsubst: bool = False
    force_common_labels: bool = False
    force_common_annotations: bool = False
    label_without_selector: bool = False
    label_include_templates: bool = False
    namespace: str = ""
    replicas: tuple[KustomizeReplica, ...] = ()
    patches: tuple[KustomizePatch, ...] = ()
    components: tuple[str, ...] = ()
    ignore_missing_components: bool = False
    #: Argo CD's choice of kustomize binary; gitward runs the one kustomize it has.
    version: str = ""

    def has_edits(self) -> bool:
        """Whether any option changes the kustomization (so a writable copy is needed)."""
        return bool(
            self.name_prefix
            or self.name_suffix
            or self.images
            or self.common_labels
            or self.common_annotations
            or self.namespace
            or self.replicas
            or self.patches
            or self.components
        )

    def is_zero(self) -> bool:
        return not self.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "namePrefix": self.name_prefix,
                "nameSuffix": self.name_suffix,
                "images": list(self.images),
                "commonLabels": dict(self.common_labels),
                "commonAnnotations": dict(self.common_annotations),
                "commonAnnotationsEnvsubst": self.common_annotations_envsubst,
                "forceCommonLabels": self.force_common_labels,
                "forceCommonAnnotations": self.force_common_annotations,
                "labelWithoutSelector": self.label_without_selector,
                "labelIncludeTemplates": self.label_include_templates,
                "namespace": self.namespace,
                "replicas": [{"name": r.name, "count": r.count} for r in self.replicas],
                "patches": [p.to_dict() for p in self.patches],
                "components": list(self.components),
                "ignoreMissingComponents": self.ignore_missing_components,
                "version": self.version,
            }
        )


@dataclass(frozen=True)
class HelmParameter:
    """``--set NAME=VALUE`` (``--set-string`` when ``force_string``)."""

    name: str
    value: str = ""
    force_string: bool = False


@dataclass(frozen=True)
class HelmFileParameter:
    """``--set-file NAME=PATH``, the path relative to the chart directory."""

    name: str
    path: str


@dataclass(frozen=True)
class HelmSpec:
    """``helm``: the arguments of ``helm template``."""

    release_name: str = ""
    value_files: tuple[str, ...] = ()
    values: str = ""
    values_object: Mapping[str, Any] | None = None
    parameters: tuple[HelmParameter, ...] = ()
    file_parameters: tuple[HelmFileParameter, ...] = ()
    skip_crds: bool = False
    skip_schema_validation: bool = False
    skip_tests: bool = False
    namespace: str = ""
    kube_version: str = ""
    api_versions: tuple[str, ...] = ()
    ignore_missing_value_files: bool = False
    #: Send the repository's credentials to chart URLs on other hosts too (as Helm's flag).
    pass_credentials: bool = False
    #: Argo CD's choice of Helm major version; gitward runs Helm 3.
    version: str = ""

    def values_yaml(self) -> str:
        """The inline values document: ``valuesObject`` wins over ``values``, as in Argo CD."""
        if self.values_object is not None:
            return json.dumps(self.values_object, sort_keys=True)
        return self.values

    def is_zero(self) -> bool:
        return not self.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "releaseName": self.release_name,
                "valueFiles": list(self.value_files),
                "values": self.values,
                "valuesObject": self.values_object,
                "parameters": [
                    _compact({"name": p.name, "value": p.value, "forceString": p.force_string})
                    for p in self.parameters
                ],
                "fileParameters": [{"name": p.name, "path": p.path} for p in self.file_parameters],
                "skipCrds": self.skip_crds,
                "skipSchemaValidation": self.skip_schema_validation,
                "skipTests": self.skip_tests,
                "namespace": self.namespace,
                "kubeVersion": self.kube_version,
                "apiVersions": list(self.api_versions),
                "ignoreMissingValueFiles": self.ignore_missing_value_files,
                "passCredentials": self.pass_credentials,
                "version": self.version,
            }
        )


@dataclass(frozen=True)
class PluginParameter:
    """One ``plugin.parameters`` entry: a string, an array or a map."""

    name: str
    string: str | None = None
    array: tuple[str, ...] | None = None
    map: Mapping[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.string is not None:
            out["string"] = self.string
        if self.array is not None:
            out["array"] = list(self.array)
        if self.map is not None:
            out["map"] = dict(self.map)
        return out


@dataclass(frozen=True)
class PluginSpec:
    """``plugin``: which config management plugin (by name, or discovered) and its input."""

    name: str = ""
    env: tuple[tuple[str, str], ...] = ()
    parameters: tuple[PluginParameter, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "name": self.name,
                "env": [{"name": n, "value": v} for n, v in self.env],
                "parameters": [p.to_dict() for p in self.parameters],
            }
        )


@dataclass(frozen=True, kw_only=True)
class ApplicationSource:
    """A repository, a revision, a path in it, and how to render what is there."""

    repo_url: str
    target_revision: str = "HEAD"
    path: str = ""
    chart: str = ""
    ref: str = ""
    name: str = ""
    directory: DirectorySpec | None = None
    kustomize: KustomizeSpec | None = None
    helm: HelmSpec | None = None
    plugin: PluginSpec | None = None

    def explicit_type(self) -> str | None:
        """The renderer the spec asks for by setting its options, if it does.

        Argo CD uses the one non-empty block among ``directory``/``kustomize``/``helm``
        and only looks at the files when none is set; :func:`parse_source` has
        already refused a source that sets more than one.
        """
        for kind in _explicit_types(self):
            return kind
        return None

    def to_dict(self) -> dict[str, Any]:
        """The source in Argo CD's JSON shape, empty fields omitted."""
        return _compact(
            {
                "repoURL": self.repo_url,
                "targetRevision": self.target_revision,
                "path": self.path,
                "chart": self.chart,
                "ref": self.ref,
                "name": self.name,
                "directory": self.directory.to_dict() if self.directory else None,
                "kustomize": self.kustomize.to_dict() if self.kustomize else None,
                "helm": self.helm.to_dict() if self.helm else None,
                "plugin": (self.plugin.to_dict() or {"name": ""}) if self.plugin else None,
            }
        )

    def options_key(self) -> str:
        """Canonical JSON of everything in the source that changes the rendered manifests.

        ``targetRevision``, ``ref`` and ``name`` are left out: a cache is keyed by
        the resolved commit, and the other two only label the source. The build
        environment (app name, namespace, kube version) is not part of the source;
        callers add it to their key.
        """
        data = self.to_dict()
        for key in ("targetRevision", "ref", "name"):
            data.pop(key, None)
        data["path"] = normalise_path(self.path)
        return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def normalise_path(path: str) -> str:
    """``""``, ``"."`` and ``"./"`` all name the repository root; strip such noise."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


def _explicit_types(source: ApplicationSource) -> list[str]:
    kinds = []
    if source.directory is not None and not source.directory.is_zero():
        kinds.append("directory")
    if source.helm is not None and not source.helm.is_zero():
        kinds.append("helm")
    if source.kustomize is not None and not source.kustomize.is_zero():
        kinds.append("kustomize")
    if source.plugin is not None:
        kinds.append("plugin")
    return kinds


def parse_source(data: Any, where: str = "spec.source") -> ApplicationSource:
    """Parse one ``ApplicationSource`` mapping; errors name fields under ``where``."""
    return source_from(FieldReader(data, where))


def source_from(r: FieldReader) -> ApplicationSource:
    """Parse the source that ``r`` reads (used for ``spec.source`` and ``spec.sources[i]``)."""
    directory = _directory_from(r.obj("directory"))
    kustomize = _kustomize_from(r.obj("kustomize"))
    helm = _helm_from(r.obj("helm"))
    source = ApplicationSource(
        repo_url=_repo_url(r),
        target_revision=_bounded(r, "targetRevision", MAX_REVISION_LENGTH) or "HEAD",
        path=r.string("path"),
        chart=r.string("chart"),
        ref=r.string("ref"),
        name=r.string("name"),
        directory=directory,
        kustomize=kustomize,
        helm=helm,
        plugin=_plugin_from(r.obj("plugin")),
    )
    kinds = _explicit_types(source)
    if len(kinds) > 1:
        raise r.error(None, f"multiple source types set ({', '.join(kinds)}); set only one")
    if source.chart and kinds and kinds != ["helm"]:
        raise r.error(kinds[0], "a Helm repository chart takes only helm options")
    return source


#: Longest ``repoURL`` and ``targetRevision`` accepted (git's own limits are about these).
MAX_URL_LENGTH = 2048
MAX_REVISION_LENGTH = 1024


def _bounded(r: FieldReader, key: str, limit: int, *, required: bool = False) -> str:
    value = r.string(key, required=required)
    if len(value) > limit:
        raise r.error(key, f"longer than {limit} characters")
    return value


def _repo_url(r: FieldReader) -> str:
    """``repoURL``, refused when no git could use it (so no cache or message trips on it)."""
    url = _bounded(r, "repoURL", MAX_URL_LENGTH, required=True)
    if any(ord(c) < 32 or ord(c) == 127 for c in url):
        raise r.error("repoURL", "contains control characters")
    if "://" in url:
        try:
            urlsplit(url).port  # noqa: B018 - urlsplit and .port raise ValueError when malformed
        except ValueError as exc:
            raise r.error("repoURL", f"not a valid URL: {exc}") from None
    return url


def _plugin_from(r: FieldReader | None) -> PluginSpec | None:
    if r is None:
        return None
    env = []
    for item, path in r.items("env"):
        e = r.item_obj(item, path)
        name = e.string("name", required=True)
        if not _ENV_NAME.match(name):
            raise e.error("name", f"{name!r} is not an environment variable name")
        env.append((name, e.string("value")))
    parameters = []
    for item, path in r.items("parameters"):
        p = r.item_obj(item, path)
        name = p.string("name", required=True)
        given = [k for k in ("string", "array", "map") if p.has(k)]
        if len(given) > 1:
            raise p.error(None, f"set one of string, array or map, not {' and '.join(given)}")
        parameters.append(
            PluginParameter(
                name=name,
                string=p.string("string") if p.has("string") else None,
                array=p.str_list("array") if p.has("array") else None,
                map=p.str_map("map") if p.has("map") else None,
            )
        )
    return PluginSpec(name=r.string("name"), env=tuple(env), parameters=tuple(parameters))


def _directory_from(r: FieldReader | None) -> DirectorySpec | None:
    if r is None:
        return None
    return DirectorySpec(
        recurse=r.flag("recurse"),
        include=r.string("include"),
        exclude=r.string("exclude"),
        jsonnet=_jsonnet_from(r.obj("jsonnet")),
    )


def _jsonnet_vars(r: FieldReader, key: str) -> tuple[JsonnetVar, ...]:
    out = []
    for item, path in r.items(key):
        v = r.item_obj(item, path)
        name = v.string("name", required=True)
        if "=" in name or name.startswith("-"):
            raise v.error("name", f"{name!r}: a Jsonnet variable name holds no '=' nor leading '-'")
        out.append(JsonnetVar(name=name, value=v.string("value"), code=v.flag("code")))
    return tuple(out)


def _jsonnet_from(r: FieldReader | None) -> JsonnetSpec:
    if r is None:
        return JsonnetSpec()
    return JsonnetSpec(
        ext_vars=_jsonnet_vars(r, "extVars"), tlas=_jsonnet_vars(r, "tlas"), libs=r.str_list("libs")
    )


def _replica_count(r: FieldReader) -> int:
    value = r.data.get("count")
    if isinstance(value, int) and not isinstance(value, bool):
        count = value
    elif isinstance(value, str) and _digits(value.strip()):
        count = int(value)
    elif value is None:
        raise r.error("count", "required")
    else:
        raise r.error("count", f"expected a non-negative integer, got {value!r}")
    if count < 0:
        raise r.error("count", f"expected a non-negative integer, got {count}")
    return count


def _digits(text: str) -> bool:
    """ASCII digits, few enough for a count (``int()`` refuses more than 4,300)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


_PATCH_TARGET_FIELDS = [
    "group",
    "version",
    "kind",
    "name",
    "namespace",
    "labelSelector",
    "annotationSelector",
]


def _patch_from(r: FieldReader) -> KustomizePatch:
    t = r.obj("target")
    target = {k: t.string(k) for k in _PATCH_TARGET_FIELDS if t.string(k)} if t else None
    options = r.raw_obj("options") or {}
    for key, value in options.items():
        if not isinstance(value, bool):
            raise r.error(f"options.{key}", f"expected true or false, got {_type_name(value)}")
    patch = KustomizePatch(
        path=r.string("path"), patch=r.string("patch"), target=target, options=options
    )
    if not patch.path and not patch.patch:
        raise r.error(None, "a patch needs either path or patch")
    return patch


def _kustomize_version(r: FieldReader) -> str:
    """Argo CD picks a kustomize binary by this name from ``argocd-cm``; gitward runs one."""
    version = r.string("version")
    if version:
        raise r.error(
            "version",
            f"{_short(version)!r}: gitward runs one kustomize (its toolchain's) and cannot "
            "select another; remove the field",
        )
    return version


def _helm_version(r: FieldReader) -> str:
    """Helm 3 is the only Helm gitward runs (Argo CD dropped Helm 2 too)."""
    version = r.string("version")
    if version not in ("", "v3"):
        raise r.error("version", f"{_short(version)!r}: gitward runs Helm 3 only (use v3 or omit)")
    return version


def _kustomize_from(r: FieldReader | None) -> KustomizeSpec | None:
    if r is None:
        return None
    replicas = []
    for item, path in r.items("replicas"):
        rr = r.item_obj(item, path)
        replicas.append(
            KustomizeReplica(name=rr.string("name", required=True), count=_replica_count(rr))
        )
    patches = [_patch_from(r.item_obj(item, path)) for item, path in r.items("patches")]
    return KustomizeSpec(
        name_prefix=r.string("namePrefix"),
        name_suffix=r.string("nameSuffix"),
        images=r.str_list("images"),
        common_labels=r.str_map("commonLabels"),
        common_annotations=r.str_map("commonAnnotations"),
        common_annotations_envsubst=r.flag("commonAnnotationsEnvsubst"),
        force_common_labels=r.flag("forceCommonLabels"),
        force_common_annotations=r.flag("forceCommonAnnotations"),
        label_without_selector=r.flag("labelWithoutSelector"),
        label_include_templates=r.flag("labelIncludeTemplates"),
        namespace=r.string("namespace"),
        replicas=tuple(replicas),
        patches=tuple(patches),
        components=r.str_list("components"),
        ignore_missing_components=r.flag("ignoreMissingComponents"),
        version=_kustomize_version(r),
    )


def _helm_from(r: FieldReader | None) -> HelmSpec | None:
    if r is None:
        return None
    if r.has("values") and not isinstance(r.data["values"], str):
        raise r.error(
            "values",
            f"expected a string holding a YAML document, got {_type_name(r.data['values'])}; "
            "use valuesObject for a mapping",
        )
    parameters = []
    for item, path in r.items("parameters"):
        p = r.item_obj(item, path)
        parameters.append(
            HelmParameter(
                name=p.string("name", required=True),
                value=p.string("value"),
                force_string=p.flag("forceString"),
            )
        )
    file_parameters = []
    for item, path in r.items("fileParameters"):
        p = r.item_obj(item, path)
        file_parameters.append(
            HelmFileParameter(
                name=p.string("name", required=True), path=p.string("path", required=True)
            )
        )
    return HelmSpec(
        release_name=r.string("releaseName"),
        value_files=r.str_list("valueFiles"),
        values=r.string("values"),
        values_object=r.raw_obj("valuesObject"),
        parameters=tuple(parameters),
        file_parameters=tuple(file_parameters),
        skip_crds=r.flag("skipCrds"),
        skip_schema_validation=r.flag("skipSchemaValidation"),
        skip_tests=r.flag("skipTests"),
        namespace=r.string("namespace"),
        kube_version=r.string("kubeVersion"),
        api_versions=r.str_list("apiVersions"),
        ignore_missing_value_files=r.flag("ignoreMissingValueFiles"),
        pass_credentials=r.flag("passCredentials"),
        version=_helm_version(r),
    )
