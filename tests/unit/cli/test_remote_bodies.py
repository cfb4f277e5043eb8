"""What the CLI's server mode reads back and sends: hostile answers, exact request bodies."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.cli.app_remote_edit import decoded_object
from gitward.cli.cluster_remote import cluster_body
from gitward.cli.repo_remote import repository_body
from gitward.cluster.secrets import ClusterSpec
from gitward.model.errors import ConfigError

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)


@given(st.text(max_size=200))
def test_a_manifest_answer_is_an_object_or_a_clear_error(text: str) -> None:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict):
        assert decoded_object(text, "manifest") == value
    else:
        with pytest.raises(ConfigError, match=r"^the server sent a manifest that is not"):
            decoded_object(text, "manifest")


@given(JSON)
def test_only_json_objects_are_manifests(value: object) -> None:
    text = json.dumps(value)
    if isinstance(value, dict):
        assert decoded_object(text, "manifest") == value
    else:
        with pytest.raises(ConfigError, match="not an object"):
            decoded_object(text, "manifest")


def test_a_repository_body_carries_only_the_given_fields() -> None:
    fields = {
        "url": "https://git.example/org/repo.git",
        "username": "u",
        "password": "p",
        "sshPrivateKey": "",
        "bearerToken": "",
        "type": "git",
        "name": "",
        "project": "team-a",
        "insecure": "true",
    }
    assert repository_body(fields) == {
        "repo": "https://git.example/org/repo.git",
        "username": "u",
        "password": "p",
        "type": "git",
        "project": "team-a",
        "insecure": True,
    }
    assert "insecure" not in repository_body({**fields, "insecure": ""})


def test_a_cluster_body_is_argo_cds_cluster() -> None:
    spec = ClusterSpec(
        server="https://10.0.0.1:6443", name="prod", bearer_token="tok", project="team-a"
    )
    body = cluster_body(spec)
    assert body["server"] == "https://10.0.0.1:6443"
    assert body["name"] == "prod"
    assert body["project"] == "team-a"
    assert body["config"]["bearerToken"] == "tok"
    assert body["config"]["tlsClientConfig"] == {"insecure": False}
    assert "namespaces" not in body


def test_a_deeply_nested_answer_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="live state"):
        decoded_object("[" * 100_000 + "]" * 100_000, "live state")
