"""Self-signed certificates, PEM loading and audit Events (pure parts)."""

from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from gitward.model.errors import ConfigError
from gitward.server.audit import event_for
from gitward.server.auth import Principal
from gitward.server.auth.rbac_policy import parse_rbac_cm
from gitward.server.tls import context_from_pem, self_signed


def test_self_signed_names_localhost_loopback_and_pod_names() -> None:
    cert_pem, key_pem = self_signed(["gitward-server-0.gitward", "10.1.2.3"])
    cert = x509.load_pem_x509_certificate(cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", "gitward-server-0.gitward"}
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("10.1.2.3") in san.get_values_for_type(x509.IPAddress)
    context_from_pem(cert_pem, key_pem)


def test_a_key_that_does_not_match_is_a_clear_error() -> None:
    cert_pem, _ = self_signed()
    _, other_key = self_signed()
    with pytest.raises(ConfigError, match="argocd-server-tls"):
        context_from_pem(cert_pem, other_key)
    with pytest.raises(ConfigError, match="argocd-server-tls"):
        context_from_pem(b"not a certificate", b"not a key")


def test_audit_event_names_who_and_hides_secrets() -> None:
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web", "namespace": "argocd", "uid": "u1"},
    }
    event = event_for(
        app, Principal("alice"), "OperationStarted", "initiated sync to HEAD (password=hunter2)"
    )
    assert event["message"].startswith("alice initiated sync to HEAD")
    assert "hunter2" not in event["message"]
    assert event["involvedObject"]["uid"] == "u1"
    assert event["metadata"]["namespace"] == "argocd"
    assert event["reason"] == "OperationStarted"


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["policy.csv", "policy.x.csv", "policy.default", "policy.matchMode", "scopes", "other"]
        ),
        st.text(max_size=60),
    )
)
def test_any_rbac_configmap_parses_or_names_its_key(data: dict[str, str]) -> None:
    try:
        cfg = parse_rbac_cm({"data": data})
    except ConfigError as exc:
        assert "argocd-rbac-cm" in str(exc)  # noqa: PT017 - input either parses or names the key
        return
    assert cfg.match_mode in ("glob", "regex")
    assert all(isinstance(s, str) for s in cfg.scopes)
