"""Connection settings for one API server: from a kubeconfig, in-cluster, or given.

gitward reads kubeconfig files itself instead of importing a generated client
library: importing ``kubernetes_asyncio`` alone took 3.3 s, paid by every CLI
command. Supported: ``KUBECONFIG`` with several files (merged, first wins),
contexts and their namespace, ``certificate-authority`` (file or data),
``insecure-skip-tls-verify``, ``tls-server-name``, client certificates (file
or data), bearer ``token`` / ``tokenFile``, basic auth, and ``exec``
credential plugins (``client.authentication.k8s.io`` ExecCredential, cached
until it expires). In a Pod, the service account is used when no kubeconfig
exists.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import os
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gitward.cluster.errors import ClusterError

Obj = dict[str, Any]

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class KubeconfigError(ClusterError):
    """A kubeconfig is missing, malformed, or names a context it does not have."""


@dataclass
class Credentials:
    """How to reach and authenticate to one API server."""

    server: str
    ca_data: bytes | None = None
    insecure: bool = False
    tls_server_name: str | None = None
    cert_data: bytes | None = None
    key_data: bytes | None = None
    token: str | None = None
    token_file: str | None = None
    username: str | None = None
    password: str | None = None
    exec_config: Obj | None = None
    namespace: str = "default"
    #: A token from an exec plugin or token file, and until when to trust it.
    _token_cache: str | None = field(default=None, repr=False)
    _token_until: datetime.datetime | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # never show secrets
        return f"Credentials(server={self.server!r}, namespace={self.namespace!r})"

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if self.ca_data:
            ctx.load_verify_locations(cadata=self.ca_data.decode())
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.cert_data and self.key_data:
            # ssl loads chains only from files: write them privately, load, delete.
            with tempfile.TemporaryDirectory(prefix="gitward-tls-") as tmp:
                cert, key = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
                for path, data in ((cert, self.cert_data), (key, self.key_data)):
                    path.touch(mode=0o600)
                    path.write_bytes(data)
                ctx.load_cert_chain(str(cert), str(key))
        return ctx

    async def authorization(self) -> str | None:
        """The Authorization header value, refreshing an exec plugin's token when due."""
        if self.exec_config is not None:
            return f"Bearer {await self._exec_bearer()}"
        if self.token_file:
            return "Bearer " + self._file_token()
        if self.token:
            return f"Bearer {self.token}"
        if self.username is not None and self.password is not None:
            raw = f"{self.username}:{self.password}".encode()
            return "Basic " + base64.b64encode(raw).decode()
        return None

    def _file_token(self) -> str:
        """A token file's content, re-read each minute: projected tokens rotate."""
        now = datetime.datetime.now(datetime.UTC)
        if self._token_cache is None or self._token_until is None or self._token_until <= now:
            assert self.token_file is not None
            self._token_cache = Path(self.token_file).read_text().strip()
            self._token_until = now + datetime.timedelta(seconds=60)
        return self._token_cache

    async def _exec_bearer(self) -> str:
        now = datetime.datetime.now(datetime.UTC)
        if self._token_cache and (self._token_until is None or self._token_until > now):
            return self._token_cache
        config = self.exec_config or {}
        command = config.get("command")
        if not command:
            raise KubeconfigError("kubeconfig exec plugin has no command")
        env = dict(os.environ)
        for item in config.get("env") or []:
            env[str(item["name"])] = str(item["value"])
        api_version = config.get("apiVersion", "client.authentication.k8s.io/v1")
        env["KUBERNETES_EXEC_INFO"] = json.dumps(
            {"apiVersion": api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
        )
        proc = await asyncio.create_subprocess_exec(
            command,
            *[str(a) for a in config.get("args") or []],
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
        except TimeoutError:
            proc.kill()
            raise KubeconfigError(f"kubeconfig exec plugin {command!r} timed out") from None
        if proc.returncode != 0:
            raise KubeconfigError(
                f"kubeconfig exec plugin {command!r} failed (exit {proc.returncode}): "
                + err.decode(errors="replace").strip()[:500]
            )
        try:
            status = json.loads(out)["status"]
        except (ValueError, KeyError) as exc:
            raise KubeconfigError(f"kubeconfig exec plugin {command!r}: bad output") from exc
        token = status.get("token")
        if not token:
            raise KubeconfigError(f"kubeconfig exec plugin {command!r} returned no token")
        self._token_cache = str(token)
        expiry = status.get("expirationTimestamp")
        self._token_until = (
            datetime.datetime.fromisoformat(expiry.replace("Z", "+00:00")) if expiry else None
        )
        return self._token_cache


def _data(entry: Obj, data_key: str, file_key: str, base: Path, where: str) -> bytes | None:
    if entry.get(data_key):
        try:
            return base64.b64decode(entry[data_key])
        except ValueError:
            raise KubeconfigError(f"{where}: {data_key} is not base64") from None
    if entry.get(file_key):
        path = Path(entry[file_key])
        path = path if path.is_absolute() else base / path
        try:
            return path.read_bytes()
        except OSError as exc:
            raise KubeconfigError(f"{where}: {file_key} {path}: {exc.strerror}") from None
    return None


def _files(path: str | None) -> list[Path]:
    if path:
        return [Path(p) for p in path.split(os.pathsep) if p]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def _merged(files: list[Path]) -> tuple[Obj, dict[str, Path]]:
    """Merge kubeconfig files: the first file to define a name wins."""
    merged: Obj = {"clusters": {}, "users": {}, "contexts": {}, "current-context": ""}
    origin: dict[str, Path] = {}
    for path in files:
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except FileNotFoundError:
            continue
        except (OSError, yaml.YAMLError) as exc:
            raise KubeconfigError(f"kubeconfig {path}: {exc}") from None
        if not isinstance(doc, dict):
            raise KubeconfigError(f"kubeconfig {path}: not a mapping")
        for section in ("clusters", "users", "contexts"):
            for item in doc.get(section) or []:
                name = item.get("name")
                if name is not None and name not in merged[section]:
                    merged[section][name] = item.get(section[:-1]) or {}
                    origin[f"{section}/{name}"] = path.parent
        if not merged["current-context"] and doc.get("current-context"):
            merged["current-context"] = doc["current-context"]
    return merged, origin


def in_cluster() -> Credentials | None:
    """The Pod's service account, when running inside a cluster."""
    host, port = (
        os.environ.get("KUBERNETES_SERVICE_HOST"),
        os.environ.get("KUBERNETES_SERVICE_PORT"),
    )
    token = SERVICE_ACCOUNT_DIR / "token"
    if not host or not port or not token.is_file():
        return None
    ca = SERVICE_ACCOUNT_DIR / "ca.crt"
    namespace = SERVICE_ACCOUNT_DIR / "namespace"
    return Credentials(
        server=f"https://{host}:{port}",
        ca_data=ca.read_bytes() if ca.is_file() else None,
        token_file=str(token),
        namespace=namespace.read_text().strip() if namespace.is_file() else "default",
    )


def load(path: str | None = None, context: str | None = None) -> Credentials:
    """Credentials for ``context`` (default: the current one) of the kubeconfig at ``path``."""
    files = _files(path)
    if path is None and not any(f.exists() for f in files):
        found = in_cluster()
        if found is not None:
            return found
    if not any(f.exists() for f in files):
        raise KubeconfigError(
            "no kubeconfig found (looked at " + ", ".join(str(f) for f in files) + "); "
            "pass --kubeconfig or set KUBECONFIG"
        )
    config, origin = _merged(files)
    name = context or config["current-context"]
    if not name:
        raise KubeconfigError("the kubeconfig has no current-context; pass --kube-context")
    ctx = config["contexts"].get(name)
    if ctx is None:
        known = ", ".join(sorted(config["contexts"])) or "none"
        raise KubeconfigError(f"kubeconfig has no context {name!r} (contexts: {known})")
    cluster = config["clusters"].get(ctx.get("cluster"))
    if cluster is None:
        raise KubeconfigError(f"context {name!r} names unknown cluster {ctx.get('cluster')!r}")
    user = config["users"].get(ctx.get("user"), {}) if ctx.get("user") else {}
    where_c = f"kubeconfig cluster {ctx.get('cluster')!r}"
    where_u = f"kubeconfig user {ctx.get('user')!r}"
    base_c = origin.get(f"clusters/{ctx.get('cluster')}", Path.cwd())
    base_u = origin.get(f"users/{ctx.get('user')}", Path.cwd())
    server = cluster.get("server")
    if not server:
        raise KubeconfigError(f"{where_c}: no server")
    token_file = user.get("tokenFile")
    if token_file and not Path(token_file).is_absolute():
        token_file = str(base_u / token_file)
    return Credentials(
        server=str(server).rstrip("/"),
        ca_data=_data(
            cluster, "certificate-authority-data", "certificate-authority", base_c, where_c
        ),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        tls_server_name=cluster.get("tls-server-name"),
        cert_data=_data(user, "client-certificate-data", "client-certificate", base_u, where_u),
        key_data=_data(user, "client-key-data", "client-key", base_u, where_u),
        token=user.get("token"),
        token_file=token_file,
        username=user.get("username"),
        password=user.get("password"),
        exec_config=user.get("exec"),
        namespace=ctx.get("namespace") or "default",
    )
