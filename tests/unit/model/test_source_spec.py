"""ApplicationSource parsing: Argo CD's fields, strict types, errors that name the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gitward.model import ConfigError, parse_source
from gitward.model.source_spec import HelmParameter, KustomizeReplica


def src(**fields: Any) -> dict[str, Any]:
    return {"repoURL": "https://example.com/repo.git", **fields}


def test_minimal_source_gets_argo_defaults() -> None:
    s = parse_source(src(path="dev"))
    assert s.repo_url == "https://example.com/repo.git"
    assert s.path == "dev"
    assert s.target_revision == "HEAD"
    assert (s.directory, s.kustomize, s.helm) == (None, None, None)
    assert s.explicit_type() is None


def test_empty_target_revision_means_head() -> None:
    assert parse_source(src(targetRevision="")).target_revision == "HEAD"


def test_helm_block_is_parsed_in_full() -> None:
    s = parse_source(
        src(
            path="chart",
            helm={
                "releaseName": "rel",
                "valueFiles": ["values-dev.yaml"],
                "values": "a: 1\n",
                "valuesObject": {"b": {"c": 2}},
                "parameters": [
                    {"name": "image.tag", "value": "v1"},
                    {"name": "port", "value": "80", "forceString": True},
                ],
                "fileParameters": [{"name": "cfg", "path": "files/cfg.txt"}],
                "skipCrds": True,
                "namespace": "other",
                "ignoreMissingValueFiles": True,
                "passCredentials": True,
                "version": "v3",
            },
        )
    )
    helm = s.helm
    assert helm is not None
    assert helm.release_name == "rel"
    assert helm.value_files == ("values-dev.yaml",)
    assert helm.parameters[1] == HelmParameter("port", "80", force_string=True)
    assert helm.file_parameters[0].path == "files/cfg.txt"
    assert helm.skip_crds
    assert helm.ignore_missing_value_files
    assert helm.namespace == "other"
    # valuesObject wins over values, as in Argo CD
    assert json.loads(helm.values_yaml()) == {"b": {"c": 2}}
    assert s.explicit_type() == "helm"


def test_kustomize_block_is_parsed_in_full() -> None:
    s = parse_source(
        src(
            kustomize={
                "namePrefix": "p-",
                "nameSuffix": "-s",
                "images": ["nginx:1.25", "app=registry/app:v2"],
                "commonLabels": {"team": "a"},
                "commonAnnotations": {"note": "b"},
                "namespace": "ns",
                "replicas": [{"name": "web", "count": 3}, {"name": "api", "count": "2"}],
                "patches": [{"target": {"kind": "Deployment"}, "patch": "- op: remove"}],
                "components": ["../components/x"],
            }
        )
    )
    k = s.kustomize
    assert k is not None
    assert k.replicas == (KustomizeReplica("web", 3), KustomizeReplica("api", 2))
    assert k.patches[0].target == {"kind": "Deployment"}
    assert k.has_edits()
    assert s.explicit_type() == "kustomize"


def test_directory_block_and_zero_blocks() -> None:
    s = parse_source(src(directory={"recurse": True, "include": "*.yaml", "jsonnet": {}}))
    assert s.directory is not None
    assert s.directory.recurse
    assert s.explicit_type() == "directory"
    # Empty blocks are not an explicit choice (Argo CD drops zero-valued blocks).
    assert parse_source(src(directory={"recurse": False}, helm={})).explicit_type() is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"path": "x"}, "spec.source.repoURL: required"),
        (src(path=3), "spec.source.path: expected a string, got int"),
        (
            src(helm={"parameters": [{"name": "a"}, {"name": "b"}, {"value": "1"}]}),
            "spec.source.helm.parameters[2].name: required",
        ),
        (
            src(helm={"parameters": [{"name": "a", "value": 1}]}),
            "spec.source.helm.parameters[0].value: expected a string, got int (quote it)",
        ),
        (src(helm={"values": {"a": 1}}), "spec.source.helm.values: expected a string"),
        (src(helm={"valueFiles": "v.yaml"}), "spec.source.helm.valueFiles: expected a list"),
        (src(helm={"skipCrds": "yes"}), "spec.source.helm.skipCrds: expected true or false"),
        (
            src(kustomize={"replicas": [{"name": "w", "count": "many"}]}),
            "spec.source.kustomize.replicas[0].count: expected a non-negative integer",
        ),
        (
            src(kustomize={"commonLabels": {"v": 1}}),
            "spec.source.kustomize.commonLabels.v: expected string keys and values",
        ),
        (src(kustomize={"patches": [{}]}), "spec.source.kustomize.patches[0]: a patch needs"),
        (
            src(helm={"releaseName": "x"}, kustomize={"namePrefix": "y"}),
            "spec.source: multiple source types set (helm, kustomize)",
        ),
        ("not a mapping", "spec.source: expected a mapping, got a string"),
        (src(kustomize={"version": "v5"}), "spec.source.kustomize.version: 'v5': gitward runs"),
        (src(helm={"version": "v2"}), "spec.source.helm.version: 'v2': gitward runs Helm 3"),
    ],
)
def test_errors_name_the_exact_field(data: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_source(data)
    assert message in str(info.value)


def test_where_prefixes_the_field_path() -> None:
    with pytest.raises(ConfigError, match=r"^spec\.sources\[1\]\.repoURL: required$"):
        parse_source({}, where="spec.sources[1]")


def test_plugin_sources() -> None:
    s = parse_source(
        src(
            plugin={
                "name": "cmp-v1.0",
                "env": [{"name": "FOO", "value": "$ARGOCD_APP_NAME"}],
                "parameters": [
                    {"name": "replicas", "string": "2"},
                    {"name": "tags", "array": ["a", "b"]},
                    {"name": "labels", "map": {"team": "web"}},
                ],
            }
        )
    )
    assert s.explicit_type() == "plugin"
    assert s.plugin is not None
    assert s.plugin.env == (("FOO", "$ARGOCD_APP_NAME"),)
    assert [p.to_dict() for p in s.plugin.parameters] == [
        {"name": "replicas", "string": "2"},
        {"name": "tags", "array": ["a", "b"]},
        {"name": "labels", "map": {"team": "web"}},
    ]
    assert parse_source(src(plugin={})).explicit_type() == "plugin"  # discovered
    with pytest.raises(ConfigError, match=r"parameters\[0\]: set one of string, array or map"):
        parse_source(src(plugin={"parameters": [{"name": "x", "string": "a", "array": []}]}))
    with pytest.raises(ConfigError, match="multiple source types set"):
        parse_source(src(plugin={}, helm={"releaseName": "x"}))


def test_options_key_is_stable_and_ignores_what_does_not_render() -> None:
    a = parse_source(src(path="./dev/", targetRevision="main", helm={"releaseName": "r"}))
    b = parse_source(src(path="dev", targetRevision="v2", ref="x", helm={"releaseName": "r"}))
    assert a.options_key() == b.options_key()
    assert json.loads(a.options_key())["helm"] == {"releaseName": "r"}


def test_options_key_changes_with_anything_that_renders() -> None:
    base = parse_source(src(path="dev"))
    variants = [
        src(path="prod"),
        src(path="dev", helm={"parameters": [{"name": "a", "value": "1"}]}),
        src(path="dev", helm={"valuesObject": {"a": 1}}),
        src(path="dev", kustomize={"images": ["nginx:2"]}),
        src(path="dev", directory={"recurse": True}),
        {"repoURL": "https://example.com/other.git", "path": "dev"},
    ]
    keys = {parse_source(v).options_key() for v in variants}
    assert base.options_key() not in keys
    assert len(keys) == len(variants)


def test_options_key_does_not_depend_on_mapping_order() -> None:
    a = parse_source(src(helm={"valuesObject": {"a": 1, "b": 2}}))
    b = parse_source(src(helm={"valuesObject": {"b": 2, "a": 1}}))
    assert a.options_key() == b.options_key()
