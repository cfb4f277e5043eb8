"""Argo CD's cluster Secrets: build one, read one, and open a client from one.

Argo CD registers every cluster it deploys to as a Secret in its own namespace,
labelled ``argocd.argoproj.io/secret-type: cluster``, with string fields
``name``, ``server``, ``config`` (JSON: ``bearerToken`` and ``tlsClientConfig``
with base64 ``caData``/``certData``/``keyData``, ``insecure``, ``serverName``),
and optionally ``namespaces`` (comma-separated) and ``project``. gitward reads
and writes exactly that shape, so Secrets made by ``argocd cluster add`` work
here and the other way round.

Credentials never leave this module readable: :class:`ClusterSpec` and
:class:`TLSClientConfig` mask them in ``repr``, and errors name the Secret and
the field but never a value. A client is built from the same
:class:`~gitward.cluster.kubeconfig.Credentials` a kubeconfig gives.

The secret-name helpers follow Argo CD's formulas (FNV-32a of the URL) so an
imperatively added repository or cluster gets the Secret name Argo CD would give it.
"""

from __future__ import annotations

import base64
import binascii
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from gitward._util.secretdata import SecretDataError, secret_object
from gitward._util.secretdata import secret_fields as _secret_data
from gitward.cluster.client import KubeClient
from gitward.cluster.errors import ClusterError
from gitward.cluster.kubeconfig import Credentials, in_cluster, load
from gitward.model.destination import IN_CLUSTER_NAME, IN_CLUSTER_SERVER
from gitward.model.errors import ConfigError

SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"  # noqa: S105 - a label name
CLUSTER_SECRET_TYPE = "cluster"  # noqa: S105 - a label value
#: Argo CD marks the Secrets its CLI creates with ``managed-by``; so does gitward.
MANAGED_BY = {"managed-by": "gitward"}

Obj = dict[str, Any]


class InvalidClusterSecret(ConfigError):
    """A cluster Secret gitward cannot use; the message names the Secret and the field."""


# -- names ------------------------------------------------------------------------------------


def fnv32a(text: str) -> int:
    """FNV-1a, 32 bits: the hash Argo CD puts in the names of the Secrets it creates."""
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def repo_secret_name(url: str, project: str = "") -> str:
    """``repo-<hash>`` for a repository Secret (Argo CD hashes the URL and the project)."""
    return f"repo-{fnv32a(url + project)}"


def creds_secret_name(url: str) -> str:
    """``creds-<hash>`` for a credential template (``repo-creds``) Secret."""
    return f"creds-{fnv32a(url)}"


def cluster_secret_name(server: str) -> str:
    """``cluster-<host>-<hash>``: the host (no port) keeps the name readable."""
    try:
        host = urlsplit(server).hostname or "cluster"
    except ValueError:  # an unbalanced IPv6 bracket: the hash alone names it
        host = "cluster"
    host = "".join(c if c.isalnum() or c in ".-" else "-" for c in host.lower()).strip(".-")
    return f"cluster-{host or 'cluster'}-{fnv32a(server)}"


# -- Secret fields ----------------------------------------------------------------------------


def _metadata(secret: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = secret.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def describe_secret(secret: Mapping[str, Any]) -> str:
    """``Secret namespace/name``, for messages."""
    meta = _metadata(secret)
    ns = meta.get("namespace")
    return f"Secret {str(ns) + '/' if ns else ''}{meta.get('name', '?')}"


def secret_fields(secret: Mapping[str, Any]) -> dict[str, str]:
    """A Secret's ``data`` (base64) overlaid with its ``stringData``, as text.

    Secrets read from the API have only ``data``; ``stringData`` is honoured
    too so a Secret written by hand in YAML reads the same before it is applied.
    """
    try:
        return _secret_data(secret)
    except SecretDataError as exc:
        raise InvalidClusterSecret(f"{describe_secret(secret)}: {exc}") from None


def argocd_secret(name: str, namespace: str, secret_type: str, fields: Mapping[str, str]) -> Obj:
    """An Opaque Secret labelled as Argo CD's ``secret_type``; empty fields are left out."""
    kept = {k: v for k, v in fields.items() if v}
    labels = {SECRET_TYPE_LABEL: secret_type}
    return secret_object(name, namespace, kept, labels=labels, annotations=MANAGED_BY)


def secret_type_of(secret: Mapping[str, Any]) -> str:
    """The ``argocd.argoproj.io/secret-type`` label of a Secret ('' when absent)."""
    labels = (secret.get("metadata") or {}).get("labels") or {}
    return str(labels.get(SECRET_TYPE_LABEL, ""))


# -- cluster Secrets --------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class TLSClientConfig:
    """Argo CD's ``tlsClientConfig``; the PEM data stays base64, as stored."""

    ca_data: str = ""
    cert_data: str = ""
    key_data: str = ""
    insecure: bool = False
    server_name: str = ""

    def __repr__(self) -> str:
        return (
            f"TLSClientConfig(ca_data={'<set>' if self.ca_data else ''!r}, "
            f"cert_data={'<set>' if self.cert_data else ''!r}, "
            f"key_data={'***' if self.key_data else ''!r}, "
            f"insecure={self.insecure!r}, server_name={self.server_name!r})"
        )


@dataclass(frozen=True, repr=False)
class ClusterSpec:
    """One registered cluster, as its Secret describes it."""

    server: str
    name: str = ""
    bearer_token: str = ""
    tls: TLSClientConfig = field(default_factory=TLSClientConfig)
    namespaces: tuple[str, ...] = ()
    project: str = ""
    secret_name: str = ""

    @property
    def display_name(self) -> str:
        return self.name or (IN_CLUSTER_NAME if self.server == IN_CLUSTER_SERVER else self.server)

    def config(self) -> Obj:
        """The ``config`` field's JSON object (with the credentials: for the Secret only)."""
        tls: Obj = {"insecure": self.tls.insecure}
        for key, value in (
            ("serverName", self.tls.server_name),
            ("caData", self.tls.ca_data),
            ("certData", self.tls.cert_data),
            ("keyData", self.tls.key_data),
        ):
            if value:
                tls[key] = value
        config: Obj = {"tlsClientConfig": tls}
        if self.bearer_token:
            config = {"bearerToken": self.bearer_token, **config}
        return config

    def __repr__(self) -> str:
        return (
            f"ClusterSpec(server={self.server!r}, name={self.name!r}, "
            f"bearer_token={'***' if self.bearer_token else ''!r}, tls={self.tls!r}, "
            f"namespaces={self.namespaces!r}, project={self.project!r})"
        )


def build_cluster_secret(spec: ClusterSpec, namespace: str, name: str = "") -> Obj:
    """The Secret Argo CD would store for ``spec`` (named by its formula unless ``name``)."""
    fields = {
        "name": spec.name,
        "server": spec.server,
        "config": json.dumps(spec.config(), separators=(",", ":")),
        "namespaces": ",".join(spec.namespaces),
        "project": spec.project,
    }
    secret_name = name or spec.secret_name or cluster_secret_name(spec.server)
    return argocd_secret(secret_name, namespace, CLUSTER_SECRET_TYPE, fields)


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidClusterSecret(f"{where}.{key}: expected a string")
    return value


def _pem_data(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = _text(obj, key, where)
    if value:
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error:
            raise InvalidClusterSecret(f"{where}.{key}: not valid base64") from None
    return value


def parse_cluster_secret(secret: Mapping[str, Any]) -> ClusterSpec:
    """The :class:`ClusterSpec` a cluster Secret describes; errors name Secret and field."""
    where = describe_secret(secret)
    fields = secret_fields(secret)
    server = fields.get("server", "").strip()
    if not server:
        raise InvalidClusterSecret(f"{where}: server: required")
    try:
        urlsplit(server).port  # noqa: B018 - raises ValueError for a malformed URL or port
    except ValueError as exc:
        raise InvalidClusterSecret(f"{where}: server: not a valid URL: {exc}") from None
    raw = fields.get("config", "").strip() or "{}"
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as exc:
        # The position only: the text itself may hold the bearer token.
        raise InvalidClusterSecret(
            f"{where}: config: not valid JSON (line {exc.lineno} column {exc.colno})"
        ) from None
    except (ValueError, RecursionError):  # too deep, or a number of thousands of digits
        raise InvalidClusterSecret(f"{where}: config: not valid JSON") from None
    if not isinstance(config, dict):
        raise InvalidClusterSecret(f"{where}: config: expected a JSON object")
    for unsupported in ("username", "password", "execProviderConfig", "awsAuthConfig"):
        if config.get(unsupported):
            raise InvalidClusterSecret(
                f"{where}: config.{unsupported}: not supported by gitward yet "
                "(use bearerToken or tlsClientConfig client certificates)"
            )
    tls_raw = config.get("tlsClientConfig") or {}
    if not isinstance(tls_raw, dict):
        raise InvalidClusterSecret(f"{where}: config.tlsClientConfig: expected an object")
    at = f"{where}: config.tlsClientConfig"
    insecure = tls_raw.get("insecure", False)
    if not isinstance(insecure, bool):
        raise InvalidClusterSecret(f"{at}.insecure: expected true or false")
    tls = TLSClientConfig(
        ca_data=_pem_data(tls_raw, "caData", at),
        cert_data=_pem_data(tls_raw, "certData", at),
        key_data=_pem_data(tls_raw, "keyData", at),
        insecure=insecure,
        server_name=_text(tls_raw, "serverName", at),
    )
    if bool(tls.cert_data) != bool(tls.key_data):
        raise InvalidClusterSecret(f"{at}: certData and keyData go together")
    namespaces = tuple(n.strip() for n in fields.get("namespaces", "").split(",") if n.strip())
    return ClusterSpec(
        server=server.rstrip("/"),
        name=fields.get("name", "").strip(),
        bearer_token=_text(config, "bearerToken", f"{where}: config").strip(),
        tls=tls,
        namespaces=namespaces,
        project=fields.get("project", "").strip(),
        secret_name=str(_metadata(secret).get("name", "")),
    )


# -- clients ----------------------------------------------------------------------------------


def _decoded(b64: str) -> bytes | None:
    return base64.b64decode(b64) if b64 else None


def credentials_for(spec: ClusterSpec) -> Credentials:
    """The connection settings a registered cluster's Secret gives.

    The in-cluster server without credentials of its own means "the cluster
    gitward runs in": the Pod's service account, as Argo CD does.
    """
    if spec.server == IN_CLUSTER_SERVER and not (spec.bearer_token or spec.tls.cert_data):
        found = in_cluster()
        if found is None:
            raise ClusterError(
                f"cluster {spec.server}: the Secret has no credentials and there is no "
                "in-cluster service account here (not running in a Pod)"
            )
        return found
    return Credentials(
        server=spec.server,
        ca_data=_decoded(spec.tls.ca_data),
        insecure=spec.tls.insecure,
        tls_server_name=spec.tls.server_name or None,
        cert_data=_decoded(spec.tls.cert_data),
        key_data=_decoded(spec.tls.key_data),
        token=spec.bearer_token or None,
    )


async def client_for_cluster(spec: ClusterSpec, *, timeout: float = 30.0) -> KubeClient:
    """A :class:`KubeClient` for a registered cluster, acting with its stored credentials.

    PEM data is loaded into the client's SSL context at once (a client key
    touches disk only inside :meth:`Credentials.ssl_context`'s private,
    immediately removed directory); unusable PEM is reported by field.
    """
    where = f"cluster {spec.server}" + (f" (Secret {spec.secret_name})" if spec.secret_name else "")
    credentials = credentials_for(spec)
    try:
        return KubeClient(credentials, timeout=timeout)
    except (ssl.SSLError, ValueError) as exc:
        field_name = "caData/certData/keyData" if spec.tls.cert_data else "caData"
        raise InvalidClusterSecret(
            f"{where}: config.tlsClientConfig.{field_name}: not usable PEM ({type(exc).__name__})"
        ) from None


async def client_for_cluster_secret(
    secret: Mapping[str, Any], *, timeout: float = 30.0
) -> KubeClient:
    """A :class:`KubeClient` for the cluster an Argo CD cluster Secret registers."""
    return await client_for_cluster(parse_cluster_secret(secret), timeout=timeout)


def spec_from_kubeconfig(
    path: str | None, context: str, *, timeout: float = 30.0
) -> tuple[ClusterSpec, KubeClient]:
    """The server and TLS settings of kubeconfig ``context``, plus a client acting as its user.

    The spec carries no credentials: ``argocd cluster add`` stores a token of
    its own service account, never the kubeconfig user's.
    """
    credentials = load(path, context)
    tls = TLSClientConfig(
        ca_data=base64.b64encode(credentials.ca_data).decode() if credentials.ca_data else "",
        insecure=credentials.insecure,
        server_name=credentials.tls_server_name or "",
    )
    spec = ClusterSpec(server=credentials.server.rstrip("/"), name=context, tls=tls)
    return spec, KubeClient(credentials, timeout=timeout)
