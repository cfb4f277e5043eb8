"""Machine-readable output: JSON and YAML, secrets masked, deep objects refused by name."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from gitward.cli.output import print_object
from gitward.model.errors import ConfigError


def test_json_and_yaml_with_user_info_masked(capsys: pytest.CaptureFixture[str]) -> None:
    obj = {"spec": {"source": {"repoURL": "https://bot:tok3n@git.example/r.git"}}}
    print_object(obj, "json")
    printed = capsys.readouterr().out
    assert printed.endswith("}\n")
    assert json.loads(printed) == {"spec": {"source": {"repoURL": "https://***@git.example/r.git"}}}
    print_object(obj, "yaml")
    assert "tok3n" not in capsys.readouterr().out


@pytest.mark.parametrize("output", ["json", "yaml"])
def test_an_object_nested_past_the_recursion_limit_is_an_error(
    output: str, capsys: pytest.CaptureFixture[str]
) -> None:
    deep: dict[str, Any] = {}
    for _ in range(5000):
        deep = {"a": deep}
    with pytest.raises(ConfigError, match=f"-o {output}: the object is nested too deeply"):
        print_object({"spec": deep}, output)
    assert capsys.readouterr().out == ""
    print_object({"ok": True}, output)
    assert yaml.safe_load(capsys.readouterr().out) == {"ok": True}
