"""ApplicationSet specs parse as Argo CD writes them; mistakes name the field."""

from __future__ import annotations

import pytest

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
