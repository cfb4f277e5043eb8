"""Sync options: every accepted option is one gitward acts on; the rest are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.model.errors import ConfigError
from gitward.model.resource_options import annotation_options, effective, parse


def test_known_options_and_values_parse() -> None:
    assert parse(["Prune=false", " PruneLast = true ", "PrunePropagationPolicy=orphan"], "w") == {
        "Prune": "false",
        "PruneLast": "true",
        "PrunePropagationPolicy": "orphan",
    }
    assert effective({}, None).propagation == "Foreground"
    assert effective({"PrunePropagationPolicy": "background"}, None).propagation == "Background"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("Prune", r"^w: sync option 'Prune' is not Name=value$"),
        ("Bogus=true", r"^w: unknown sync option 'Bogus'$"),
        ("Prune=confirm", r"^w: sync option Prune=confirm is not supported by gitward"),
        ("Delete=confirm", r"^w: sync option Delete=confirm is not supported"),
        ("Replace=yes", r"^w: sync option Replace='yes': expected true or false$"),
        ("PrunePropagationPolicy=now", r"expected foreground, background or orphan$"),
    ],
)
def test_refusals_name_where_they_were_written(item: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse([item], "w")


@pytest.mark.parametrize("option", ["CreateNamespace=true", "FailOnSharedResource=true"])
def test_app_wide_options_are_refused_on_a_resource(option: str) -> None:
    obj = {
        "kind": "ConfigMap",
        "metadata": {"name": "c", "annotations": {"argocd.argoproj.io/sync-options": option}},
    }
    with pytest.raises(ConfigError, match=r"^ConfigMap c: annotation .*acts on the whole sync"):
        annotation_options(obj)
    assert parse([option], "spec.syncPolicy")  # where they belong


def _read(items: list[str]) -> dict[str, str] | str:
    try:
        return parse(items, "w")
    except ConfigError as exc:
        return str(exc)


@given(st.lists(st.text(max_size=40), max_size=5))
def test_any_option_list_parses_or_is_refused_as_a_config_error(items: list[str]) -> None:
    parsed = _read(items)
    if isinstance(parsed, str):
        assert parsed.startswith("w: ")
        return
    written = {tuple(p.strip() for p in i.partition("=")[::2]) for i in items}
    assert set(parsed.items()) <= written
