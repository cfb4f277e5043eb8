"""Certificates fit what the API server and kubectl check."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gitward.localkube.pki import ensure_pki


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_serving_certificate_covers_loopback_and_in_cluster_names(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki")
    serving = _cert(pki.serving_cert)
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)
    assert {"localhost", "kubernetes.default.svc"} <= set(sans.get_values_for_type(x509.DNSName))
    ca = _cert(pki.ca_cert)
    serving.verify_directly_issued_by(ca)


def test_admin_is_a_client_in_system_masters(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki")
    admin = _cert(pki.admin_cert)
    orgs = admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    assert [o.value for o in orgs] == ["system:masters"]
    usages = admin.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usages


def test_private_keys_are_owner_only_and_reused(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki")
    for key in (pki.ca_key, pki.serving_key, pki.admin_key, pki.sa_key):
        assert key.stat().st_mode & 0o077 == 0, key
    first = pki.ca_cert.read_bytes()
    assert ensure_pki(tmp_path / "pki").ca_cert.read_bytes() == first
