"""argocd-cm resource customizations: both spellings, globs, and errors naming the key."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.model.errors import ConfigError
from gitward.model.overrides import parse_overrides

SCRIPT = 'hs = {status = "Healthy"} return hs'


def test_per_kind_keys() -> None:
    overrides = parse_overrides(
        {
            "resource.customizations.health.cert-manager.io_Certificate": SCRIPT,
            "resource.customizations.useOpenLibs.cert-manager.io_Certificate": "true",
            "resource.customizations.health.Pod": "return {status='Degraded'}",
            "resource.customizations.ignoreDifferences.apps_Deployment": (
                "jsonPointers: [/spec/replicas]"
            ),
            "resource.customizations.ignoreDifferences.all": (
                "managedFieldsManagers: [kube-controller-manager]"
            ),
            "gitward.health.cel.example.com_Widget": (
                "current: status.ready == true\nfailed: has(status.error)"
            ),
            "timeout.reconciliation": "30s",
        }
    )
    cert = overrides.lookup("cert-manager.io", "Certificate")
    assert cert is not None
    assert cert.health_lua == SCRIPT
    assert cert.use_open_libs
    pod = overrides.lookup("", "Pod")
    assert pod is not None
    assert "Degraded" in pod.health_lua
    widget = overrides.lookup("example.com", "Widget")
    assert widget is not None
    assert widget.health_cel is not None
    assert widget.health_cel.current == "status.ready == true"
    assert widget.health_cel.failed == "has(status.error)"
    assert overrides.lookup("apps", "StatefulSet") is None
    assert overrides.ignore_entries() == [
        {"group": "*", "kind": "*", "managedFieldsManagers": ["kube-controller-manager"]},
        {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]},
    ]


def test_legacy_mapping_and_precedence() -> None:
    legacy = """
cert-manager.io/Certificate:
  health.lua: |
    return {status = "Progressing"}
  health.lua.useOpenLibs: true
  ignoreDifferences: |
    jqPathExpressions: ['.spec.x']
Service:
  ignoreDifferences: |
    jsonPointers: [/spec/clusterIP]
"""
    overrides = parse_overrides(
        {
            "resource.customizations": legacy,
            "resource.customizations.health.cert-manager.io_Certificate": SCRIPT,
        }
    )
    cert = overrides.lookup("cert-manager.io", "Certificate")
    assert cert is not None
    assert cert.health_lua == SCRIPT
    assert cert.use_open_libs
    assert cert.ignore == {"jqPathExpressions": [".spec.x"]}
    service = overrides.lookup("", "Service")
    assert service is not None
    assert service.ignore == {"jsonPointers": ["/spec/clusterIP"]}


def test_globs_match_groups_and_kinds() -> None:
    overrides = parse_overrides({"resource.customizations.health.*.crossplane.io_*": SCRIPT})
    assert overrides.lookup("ec2.aws.crossplane.io", "Instance") is not None
    assert overrides.lookup("crossplane.io", "Instance") is None
    assert overrides.lookup("example.com", "Instance") is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"resource.customizations.useOpenLibs.x_Y": "maybe"}, "useOpenLibs.x_Y: expected true"),
        ({"resource.customizations.ignoreDifferences.all": "- a"}, "expected a mapping"),
        ({"resource.customizations.ignoreDifferences.all": "jsonPointer: [/a]"}, "unknown field"),
        ({"resource.customizations.ignoreDifferences.all": "jsonPointers: /a"}, "list of strings"),
        ({"resource.customizations.ignoreDifferences.all": "a: [b"}, "invalid YAML"),
        ({"resource.customizations": "- x"}, "expected a mapping of group/Kind"),
        ({"resource.customizations": "a/B: 3"}, "a/B: expected a mapping"),
        ({"gitward.health.cel.x_Y": "healthy: true"}, "unknown field 'healthy'"),
        ({"gitward.health.cel.x_Y": "current: 3"}, "expected a CEL expression"),
        ({"resource.customizations.health.a/b_C": SCRIPT}, "expected <group>_<Kind>"),
    ],
)
def test_errors_name_the_key(data: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match="argocd-cm") as info:
        parse_overrides(data)
    assert message in str(info.value)


@given(st.dictionaries(st.text(max_size=60), st.text(max_size=200), max_size=6))
def test_any_configmap_parses_or_fails_as_a_config_error(data: dict[str, str]) -> None:
    prefixed = {f"resource.customizations.{k}": v for k, v in data.items()}
    for candidate in (data, prefixed, {"resource.customizations": next(iter(data.values()), "")}):
        with contextlib.suppress(ConfigError):
            parse_overrides(candidate)
