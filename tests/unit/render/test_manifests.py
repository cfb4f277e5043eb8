"""YAML text to objects: Kubernetes' view of scalars, List expansion, errors with lines."""

from __future__ import annotations

import pytest

from gitward.render.errors import ManifestParseError
from gitward.render.manifests import load_documents, objects_from, parse_stream

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def test_documents_become_dicts_and_empty_ones_vanish() -> None:
    text = "---\n" + CM.format(name="a") + "---\n# only a comment\n---\n" + CM.format(name="b")
    objs = parse_stream(text, "out")
    assert [o["metadata"]["name"] for o in objs] == ["a", "b"]


def test_scalars_look_as_kubernetes_sees_them() -> None:
    text = CM.format(name="a") + "data:\n  since: 2024-01-01\n  80: http\n  true: yes\n"
    [obj] = parse_stream(text, "out")
    assert obj["data"] == {"since": "2024-01-01", "80": "http", "true": True}


def test_lists_are_expanded_and_null_lists_are_empty() -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
        "- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n"
        "---\napiVersion: v1\nkind: ConfigMapList\nitems: null\n"
    )
    assert [o["kind"] for o in parse_stream(text, "out")] == ["ConfigMap", "Secret"]


def test_list_items_must_be_objects() -> None:
    text = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap}\n- {a: 1}\n"
    with pytest.raises(ManifestParseError, match=r"out: document 1: items\[1\]: not a Kubernetes"):
        parse_stream(text, "out")


def test_syntax_errors_carry_line_and_document() -> None:
    text = CM.format(name="a") + "---\n" + CM.format(name="b") + "   oops: 1\n"
    with pytest.raises(ManifestParseError) as info:
        parse_stream(text, "out")
    assert (info.value.line, info.value.document) == (10, 2)
    assert str(info.value).startswith("out:10: document 2: invalid YAML: mapping values")


def test_objects_need_api_version_and_kind() -> None:
    text = CM.format(name="a") + "---\nmetadata:\n  name: b\n"
    with pytest.raises(ManifestParseError, match="document 2: not a Kubernetes object: apiVersion"):
        parse_stream(text, "out")


def test_helm_source_comment_names_the_template_at_fault() -> None:
    text = (
        "---\n# Source: app/templates/ok.yaml\n"
        + CM.format(name="a")
        + "---\n# Source: app/templates/bad.yaml\nmetadata:\n  name: b\n"
    )
    with pytest.raises(ManifestParseError, match=r"\(app/templates/bad\.yaml\): document 2"):
        parse_stream(text, "helm template app")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!!float x", "'x' is not a valid float"),
        ("!!float", "is not a valid float"),
        ("!!int x", "'x' is not a valid int"),
        ("!!bool maybe", "is not a valid bool"),
        ("!!binary aGVsbG8=", "the tag !!binary has no JSON form"),
        ("!!omap [a: 1]", "the tag !!omap has no JSON form"),
        (".inf", "infinity and NaN have no JSON form"),
        ("1" + "0" * 5000, "is not a valid int"),
        ("!!python/object/apply:os.system [id]", "could not determine a constructor"),
    ],
)
def test_yaml_values_json_cannot_hold_are_errors_with_their_line(value: str, message: str) -> None:
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: {value}\n"
    with pytest.raises(ManifestParseError) as info:
        load_documents(text, "cm.yaml")
    assert info.value.line == 6
    assert message in str(info.value)


def test_a_yaml_set_is_a_mapping_of_nulls_as_go_yaml_reads_it() -> None:
    docs = load_documents("a: !!set {x, y}\n", "f.yaml")
    assert docs == [(1, {"a": {"x": None, "y": None}})]


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ("[]", "ConfigMap: metadata: expected a mapping, got a list"),
        ("{name: 5}", "metadata.name: expected a string, got a number"),
        ("{name: a, labels: [x]}", "metadata.labels: expected a mapping, got a list"),
        ("{name: a, annotations: {a: 1}}", "metadata.annotations.a: expected a string"),
    ],
)
def test_wrong_typed_metadata_is_refused_naming_the_file(metadata: str, message: str) -> None:
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {metadata}\n"
    with pytest.raises(ManifestParseError) as info:
        objects_from(load_documents(text, "cm.yaml"), "cm.yaml")
    assert str(info.value).startswith("cm.yaml")
    assert message in str(info.value)
