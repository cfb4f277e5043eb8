"""Repository credentials, read the way Argo CD stores them.

Argo CD keeps credentials in Kubernetes Secrets labelled
``argocd.argoproj.io/secret-type``: ``repository`` Secrets apply to exactly one
URL, ``repo-creds`` Secrets are templates for every URL that starts with their
``url`` (the longest prefix wins). :class:`CredentialStore` reads those Secrets
(or the same fields from a local YAML file, for use without a cluster) and
answers :meth:`CredentialStore.lookup` for a repository URL.

Secrets never appear in a ``repr``: :class:`RepoCredentials` masks them, so a
credential that ends up in a log line or a traceback's locals stays unreadable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from gitward._util.secretdata import SecretDataError, secret_fields
from gitward._util.yamlload import load_all
from gitward.model.repourl import normalize_prefix, normalize_url, redact_url
from gitward.source.errors import CredentialsError

SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"  # noqa: S105 - a label name
REPOSITORY = "repository"
REPO_CREDS = "repo-creds"

#: Secret/file keys → RepoCredentials fields.
_FIELDS = {
    "url": "url",
    "username": "username",
    "password": "password",
    "sshPrivateKey": "ssh_private_key",
    "bearerToken": "bearer_token",
    "insecure": "insecure",
    "type": "type",
    "proxy": "proxy",
    "name": "name",
    "enableOCI": "enable_oci",
    "tlsClientCertData": "tls_client_cert_data",
    "tlsClientCertKey": "tls_client_cert_key",
    "project": "project",
}
_FLAGS = ("insecure", "enable_oci")
_SECRET_FIELDS = ("password", "ssh_private_key", "bearer_token", "tls_client_cert_key")


@dataclass(frozen=True, repr=False)
class RepoCredentials:
    """How to reach one repository (or, for a template, every repository under a prefix)."""

    url: str
    username: str = ""
    password: str = ""
    ssh_private_key: str = ""
    insecure: bool = False
    type: str = "git"
    proxy: str = ""
    bearer_token: str = ""
    #: Argo CD's ``name`` of the repository (Helm dependencies may say ``@name``).
    name: str = ""
    #: ``enableOCI``: a Helm repository that is an OCI registry (``repoURL`` without ``oci://``).
    enable_oci: bool = False
    tls_client_cert_data: str = ""
    tls_client_cert_key: str = ""
    #: Argo CD's project-scoped repository: used only by that project's applications.
    project: str = ""

    @property
    def has_secret(self) -> bool:
        return bool(
            self.password or self.ssh_private_key or self.bearer_token or self.tls_client_cert_key
        )

    def secrets(self) -> list[str]:
        """Every secret value (and each line of a key), to scrub from tool output."""
        values = [getattr(self, name) for name in _SECRET_FIELDS]
        lines = [
            line.strip()
            for key in (self.ssh_private_key, self.tls_client_cert_key)
            for line in key.splitlines()
        ]
        proxy_password = _url_password(self.proxy)
        return [v for v in [*values, *lines, proxy_password] if v and len(v) >= 4]

    def __repr__(self) -> str:
        shown = {
            "url": redact_url(self.url),
            "username": self.username,
            "password": "***" if self.password else "",
            "ssh_private_key": "***" if self.ssh_private_key else "",
            "bearer_token": "***" if self.bearer_token else "",
            "insecure": self.insecure,
            "type": self.type,
            "tls_client_cert_key": "***" if self.tls_client_cert_key else "",
            "proxy": redact_url(self.proxy),
        }
        return "RepoCredentials(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    __str__ = __repr__


def _url_password(url: str) -> str:
    if "://" not in url or "@" not in url:
        return ""
    userinfo = url.split("://", 1)[1].split("@", 1)[0]
    return userinfo.partition(":")[2] or userinfo


def _flag(value: Any, where: str, key: str = "insecure") -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    raise CredentialsError(f"{where}: {key}: expected true or false, got {value!r}")


def credentials_from_fields(fields: Mapping[str, Any], where: str) -> RepoCredentials:
    """A :class:`RepoCredentials` from Argo CD's camelCase keys; ``where`` names the source."""
    url = fields.get("url")
    if not isinstance(url, str) or not url.strip():
        raise CredentialsError(f"{where}: url: required")
    values: dict[str, Any] = {}
    for key, name in _FIELDS.items():
        value = fields.get(key)
        if value is None:
            continue
        if name in _FLAGS:
            values[name] = _flag(value, where, key)
        elif not isinstance(value, str):
            raise CredentialsError(f"{where}: {key}: expected a string")
        else:
            keep = name in ("ssh_private_key", "tls_client_cert_data", "tls_client_cert_key")
            values[name] = value if keep else value.strip()
    return RepoCredentials(**values)


def _secret_fields(secret: Mapping[str, Any], where: str) -> dict[str, str]:
    """A Secret's ``data`` (base64) overlaid with its ``stringData``, as strings."""
    try:
        return secret_fields(secret)
    except SecretDataError as exc:
        raise CredentialsError(f"{where}: {exc}") from None


@dataclass
class CredentialStore:
    """Exact-URL credentials and prefix templates; :meth:`lookup` picks one for a URL.

    Entries with a ``project`` (Argo CD's project-scoped repositories) serve only that
    project's applications; for them they win over an unscoped entry of the same URL.
    """

    #: By (normalised URL, project; "" for every project).
    repositories: dict[tuple[str, str], RepoCredentials] = field(default_factory=dict)
    templates: list[tuple[str, RepoCredentials]] = field(default_factory=list)
    #: The project :meth:`lookup` answers for when none is given (see :meth:`for_project`).
    project: str = ""

    def add(self, creds: RepoCredentials, secret_type: str = REPOSITORY) -> None:
        if secret_type == REPO_CREDS:
            self.templates.append((normalize_prefix(creds.url), creds))
            # Longest prefix first; for one prefix, a project's own template first.
            self.templates.sort(
                key=lambda item: (len(item[0]), bool(item[1].project)), reverse=True
            )
        else:
            self.repositories[(normalize_url(creds.url), creds.project)] = creds

    @classmethod
    def from_secrets(cls, secrets: Iterable[Mapping[str, Any]]) -> CredentialStore:
        """Read Argo CD repository and repo-creds Secrets; other Secrets are ignored."""
        store = cls()
        for secret in secrets:
            meta = secret.get("metadata")
            meta = meta if isinstance(meta, Mapping) else {}
            labels = meta.get("labels")
            secret_type = labels.get(SECRET_TYPE_LABEL) if isinstance(labels, Mapping) else None
            if secret_type not in (REPOSITORY, REPO_CREDS):
                continue
            where = f"Secret {meta.get('namespace', '')}/{meta.get('name', '?')}".replace(" /", " ")
            fields = _secret_fields(secret, where)
            store.add(credentials_from_fields(fields, where), secret_type)
        return store

    @classmethod
    def from_file(cls, path: Path | str) -> CredentialStore:
        """Read a local YAML file: a list of entries, or Argo CD Secret documents.

        An entry has Argo CD's fields (``url``, ``username``, ``password``,
        ``sshPrivateKey``, ``bearerToken``, ``insecure``, ``proxy``) and, for a
        prefix template, ``secretType: repo-creds``.
        """
        path = Path(path)
        try:
            docs = [d for d in load_all(path.read_text()) if d is not None]
        except OSError as exc:
            raise CredentialsError(f"{path}: cannot read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CredentialsError(f"{path}: not UTF-8 text") from None
        except yaml.YAMLError as exc:
            raise CredentialsError(f"{path}: not valid YAML: {exc}") from None
        store = cls()
        secrets: list[Mapping[str, Any]] = []
        for n, doc in enumerate(docs, 1):
            entries = doc if isinstance(doc, list) else [doc]
            for i, entry in enumerate(entries):
                where = f"{path} document {n}" + (f" entry {i}" if isinstance(doc, list) else "")
                if not isinstance(entry, Mapping):
                    raise CredentialsError(f"{where}: expected a mapping")
                if entry.get("kind") == "Secret":
                    secrets.append(entry)
                    continue
                secret_type = str(entry.get("secretType", REPOSITORY))
                if secret_type not in (REPOSITORY, REPO_CREDS):
                    raise CredentialsError(
                        f"{where}: secretType: expected repository or repo-creds"
                    )
                store.add(credentials_from_fields(entry, where), secret_type)
        for_secrets = cls.from_secrets(secrets)
        store.repositories.update(for_secrets.repositories)
        for _, creds in for_secrets.templates:
            store.add(creds, REPO_CREDS)
        return store

    def for_project(self, project: str) -> CredentialStore:
        """Only the entries an app of ``project`` may use, looked up as that project by
        default: ``for_project(p).lookup(url) == lookup(url, p)`` for every URL."""
        return CredentialStore(
            {k: c for k, c in self.repositories.items() if k[1] in ("", project)},
            [(p, t) for p, t in self.templates if t.project in ("", project)],
            project,
        )

    def lookup(self, url: str, project: str | None = None) -> RepoCredentials | None:
        """Credentials for ``url`` as an app of ``project`` (default: the store's) uses it:
        the repository's own entry (the project's, else an unscoped one), else the
        longest matching template.

        A repository entry without any secret (say, only ``insecure: true``) takes
        its secrets from the template, as Argo CD does. Another project's entries and
        templates are never used.
        """
        project = self.project if project is None else project
        key = normalize_url(url)
        own = (self.repositories.get((key, project)) if project else None) or (
            self.repositories.get((key, ""))
        )
        if own is not None and own.has_secret:
            return own
        for prefix, template in self.templates:
            if template.project not in ("", project):
                continue
            if key.startswith(prefix) or f"{key}/" == prefix:
                if own is None:
                    return replace(template, url=url)
                return replace(
                    template,
                    url=url,
                    insecure=own.insecure or template.insecure,
                    proxy=own.proxy or template.proxy,
                )
        return own
