"""ConfigManagementPlugin documents (plugin.yaml) from argocd-cm."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.model.errors import ConfigError
from gitward.model.plugins import parse_plugins

PLUGIN = """
apiVersion: argoproj.io/v1alpha1
kind: ConfigManagementPlugin
metadata: {name: cdk8s}
spec:
  version: v2.0
  init: {command: [npm, ci]}
  generate: {command: [sh, -c], args: ["cdk8s synth --stdout"]}
  discover:
    find: {glob: "**/cdk8s.yaml"}
  parameters:
    static: [{name: env, string: dev}]
"""


def test_a_plugin_and_its_versioned_name() -> None:
    (plugin,) = parse_plugins(PLUGIN)
    assert plugin.name == "cdk8s-v2.0"
    assert plugin.generate.argv == ("sh", "-c", "cdk8s synth --stdout")
    assert plugin.init is not None
    assert plugin.init.argv == ("npm", "ci")
    assert plugin.discover is not None
    assert plugin.discover.glob == "**/cdk8s.yaml"
    assert plugin.parameters == ({"name": "env", "string": "dev"},)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: Plugin\nmetadata: {name: x}\nspec: {}", "kind: expected ConfigManagementPlugin"),
        ("kind: ConfigManagementPlugin\nmetadata: {name: x}\nspec: {}", "spec.generate: required"),
        (
            "kind: ConfigManagementPlugin\nmetadata: {name: x}\nspec: {generate: {args: [a]}}",
            "spec.generate.command: required",
        ),
        ("kind: ConfigManagementPlugin\nspec: {}", "metadata: required"),
        (PLUGIN + "---\n" + PLUGIN, "plugin 'cdk8s-v2.0' is defined twice"),
        ("a: [", "invalid YAML"),
        ("- 3", "expected a ConfigManagementPlugin"),
    ],
)
def test_errors_name_the_document_and_field(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"argocd-cm gitward\.configManagementPlugins") as info:
        parse_plugins(text)
    assert message in str(info.value)


@given(st.text(max_size=300))
def test_any_text_parses_or_fails_as_a_config_error(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_plugins(text)
