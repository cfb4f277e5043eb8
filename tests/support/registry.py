"""A real OCI registry for tests: CNCF distribution over TLS, with Docker token auth.

``registry`` (built from ``github.com/distribution/distribution/v3`` in
``tools/``) serves on 127.0.0.1 with a certificate of its own CA and
``auth.token``: a request without a token gets ``401`` and a ``Bearer``
challenge naming :class:`TokenServer`, a small HTTPS endpoint here that checks
basic credentials and issues RS256 JWTs carrying the ``x5c`` of its signing
certificate — the certificate the registry trusts (``rootcertbundle``). So a
client must do the whole dance real registries demand. Every token request
is recorded.

Artifacts are pushed with real clients: ``crane`` (go-containerregistry) for
OCI artifacts, ``helm push`` for charts.
"""

from __future__ import annotations

import base64
import datetime
import json
import ssl
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from gitward.localkube.pki import ensure_pki
from gitward.localkube.process import free_ports, port_in_use

SERVICE = "gitward-test-registry"
ISSUER = "gitward-test-issuer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Issues registry tokens to clients that present the right basic credentials."""

    def __init__(self, directory: Path, context: ssl.SSLContext, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gitward test token signer")])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.bundle = directory / "token-signer.pem"
        self.bundle.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self.requests: list[tuple[str, int]] = []
        self._server = _TokenHttp(self)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        # "localhost", not an IP literal: clients (crane) refuse token realms on private IPs
        # that differ from the registry host, as an SSRF guard.
        self.url = f"https://localhost:{self._server.server_address[1]}/token"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def token(self, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            repo, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": repo, "actions": actions.split(",")})
        now = int(time.time())
        header = {
            "alg": "RS256",
            "typ": "JWT",
            "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()],
        }
        claims = {
            "iss": ISSUER,
            "sub": self.user,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self.key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing}.{_b64(signature)}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _TokenHttp(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: TokenServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _TokenHandler)


class _TokenHandler(BaseHTTPRequestHandler):
    server: _TokenHttp

    def log_message(self, format: str, *args: Any) -> None:
        del format, args

    def do_GET(self) -> None:
        owner = self.server.owner
        expected = base64.b64encode(f"{owner.user}:{owner.password}".encode()).decode()
        query = parse_qs(urlsplit(self.path).query)
        if self.headers.get("Authorization") != f"Basic {expected}":
            owner.requests.append((self.path, 401))
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        owner.requests.append((self.path, 200))
        body = json.dumps({"token": owner.token(query.get("scope", []))}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Registry:
    """``registry serve`` on 127.0.0.1 over TLS, token auth from its own :class:`TokenServer`."""

    def __init__(self, directory: Path, bin_dir: Path, user: str, password: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory, self.bin_dir = directory, bin_dir
        self.user, self.password = user, password
        pki = ensure_pki(directory / "pki")
        self.ca_pem = pki.ca_cert.read_text()
        self.ca_file = pki.ca_cert
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.serving_cert, pki.serving_key)
        self.tokens = TokenServer(directory, context, user, password)
        self.port = free_ports(1)[0]
        self.host = f"127.0.0.1:{self.port}"
        config = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(directory / "data")}},
            "http": {
                "addr": self.host,
                "tls": {"certificate": str(pki.serving_cert), "key": str(pki.serving_key)},
            },
            "auth": {
                "token": {
                    "realm": self.tokens.url,
                    "service": SERVICE,
                    "issuer": ISSUER,
                    "rootcertbundle": str(self.tokens.bundle),
                }
            },
        }
        (directory / "config.json").write_text(json.dumps(config))
        self._log = (directory / "registry.log").open("wb")
        self._proc = subprocess.Popen(
            [str(bin_dir / "registry"), "serve", str(directory / "config.json")],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={"PATH": "/usr/bin:/bin", "HOME": str(directory), "OTEL_TRACES_EXPORTER": "none"},
        )
        deadline = time.monotonic() + 20
        while not port_in_use(self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"registry did not start: {self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        return (self.directory / "registry.log").read_text(errors="replace")

    def client_env(self) -> dict[str, str]:
        """Environment for crane and helm: trust the CA, a private HOME for credentials."""
        home = self.directory / "client-home"
        home.mkdir(exist_ok=True)
        return {
            "PATH": f"{self.bin_dir}:/usr/bin:/bin",
            "HOME": str(home),
            "DOCKER_CONFIG": str(home / ".docker"),
            "SSL_CERT_FILE": str(self.ca_file),
            "HELM_CACHE_HOME": str(home / "helm-cache"),
            "HELM_CONFIG_HOME": str(home / "helm-config"),
            "HELM_DATA_HOME": str(home / "helm-data"),
        }

    def run(self, tool: str, *args: str) -> str:
        proc = subprocess.run(
            [str(self.bin_dir / tool), *args],
            env=self.client_env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)}: {proc.stderr}")
        return proc.stdout

    def login(self) -> None:
        self.run("crane", "auth", "login", self.host, "-u", self.user, "-p", self.password)
        self.run(
            "helm", "registry", "login", self.host, "--username", self.user,
            "--password", self.password, "--ca-file", str(self.ca_file),
        )  # fmt: skip

    def push_artifact(self, layer: Path, reference: str) -> str:
        """Push ``layer`` (a tar.gz) as the single layer of an OCI artifact; its digest."""
        self.run("crane", "append", "--oci-empty-base", "-f", str(layer), "-t", reference)
        return self.run("crane", "digest", reference).strip()

    def push_chart(self, archive: Path, repository: str) -> None:
        """``helm push`` a packaged chart to ``oci://HOST/repository``."""
        self.run(
            "helm", "push", str(archive), f"oci://{self.host}/{repository}",
            "--ca-file", str(self.ca_file),
        )  # fmt: skip

    def stop(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._log.close()
        self.tokens.stop()
