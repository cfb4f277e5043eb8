"""Argo CD cluster Secrets: names, build and parse, and clients built from them."""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

from gitward.cluster import (
    IN_CLUSTER_SERVER,
    ClusterError,
    ClusterSpec,
    InvalidClusterSecret,
    TLSClientConfig,
    build_cluster_secret,
    client_for_cluster_secret,
    parse_cluster_secret,
)
from gitward.cluster.secrets import (
    argocd_secret,
    cluster_secret_name,
    creds_secret_name,
    fnv32a,
    repo_secret_name,
    secret_fields,
)
from gitward.localkube.pki import Pki, ensure_pki

TOKEN = "eyJhbGciOi.token-value-s3cr3t"
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return ensure_pki(tmp_path_factory.mktemp("pki"))


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def secret_with(fields: dict[str, str], *, string_data: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "mycluster",
            "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": "cluster"},
        },
    }
    if string_data:
        body["stringData"] = fields
    else:
        body["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in fields.items()}
    return body


# -- names ------------------------------------------------------------------------------------


def test_fnv32a_matches_the_reference_values() -> None:
    assert fnv32a("") == 0x811C9DC5
    assert fnv32a("a") == 0xE40C292C
    assert fnv32a("foobar") == 0xBF9CF968


def test_secret_names_follow_argo_cds_formulas() -> None:
    url = "https://github.com/argoproj/argocd-example-apps.git"
    assert repo_secret_name(url) == f"repo-{fnv32a(url)}"
    assert repo_secret_name(url, "team-a") == f"repo-{fnv32a(url + 'team-a')}"
    assert creds_secret_name("https://github.com/argoproj/") == (
        f"creds-{fnv32a('https://github.com/argoproj/')}"
    )
    server = "https://K8s.Example.com:6443"
    assert cluster_secret_name(server) == f"cluster-k8s.example.com-{fnv32a(server)}"
    for odd in ("https://[fe80::1]:8000", "https://127.0.0.1:6443", "http://x_y"):
        assert DNS_SUBDOMAIN.match(cluster_secret_name(odd)), odd


# -- build and parse --------------------------------------------------------------------------


def test_build_then_parse_round_trips(pki: Pki) -> None:
    spec = ClusterSpec(
        server="https://10.0.0.1:6443",
        name="prod",
        bearer_token=TOKEN,
        tls=TLSClientConfig(ca_data=b64(pki.ca_cert), server_name="kubernetes"),
        namespaces=("team-a", "team-b"),
        project="platform",
    )
    secret = build_cluster_secret(spec, "argocd")
    meta = secret["metadata"]
    assert meta["labels"] == {"argocd.argoproj.io/secret-type": "cluster"}
    assert meta["namespace"] == "argocd"
    assert meta["name"] == cluster_secret_name(spec.server)
    fields = secret_fields(secret)
    assert fields["name"] == "prod"
    assert fields["server"] == "https://10.0.0.1:6443"
    assert fields["namespaces"] == "team-a,team-b"
    config = json.loads(fields["config"])
    assert config["bearerToken"] == TOKEN
    assert config["tlsClientConfig"] == {
        "insecure": False,
        "serverName": "kubernetes",
        "caData": b64(pki.ca_cert),
    }
    parsed = parse_cluster_secret(secret)
    assert parsed.config() == spec.config()
    assert (parsed.server, parsed.name, parsed.namespaces, parsed.project) == (
        spec.server,
        "prod",
        ("team-a", "team-b"),
        "platform",
    )
    assert parsed.secret_name == meta["name"]


def test_reads_a_hand_written_secret_in_string_data() -> None:
    config = json.dumps({"bearerToken": TOKEN, "tlsClientConfig": {"insecure": True}})
    secret = secret_with(
        {"name": "dev", "server": "https://dev.example.com/", "config": config}, string_data=True
    )
    spec = parse_cluster_secret(secret)
    assert spec.server == "https://dev.example.com"
    assert spec.bearer_token == TOKEN
    assert spec.tls.insecure is True
    assert spec.display_name == "dev"


def test_the_in_cluster_entry_is_named_in_cluster_by_default() -> None:
    assert ClusterSpec(IN_CLUSTER_SERVER).display_name == "in-cluster"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": "x"}, "Secret argocd/mycluster: server: required"),
        (
            {"server": "https://a", "config": '{"bearerToken": "' + TOKEN + '",'},
            "Secret argocd/mycluster: config: not valid JSON",
        ),
        ({"server": "https://a", "config": "[1]"}, "config: expected a JSON object"),
        (
            {"server": "https://a", "config": '{"tlsClientConfig": {"insecure": "yes"}}'},
            "config.tlsClientConfig.insecure: expected true or false",
        ),
        (
            {"server": "https://a", "config": '{"tlsClientConfig": {"caData": "%%%"}}'},
            "config.tlsClientConfig.caData: not valid base64",
        ),
        (
            {"server": "https://a", "config": '{"tlsClientConfig": {"certData": "QUJD"}}'},
            "certData and keyData go together",
        ),
        (
            {"server": "https://a", "config": '{"execProviderConfig": {"command": "x"}}'},
            "config.execProviderConfig: not supported",
        ),
    ],
)
def test_parse_errors_name_the_secret_and_field_and_never_the_token(
    fields: dict[str, str], expected: str
) -> None:
    with pytest.raises(InvalidClusterSecret) as caught:
        parse_cluster_secret(secret_with(fields))
    assert expected in str(caught.value)
    assert "argocd/mycluster" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_data_that_is_not_base64_is_reported_by_key() -> None:
    secret = secret_with({"server": "https://a"})
    secret["data"]["config"] = "not base64!"
    with pytest.raises(InvalidClusterSecret, match=r"data\.config: not valid base64"):
        parse_cluster_secret(secret)


def test_credentials_never_appear_in_repr(pki: Pki) -> None:
    spec = ClusterSpec(
        "https://a",
        bearer_token=TOKEN,
        tls=TLSClientConfig(cert_data=b64(pki.admin_cert), key_data=b64(pki.admin_key)),
    )
    text = repr(spec) + str(spec)
    assert TOKEN not in text
    assert b64(pki.admin_key)[:40] not in text
    assert "***" in text


def test_argocd_secret_leaves_out_empty_fields() -> None:
    secret = argocd_secret("repo-1", "argocd", "repository", {"url": "https://x", "password": ""})
    assert set(secret["data"]) == {"url"}
    assert secret["metadata"]["labels"] == {"argocd.argoproj.io/secret-type": "repository"}


# -- clients ----------------------------------------------------------------------------------


async def test_client_from_a_token_secret(pki: Pki) -> None:
    spec = ClusterSpec(
        "https://127.0.0.1:6443/", bearer_token=TOKEN, tls=TLSClientConfig(ca_data=b64(pki.ca_cert))
    )
    async with await client_for_cluster_secret(build_cluster_secret(spec, "argocd")) as client:
        assert client.server == "https://127.0.0.1:6443"
        assert client.credentials.token == TOKEN
        assert client.credentials.ca_data == pki.ca_cert.read_bytes()


async def test_client_with_a_client_certificate_leaves_no_key_on_disk(pki: Pki) -> None:
    spec = ClusterSpec(
        "https://127.0.0.1:6443",
        tls=TLSClientConfig(
            ca_data=b64(pki.ca_cert), cert_data=b64(pki.admin_cert), key_data=b64(pki.admin_key)
        ),
    )
    before = set(os.listdir(tempfile.gettempdir()))
    async with await client_for_cluster_secret(build_cluster_secret(spec, "argocd")) as client:
        assert client.credentials.key_data == pki.admin_key.read_bytes()
    assert {n for n in set(os.listdir(tempfile.gettempdir())) - before if "gitward" in n} == set()


async def test_a_ca_that_is_not_a_certificate_names_the_field() -> None:
    garbage = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nnope\n").decode()
    spec = ClusterSpec("https://a:6443", tls=TLSClientConfig(ca_data=garbage))
    with pytest.raises(InvalidClusterSecret, match=r"tlsClientConfig\.caData"):
        await client_for_cluster_secret(build_cluster_secret(spec, "argocd"))


async def test_a_key_that_does_not_match_the_certificate_is_refused(pki: Pki) -> None:
    spec = ClusterSpec(
        "https://a:6443",
        tls=TLSClientConfig(cert_data=b64(pki.admin_cert), key_data=b64(pki.ca_key)),
    )
    with pytest.raises(InvalidClusterSecret, match="keyData"):
        await client_for_cluster_secret(build_cluster_secret(spec, "argocd"))


async def test_in_cluster_without_credentials_needs_a_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    secret = build_cluster_secret(ClusterSpec(IN_CLUSTER_SERVER, name="in-cluster"), "argocd")
    with pytest.raises(ClusterError, match="no in-cluster service account"):
        await client_for_cluster_secret(secret)


def test_insecure_is_stored_as_argo_cd_writes_it() -> None:
    spec = ClusterSpec("https://a:6443", tls=TLSClientConfig(insecure=True))
    secret = build_cluster_secret(spec, "argocd")
    assert json.loads(secret_fields(secret)["config"]) == {"tlsClientConfig": {"insecure": True}}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"server": "https://[::1"}, "server: not a valid URL: Invalid IPv6 URL"),
        ({"server": "https://k:99999"}, "server: not a valid URL: Port out of range 0-65535"),
        ({"server": "https://k", "config": "[" * 30_000}, "config: not valid JSON"),
        ({"server": "https://k", "config": '{"a": ' + "1" * 5000 + "}"}, "config: not valid JSON"),
    ],
)
def test_malformed_cluster_secrets_are_typed_errors(fields: dict[str, str], message: str) -> None:
    secret = {"metadata": {"name": "c", "namespace": "argocd"}, "stringData": fields}
    with pytest.raises(InvalidClusterSecret) as info:
        parse_cluster_secret(secret)
    assert str(info.value) == f"Secret argocd/c: {message}"
    assert cluster_secret_name(fields["server"]).startswith("cluster-")
