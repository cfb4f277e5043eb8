"""Manifests from arbitrary YAML and JSON: a ManifestParseError or JSON objects, nothing else."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gitward.diff import compare, normalize_desired, normalize_live
from gitward.model.errors import GitwardError
from gitward.model.tracking import ResourceKey
from gitward.render.directory import _load_json
from gitward.render.manifests import load_documents, objects_from, parse_stream
from tests.unit.properties.strategies import json_values, maybe, yaml_texts

ALIAS_BOMB = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcdefg", "bcdefgh", strict=True)
)


def _use(objects: list[dict[str, Any]]) -> None:
    """What the pipeline does next with parsed objects must not fail either."""
    for obj in objects:
        json.dumps(obj, allow_nan=False)  # Kubernetes objects are JSON
        ResourceKey.of(obj)
        normalize_desired(obj)
        normalize_live(obj)
    if objects:
        asyncio.run(compare(objects[0], objects[-1]))


@given(yaml_texts)
@example("a: !!float x")
@example("data: {x: !!binary aGVsbG8=}")
@example("data: !!set {a, b}")
@example("x: !!python/object/apply:os.system [id]")
@example("apiVersion: v1\nkind: ConfigMap\nmetadata: []\n")
@example("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: " + "1" * 5000 + "}\n")
@example("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n" + ALIAS_BOMB)
@example("[" * 50_000 + "]" * 50_000)
@example("apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: X, metadata: 3}]\n")
def test_yaml_manifests_parse_or_fail_typed(text: str) -> None:
    try:
        objects = objects_from(load_documents(text, "f.yaml"), "f.yaml")
    except GitwardError:
        return
    _use(objects)


@given(yaml_texts)
def test_tool_output_parses_or_fails_typed(text: str) -> None:
    try:
        objects = parse_stream("# Source: chart/templates/x.yaml\n" + text, "helm template")
    except GitwardError:
        return
    _use(objects)


json_texts = st.one_of(
    json_values.map(json.dumps),
    st.builds(
        lambda meta, name: json.dumps(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "x": name}
        ),
        maybe(st.fixed_dictionaries({"name": maybe(st.text(max_size=5))})),
        json_values,
    ),
    st.text(max_size=40),
)


@given(json_texts)
@example("[" * 50_000 + "]" * 50_000)
@example('{"apiVersion": "v1", "kind": "X", "metadata": {"name": "a"}, "n": ' + "1" * 5000 + "}")
@example('{"apiVersion": "v1", "kind": "X", "metadata": {"name": "a"}, "n": NaN}')
@example('{"apiVersion": "v1", "kind": "XList", "items": [1]}')
def test_json_manifests_parse_or_fail_typed(text: str) -> None:
    try:
        objects = _load_json(text, "f.json")
    except GitwardError:
        return
    _use(objects)


def test_an_alias_bomb_is_refused_quickly() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n" + ALIAS_BOMB
    started = time.perf_counter()
    with pytest.raises(GitwardError, match="expands to more than"):
        load_documents(text, "f.yaml")
    assert time.perf_counter() - started < 5.0
