"""HTTPS for the server: the certificate in Secret ``argocd-server-tls``, or a self-signed one.

Like Argo CD, the server serves TLS by default. If the Secret ``argocd-server-tls``
(``tls.crt``, ``tls.key``) exists it is used — that is where an operator or
cert-manager puts a real certificate. Otherwise a self-signed ECDSA P-256 certificate
is generated (names ``localhost``, ``127.0.0.1`` and the pod names given) and stored
there with a create: when two replicas start together one create wins and the other
replica reads and uses the winner's certificate, so both serve the same one.

The context accepts TLS 1.2 and newer only. aiohttp serves HTTP/1.1 (no HTTP/2).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gitward.cluster import KubeClient, NotFound
from gitward.cluster.errors import Conflict
from gitward.model.errors import ConfigError
from gitward.server.auth.store import decode_data, new_secret

TLS_SECRET = "argocd-server-tls"  # noqa: S105 - a name
VALIDITY_DAYS = 365


def self_signed(hostnames: Iterable[str] = ()) -> tuple[bytes, bytes]:
    """A PEM certificate and PEM private key for localhost, 127.0.0.1 and ``hostnames``."""
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    addresses = {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
    for host in hostnames:
        try:
            addresses.add(ipaddress.ip_address(host))
        except ValueError:
            if host and host != "localhost":
                names.append(x509.DNSName(host))
    names.extend(x509.IPAddress(a) for a in sorted(addresses, key=str))
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Argo CD"),
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
        ]
    )
    now = datetime.datetime.now(tz=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert_pem, key_pem


def context_from_pem(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """A server SSLContext (TLS >= 1.2) for a PEM certificate chain and key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # The ssl module loads keys only from files: a private temporary directory, removed at once.
    with tempfile.TemporaryDirectory(prefix="gitward-tls-") as tmp:
        cert_path, key_path = os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key")
        for path, data in ((cert_path, cert_pem), (key_path, key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        try:
            context.load_cert_chain(cert_path, key_path)
        except ssl.SSLError as exc:
            raise ConfigError(
                f"Secret {TLS_SECRET}: tls.crt and tls.key are not a matching PEM "
                f"certificate and key ({exc.reason or 'unreadable'})"
            ) from None
    return context


async def _stored(client: KubeClient, namespace: str) -> tuple[bytes, bytes] | None:
    try:
        secret = await client.get("v1", "Secret", TLS_SECRET, namespace)
    except NotFound:
        return None
    fields = decode_data(secret)
    cert, key = fields.get("tls.crt", ""), fields.get("tls.key", "")
    if not cert or not key:
        raise ConfigError(f"Secret {namespace}/{TLS_SECRET}: needs both tls.crt and tls.key")
    return cert.encode(), key.encode()


async def server_ssl_context(
    client: KubeClient, namespace: str, hostnames: Iterable[str] = ()
) -> ssl.SSLContext:
    """The server's TLS context: the stored certificate, or a new self-signed one stored."""
    stored = await _stored(client, namespace)
    if stored is None:
        cert, key = self_signed(hostnames)
        pem = {"tls.crt": cert.decode(), "tls.key": key.decode()}
        secret = new_secret(TLS_SECRET, namespace, pem, type_="kubernetes.io/tls")
        try:
            await client.create(secret)
            stored = cert, key
        except Conflict:
            stored = await _stored(client, namespace)  # another replica won: use its certificate
            if stored is None:
                raise ConfigError(
                    f"Secret {namespace}/{TLS_SECRET} vanished while being read"
                ) from None
    return context_from_pem(*stored)
