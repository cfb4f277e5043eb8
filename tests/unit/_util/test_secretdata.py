"""One Secret builder for every Secret gitward writes: what it encodes reads back unchanged,
and the caller's labels, annotations and type are the only differences."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward._util.secretdata import SecretDataError, secret_fields, secret_object
from gitward.cluster.secrets import SECRET_TYPE_LABEL, argocd_secret
from gitward.server.auth.store import new_secret

keys = st.from_regex(r"[-._a-zA-Z0-9]{1,40}", fullmatch=True)
values = st.text(max_size=200)


@given(st.dictionaries(keys, values, max_size=10))
def test_what_is_built_reads_back_as_given(fields: dict[str, str]) -> None:
    secret = secret_object("s", "ns", fields, labels={"a": "b"})
    assert secret_fields(secret) == fields
    assert all(v.isascii() for v in secret["data"].values())


def test_labels_annotations_and_type_are_the_callers() -> None:
    plain = secret_object("s", "ns", {"k": "v"}, labels={"x": "y"})
    assert plain["type"] == "Opaque"
    assert plain["metadata"] == {"name": "s", "namespace": "ns", "labels": {"x": "y"}}
    tls = secret_object("t", "ns", {}, labels={}, annotations={"a": "1"}, type_="kubernetes.io/tls")
    assert tls["type"] == "kubernetes.io/tls"
    assert tls["metadata"]["annotations"] == {"a": "1"}


def test_argocd_and_server_secrets_differ_only_in_labels_and_empty_fields() -> None:
    repo = argocd_secret("r", "argocd", "repository", {"url": "https://x", "password": ""})
    assert repo["metadata"]["labels"] == {SECRET_TYPE_LABEL: "repository"}
    assert repo["metadata"]["annotations"] == {"managed-by": "gitward"}
    assert secret_fields(repo) == {"url": "https://x"}  # an empty field is not stored
    own = new_secret("argocd-secret", "argocd", {"server.secretkey": "k", "empty": ""})
    assert own["metadata"]["labels"] == {"app.kubernetes.io/part-of": "argocd"}
    assert "annotations" not in own["metadata"]
    assert secret_fields(own) == {"server.secretkey": "k", "empty": ""}
    assert {k: v for k, v in repo.items() if k not in ("metadata", "data")} == {
        k: v for k, v in own.items() if k not in ("metadata", "data")
    }


@given(st.dictionaries(keys, st.text(alphabet="!@#$%^&*", min_size=1, max_size=8), min_size=1))
def test_a_broken_data_field_is_named_never_shown(data: dict[str, str]) -> None:
    with pytest.raises(SecretDataError) as caught:
        secret_fields({"data": data})
    message = str(caught.value)
    assert message.startswith("data.")
    assert not any(v in message for v in data.values() if len(v) > 2)
