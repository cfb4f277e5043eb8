"""ApplicationSet specs parse as Argo CD writes them; mistakes name the field."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.model.applicationset import parse_applicationset, parse_max_delete
from gitward.model.errors import ConfigError


def obj(spec: dict, **meta: object) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "s", **meta},
        "spec": spec,
    }


def test_the_brief_parses_with_argo_cds_defaults() -> None:
    parsed = parse_applicationset(
        obj(
            {
                "generators": [{"clusters": {}}],
                "template": {"metadata": {"name": "{{name}}-myapp"}, "spec": {}},
            }
        )
    )
    assert parsed.namespace == "argocd"
    assert parsed.applications_sync == "sync"
    assert parsed.may_update
    assert parsed.may_delete
    assert not parsed.go_template
    assert parsed.max_delete.text == "25%"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"syncPolicy": {"applicationsSync": "delete-all"}},
            "spec.syncPolicy.applicationsSync: 'delete-all'",
        ),
        ({"goTemplateOptions": ["missingkey=maybe"]}, "spec.goTemplateOptions"),
        ({"templatePatch": {"a": 1}}, "spec.templatePatch: expected a string"),
        ({"strategy": {"type": "Canary"}}, "spec.strategy.type"),
        (
            {
                "strategy": {
                    "type": "RollingSync",
                    "rollingSync": {"steps": [{"maxUpdate": "lots"}]},
                }
            },
            "maxUpdate",
        ),
        ({"template": {"metadata": {"labels": {"a": 1}}}}, "spec.template.metadata.labels.a"),
    ],
)
def test_mistakes_name_the_field(spec: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("'", "'")):
        parse_applicationset(obj({"generators": [], **spec}))


def test_max_delete_values() -> None:
    assert parse_max_delete("10%", "x").allowed(100) == 10
    assert parse_max_delete("10%", "x").allowed(3) == 1
    assert parse_max_delete("7", "x").allowed(100) == 7
    for bad in ("lots", "150%", "-1"):
        with pytest.raises(ConfigError, match="max-delete"):
            parse_max_delete(bad, "x")


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "generators",
                "template",
                "goTemplate",
                "goTemplateOptions",
                "syncPolicy",
                "strategy",
                "templatePatch",
                "preservedFields",
                "ignoreApplicationDifferences",
            ]
        ),
        JSONISH,
        max_size=5,
    )
)
def test_any_spec_parses_or_fails_as_a_config_error(spec: dict) -> None:
    with contextlib.suppress(ConfigError):
        parse_applicationset(obj(spec))
