"""A real OCI registry for tests: ``distribution`` (built in tools/) with token auth, and crane.

The registry runs on 127.0.0.1 with ``auth: token``: an anonymous request gets a 401 with a
``Bearer realm=...`` challenge, the client asks the token server below for a token (with
basic auth), and presents it. The token server is this module's: it checks the user and
password and signs an ES256 JWT carrying the granted ``access`` and its certificate in
``x5c``, which the registry verifies against the certificate it was configured to trust.
That is the protocol Docker Hub, GHCR and Harbor speak; what the registry decides (a bad
token, a missing scope) is the registry's own code.

Images are pushed with ``crane append`` (a tarball layer on an empty base): no Docker.
With ``tls=True`` the registry and its token server serve HTTPS with a certificate of
their own CA (``ca_pem``), as production registries do, and charts can be pushed with
the real ``helm push``.
"""

from __future__ import annotations

import base64
import datetime
import io
import json
import os
import ssl
import subprocess
import tarfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from gitward.localkube import Toolchain
from gitward.localkube.pki import ensure_pki
from gitward.localkube.process import free_ports, port_in_use

SERVICE = "gitward-test-registry"
ISSUER = "gitward-test-token-issuer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _Signer:
    """An ES256 key and a self-signed certificate the registry trusts."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
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

    def token(self, subject: str, access: list[dict[str, object]], ttl: int = 300) -> str:
        der = self.cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode()]}
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": now + ttl,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        der_sig = self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der_sig)
        return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


class _TokenHandler(BaseHTTPRequestHandler):
    server: _TokenServer

    def log_message(self, format: str, *args: object) -> None:
        del format, args

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        user = self._user()
        self.server.requests.append((user or "", ",".join(query.get("scope", []))))
        if user is None:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        access = []
        for scope in query.get("scope", []):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = set(actions.split(","))
            granted = wanted if user != "anonymous" else wanted & {"pull"}
            if not self.server.public_pull and user == "anonymous":
                granted = set()
            access.append({"type": kind, "name": name, "actions": sorted(granted)})
        body = json.dumps({"token": self.server.signer.token(user, access)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _user(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        if not auth:
            return "anonymous"
        if not auth.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return user if self.server.users.get(user) == password else None


class _TokenServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, signer: _Signer, users: dict[str, str], public_pull: bool) -> None:
        super().__init__(("127.0.0.1", 0), _TokenHandler)
        self.signer = signer
        self.users = users
        self.public_pull = public_pull
        self.requests: list[tuple[str, str]] = []


class Registry:
    """``registry serve`` on 127.0.0.1 with token auth, its token server, and crane."""

    def __init__(
        self,
        toolchain: Toolchain,
        workdir: Path,
        users: dict[str, str] | None = None,
        public_pull: bool = False,
        tls: bool = False,
    ) -> None:
        self.toolchain = toolchain
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.users = users if users is not None else {"ci": "ci-password"}
        signer = _Signer()
        (workdir / "token.crt").write_bytes(signer.cert.public_bytes(serialization.Encoding.PEM))
        self._tokens = _TokenServer(signer, self.users, public_pull)
        self.tls = tls
        self.ca_pem = ""
        http: dict[str, object] = {}
        scheme = "http"
        if tls:
            pki = ensure_pki(workdir / "pki")
            self.ca_file = pki.ca_cert
            self.ca_pem = pki.ca_cert.read_text()
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(pki.serving_cert, pki.serving_key)
            self._tokens.socket = context.wrap_socket(self._tokens.socket, server_side=True)
            http["tls"] = {"certificate": str(pki.serving_cert), "key": str(pki.serving_key)}
            scheme = "https"
        threading.Thread(target=self._tokens.serve_forever, daemon=True).start()
        self.port = free_ports(1)[0]
        self.host = f"127.0.0.1:{self.port}"
        config = {
            "version": "0.1",
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(workdir / "data")},
                "delete": {"enabled": True},
            },
            "http": {"addr": self.host, "secret": uuid.uuid4().hex, **http},
            "auth": {
                "token": {
                    # "localhost", not an IP literal: clients (crane) refuse a token realm on
                    # a private IP that is not the registry's own host (an SSRF guard).
                    "realm": f"{scheme}://localhost:{self._tokens.server_address[1]}/token",
                    "service": SERVICE,
                    "issuer": ISSUER,
                    "rootcertbundle": str(workdir / "token.crt"),
                }
            },
        }
        (workdir / "config.yml").write_text(json.dumps(config))
        self._log = (workdir / "registry.log").open("wb")
        self._proc = subprocess.Popen(
            [str(toolchain.binary("registry")), "serve", str(workdir / "config.yml")],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={
                "PATH": os.environ.get("PATH", ""),
                "HOME": str(workdir),
                "OTEL_TRACES_EXPORTER": "none",
            },
        )
        deadline = time.monotonic() + 20
        while not port_in_use(self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"registry did not start; see {workdir / 'registry.log'}")
            time.sleep(0.05)

    @property
    def token_requests(self) -> list[tuple[str, str]]:
        """``(user, scope)`` of every token request, for asserting the auth flow ran."""
        return self._tokens.requests

    def _docker_config(self, user: str) -> Path:
        config = self.workdir / f"docker-{user}"
        config.mkdir(exist_ok=True)
        auth = base64.b64encode(f"{user}:{self.users[user]}".encode()).decode()
        (config / "config.json").write_text(json.dumps({"auths": {self.host: {"auth": auth}}}))
        return config

    def crane(self, *args: str, user: str = "ci") -> str:
        """Run crane against this registry as ``user``; returns stdout."""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.workdir),
            "DOCKER_CONFIG": str(self._docker_config(user)),
        }
        if self.tls:
            env["SSL_CERT_FILE"] = str(self.ca_file)
        done = subprocess.run(
            [str(self.toolchain.binary("crane")), *args, "--insecure"],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            env=env,
        )
        if done.returncode != 0:
            raise RuntimeError(f"crane {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def push(self, repository: str, tag: str, content: str | None = None) -> str:
        """Push an image (one file layer with ``content``) as ``repository:tag``; its digest."""
        layer = self.workdir / f"layer-{uuid.uuid4().hex[:8]}.tar"
        data = (content or f"{repository}:{tag} {uuid.uuid4().hex}\n").encode()
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo("app/VERSION")
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
        layer.write_bytes(buf.getvalue())
        ref = f"{self.host}/{repository}:{tag}"
        self.crane("append", "-f", str(layer), "-t", ref)
        return self.crane("digest", ref).strip()

    def push_layer(self, layer: Path, repository: str, tag: str, user: str = "ci") -> str:
        """Push ``layer`` (a tar or tar.gz) as the single layer of an OCI artifact; its digest."""
        ref = f"{self.host}/{repository}:{tag}"
        self.crane("append", "--oci-empty-base", "-f", str(layer), "-t", ref, user=user)
        return self.crane("digest", ref, user=user).strip()

    def helm(self, *args: str, user: str = "ci") -> str:
        """Run the toolchain's helm with this registry's CA and ``user``'s login (TLS only)."""
        home = self.workdir / f"helm-{user}"
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }
        binary = str(self.toolchain.binary("helm"))
        if not (home / "config" / "registry" / "config.json").is_file():
            login = [binary, "registry", "login", self.host, "--username", user]
            login += ["--password", self.users[user], "--ca-file", str(self.ca_file)]
            subprocess.run(login, env=env, check=True, capture_output=True, timeout=60)
        done = subprocess.run(
            [binary, *args], env=env, capture_output=True, text=True, check=False, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"helm {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def push_chart(self, chart_dir: Path, repository: str, user: str = "ci") -> None:
        """``helm package`` a chart directory and ``helm push`` it to ``oci://HOST/repository``."""
        out = self.workdir / "packages"
        out.mkdir(exist_ok=True)
        packaged = self.helm("package", str(chart_dir), "--destination", str(out), user=user)
        archive = packaged.strip().rsplit(": ", 1)[-1]
        self.helm("push", archive, f"oci://{self.host}/{repository}", "--ca-file",
                  str(self.ca_file), user=user)  # fmt: skip

    def stop(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._log.close()
        self._tokens.shutdown()
        self._tokens.server_close()
