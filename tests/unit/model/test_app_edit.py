"""What app create/set/sync flags mean, as pure edits of an Application."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.model.app_edit import (
    NewApp,
    SpecEdit,
    edited_spec,
    image_name,
    new_application,
    resource_selector,
    retry_from_flags,
)
from gitward.model.application import parse_application
from gitward.model.errors import ConfigError

SPEC: dict[str, Any] = {
    "project": "default",
    "source": {"repoURL": "https://git.example.com/r.git", "path": "app"},
    "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
}


def test_new_application_from_flags_parses() -> None:
    obj = new_application(
        NewApp(
            name="web",
            namespace="argocd",
            repo="https://git.example.com/r.git",
            path="app",
            dest_name="in-cluster",
            dest_namespace="web",
            sync_policy="auto",
            self_heal=True,
            sync_options=("CreateNamespace=true",),
        )
    )
    assert obj["spec"]["destination"] == {"namespace": "web", "name": "in-cluster"}
    assert obj["spec"]["syncPolicy"] == {
        "automated": {"prune": False, "selfHeal": True},
        "syncOptions": ["CreateNamespace=true"],
    }
    assert parse_application(obj, "flags").automated


def test_a_chart_source_has_no_path_unless_given() -> None:
    obj = new_application(
        NewApp(
            name="c",
            namespace="argocd",
            repo="https://charts.example.com",
            helm_chart="nginx",
            dest_server="https://kubernetes.default.svc",
        )
    )
    assert obj["spec"]["source"] == {"repoURL": "https://charts.example.com", "chart": "nginx"}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (NewApp(name="a", namespace="n", repo=""), "--repo is required"),
        (NewApp(name="a", namespace="n", repo="r", sync_policy="sometimes"), "--sync-policy"),
    ],
)
def test_new_application_refusals(flags: NewApp, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        new_application(flags)


def test_set_edits_without_touching_the_input() -> None:
    spec = {**SPEC, "syncPolicy": {"syncOptions": ["Validate=false", "PruneLast=true"]}}
    before = repr(spec)
    new = edited_spec(
        spec,
        SpecEdit(
            dest_name="prod",
            revision="v2",
            sync_policy="automated",
            allow_empty=True,
            sync_options=("Validate=true",),
            kustomize_images=("web=web:2",),
            helm_params=("a=1",),
        ),
    )
    assert repr(spec) == before
    assert new["destination"] == {"namespace": "web", "name": "prod"}
    assert new["source"]["targetRevision"] == "v2"
    assert new["syncPolicy"] == {
        "syncOptions": ["Validate=true", "PruneLast=true"],
        "automated": {"allowEmpty": True},
    }
    assert new["source"]["kustomize"] == {"images": ["web=web:2"]}
    assert new["source"]["helm"] == {"parameters": [{"name": "a", "value": "1"}]}


def test_set_overrides_replace_by_name() -> None:
    spec = {**SPEC, "source": {**SPEC["source"], "kustomize": {"images": ["web:1", "db:1"]},
                               "helm": {"parameters": [{"name": "a", "value": "0"}]}}}  # fmt: skip
    new = edited_spec(spec, SpecEdit(kustomize_images=("web=web:2",), helm_params=("a=1", "b=2")))
    assert new["source"]["kustomize"]["images"] == ["web=web:2", "db:1"]
    assert new["source"]["helm"]["parameters"] == [
        {"name": "a", "value": "1"},
        {"name": "b", "value": "2"},
    ]


@pytest.mark.parametrize(
    ("spec", "edit", "message"),
    [
        ({**SPEC, "sources": [{}]}, SpecEdit(), "single-source"),
        (SPEC, SpecEdit(self_heal=True), "need --sync-policy automated"),
        (SPEC, SpecEdit(sync_policy="x"), "--sync-policy: unknown policy 'x'"),
        (SPEC, SpecEdit(helm_params=("novalue",)), "--helm-set 'novalue': expected NAME=VALUE"),
    ],
)
def test_set_refusals(spec: dict[str, Any], edit: SpecEdit, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        edited_spec(spec, edit)


def test_manual_policy_drops_automated_and_an_empty_policy() -> None:
    spec = {**SPEC, "syncPolicy": {"automated": {"prune": True}}}
    assert "syncPolicy" not in edited_spec(spec, SpecEdit(sync_policy="none"))


@pytest.mark.parametrize(
    ("image", "name"),
    [
        ("nginx", "nginx"),
        ("nginx:1.2", "nginx"),
        ("nginx=nginx:1.2", "nginx"),
        ("reg.example.com:5000/team/app:1", "reg.example.com:5000/team/app"),
        ("app@sha256:abc", "app"),
    ],
)
def test_image_names(image: str, name: str) -> None:
    assert image_name(image) == name


NAME = st.from_regex(r"[a-z0-9]([a-z0-9./-]{0,20}[a-z0-9])?", fullmatch=True).filter(
    lambda n: ":" not in n.rsplit("/", 1)[-1]
)


@given(NAME, st.from_regex(r"[A-Za-z0-9_.-]{1,10}", fullmatch=True))
def test_an_image_name_drops_its_tag_and_override(name: str, tag: str) -> None:
    assert image_name(f"{name}:{tag}") == name
    assert image_name(f"{name}={name}:{tag}") == name


def test_resource_selectors() -> None:
    assert resource_selector(":ConfigMap:web") == ("", "ConfigMap", "web")
    assert resource_selector("apps:Deployment:web") == ("apps", "Deployment", "web")


@given(st.text(max_size=40))
def test_any_resource_text_parses_or_is_refused(text: str) -> None:
    parts = text.split(":")
    if len(parts) == 3 and parts[1] and parts[2]:
        assert resource_selector(text) == tuple(parts)
    else:
        with pytest.raises(ConfigError, match="--resource"):
            resource_selector(text)


def test_retry_from_flags() -> None:
    assert retry_from_flags(0, "5s", 2, "3m") is None
    retry = retry_from_flags(3, "1s", 3, "1m")
    assert retry is not None
    assert (retry.limit, retry.backoff.delay(1)) == (3, 3.0)
    with pytest.raises(ConfigError, match="--retry-backoff-duration: not a duration"):
        retry_from_flags(1, "soon", 2, "3m")
    with pytest.raises(ConfigError, match="--retry-backoff-factor"):
        retry_from_flags(1, "5s", 0, "3m")
