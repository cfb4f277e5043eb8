"""REST API request bodies and argocd-cm as the settings route reads them: any JSON is
either accepted or refused with gitward's own error; no secret reaches an answer."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gitward.model.errors import GitwardError
from gitward.server.api.clusters import spec_from_body
from gitward.server.api.projects import _from_body as project_from_body
from gitward.server.api.repocreds import _fields as creds_fields
from gitward.server.api.repositories import _repo_fields
from gitward.server.api.settings import public_settings
from gitward.server.errors import ApiError
from tests.unit.properties.strategies import json_objects, json_values, maybe, url_texts

SECRET = "zz-secret-value-91f3"

repo_bodies = st.fixed_dictionaries(
    {},
    optional={
        "repo": maybe(url_texts),
        "url": maybe(url_texts),
        "username": maybe(st.text(max_size=8)),
        "password": maybe(st.just(SECRET)),
        "sshPrivateKey": maybe(st.sampled_from(["", "-----BEGIN OPENSSH PRIVATE KEY-----"])),
        "bearerToken": maybe(st.just(SECRET)),
        "type": maybe(st.sampled_from(["git", "helm", "oci", ""])),
        "project": maybe(st.text(max_size=8)),
        "insecure": json_values,
    },
)
cluster_bodies = st.fixed_dictionaries(
    {},
    optional={
        "server": maybe(url_texts),
        "name": maybe(st.text(max_size=8)),
        "namespaces": maybe(st.lists(st.text(max_size=6), max_size=3)),
        "project": maybe(st.text(max_size=8)),
        "config": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "bearerToken": maybe(st.just(SECRET)),
                    "tlsClientConfig": maybe(json_objects),
                    "password": json_values,
                },
            )
        ),
    },
)


def _refused_or_parsed(parse: Any, body: Any) -> Any:
    try:
        return parse(body)
    except GitwardError as exc:
        message = str(exc)
    assert SECRET not in message
    return None


@given(repo_bodies)
def test_repository_bodies(body: dict[str, Any]) -> None:
    found = _refused_or_parsed(_repo_fields, body)
    if found is not None:
        url, fields = found
        assert not url.startswith("-")
        assert fields["url"] == url
        assert fields["type"] in ("git", "helm")


@given(repo_bodies)
def test_repocreds_bodies(body: dict[str, Any]) -> None:
    found = _refused_or_parsed(creds_fields, body)
    if found is not None:
        _, fields = found
        assert fields["password"] or fields["sshPrivateKey"] or fields["bearerToken"]


@given(st.one_of(cluster_bodies, json_objects))
def test_cluster_bodies(body: dict[str, Any]) -> None:
    spec = _refused_or_parsed(spec_from_body, body)
    if spec is not None:
        assert spec.server.startswith(("https://", "http://"))
        assert SECRET not in repr(spec)


@given(
    st.one_of(
        json_objects,
        st.fixed_dictionaries(
            {"project": st.fixed_dictionaries({"metadata": json_objects, "spec": json_values})}
        ),
    ),
    st.one_of(st.none(), st.text(max_size=8)),
)
def test_project_bodies(body: dict[str, Any], name: str | None) -> None:
    try:
        obj = project_from_body(body, "argocd", name)
    except ApiError as exc:
        status = exc.status
        obj = None
    if obj is None:
        assert status == 400
        return
    assert obj["metadata"]["namespace"] == "argocd"
    assert "/" not in obj["metadata"]["name"]
    assert ".." not in obj["metadata"]["name"]


#: Keys the answer may show, with any text; the secret goes only where secrets live.
public_keys = st.sampled_from(
    [
        "url",
        "statusbadge.enabled",
        "resource.customizations",
        "resource.customizations.health.apps_Deployment",
        "resource.customizations.ignoreDifferences.all",
        "admin.enabled",
        "accounts.ci",
        "help.download.linux",
        "oidc.config",
        "dex.config",
    ]
)
public_values = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        ["clientSecret: [", "- a\n- b", "jsonPointers: [/spec/replicas]", "!!python/object:x y"]
    ),
)
secret_configs = st.fixed_dictionaries(
    {},
    optional={
        "oidc.config": st.just(f"issuer: https://idp\nclientID: gw\nclientSecret: {SECRET}\n"),
        "dex.config": st.just(
            f"connectors:\n- name: gh\n  type: github\n  config:\n    clientSecret: {SECRET}\n"
        ),
    },
)


@given(st.dictionaries(public_keys, public_values, max_size=6), secret_configs)
def test_settings_never_answer_a_secret(data: dict[str, str], configs: dict[str, str]) -> None:
    data = {**data, **configs, "server.secretkey": SECRET, "admin.password": SECRET}
    try:
        text = json.dumps(public_settings(data, "argocd"))
    except GitwardError as exc:
        text = str(exc)
    assert SECRET not in text
