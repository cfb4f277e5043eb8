"""argocd-notifications-cm parsed: services, templates, triggers, subscriptions; and which
destinations an app is subscribed to."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.model.errors import ConfigError
from gitward.notify import destinations, parse_config
from gitward.notify.engine import Destination

BASE = {
    "service.webhook.github": "url: https://api.github.com\n",
    "service.slack": "token: $slack-token\n",
    "template.deployed": "message: hi\n",
    "trigger.on-deployed": "- when: app.status.health.status == 'Healthy'\n  send: [deployed]\n",
    "defaultTriggers": "- on-deployed\n",
    "subscriptions": "- recipients: [slack:ops]\n  selector: team=a\n",
}


def test_services_are_named_as_argo_cd_names_them_and_secrets_substituted() -> None:
    config = parse_config(BASE, {"slack-token": "xoxb-1"})
    assert config.service("github") == ("webhook", {"url": "https://api.github.com"})
    assert config.service("slack") == ("slack", {"token": "xoxb-1"})
    with pytest.raises(ConfigError, match="no service 'email'"):
        config.service("email")


def test_destinations_from_annotations_defaults_and_subscriptions() -> None:
    config = parse_config(BASE, {})
    app = {
        "metadata": {
            "name": "a",
            "labels": {"team": "a"},
            "annotations": {
                "notifications.argoproj.io/subscribe.on-deployed.github": "x;y",
                "notifications.argoproj.io/subscribe.slack": "dev",
            },
        }
    }
    assert destinations(app, config) == [
        Destination("on-deployed", "github", "x"),
        Destination("on-deployed", "github", "y"),
        Destination("on-deployed", "slack", "dev"),
        Destination("on-deployed", "slack", "ops"),
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"service.pager": "url: x\n"}, "service type 'pager'"),
        ({"service.slack": "- a\n"}, "expected a mapping"),
        ({"trigger.x": "when: a\n"}, "expected a list of conditions"),
        ({"trigger.x": "- send: [deployed]\n"}, "needs a 'when'"),
        ({"trigger.x": "- when: 'true'\n  send: [missing]\n"}, "template 'missing'"),
        ({"template.t": "message: [1,\n"}, "not valid YAML"),
        ({"subscriptions": "- recipients: [slack]\n"}, "not service:recipient"),
        ({"subscriptions": "- recipients: [slack:a]\n  selector: nope\n"}, "not key=value"),
    ],
)
def test_bad_keys_are_named(extra: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({**BASE, **extra}, {})


keys = st.sampled_from(
    ["service.webhook.a", "service.slack", "service.x", "template.t", "trigger.t",
     "defaultTriggers", "subscriptions", "context", "other"]
)  # fmt: skip
yamlish = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["- a", "a: 1", "- when: x\n  send: [t]", "[1, {a: b}]", "!!float x", "{"]),
)


@given(
    st.dictionaries(keys, yamlish, max_size=6),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5)),
)
def test_any_configmap_parses_or_fails_as_a_config_error(
    data: dict[str, str], secrets: dict[str, str]
) -> None:
    with contextlib.suppress(ConfigError):
        parse_config(data, secrets)
