"""Registered repositories and credential templates: read, test, show, write.

A repository is a Secret in gitward's namespace labelled
``argocd.argoproj.io/secret-type: repository``; a credential template the same with
``repo-creds`` and a URL prefix. Both the CLI (``gitward repo``) and the REST API
(``/api/v1/repositories``, ``/api/v1/repocreds``) read and write them here, so the
two faces agree on matching (any spelling of a URL), on what a view shows (never a
password, key or token: ``hasPassword``-style booleans) and on when an existing
entry may be replaced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitward.appstate.status import now
from gitward.cluster import KubeClient
from gitward.cluster.secrets import SECRET_TYPE_LABEL, secret_fields
from gitward.model.errors import ConfigError, GitwardError
from gitward.model.repourl import normalize_prefix
from gitward.source import CredentialStore, GitSource, RepoCredentials, normalize_url, redact_url
from gitward.source.credentials import REPOSITORY, credentials_from_fields

Obj = dict[str, Any]

#: How many repositories are tested at once.
PARALLEL_TESTS = 4


class NotRegistered(ConfigError):
    """No repository, credential template or cluster is registered under that name."""


@dataclass(frozen=True)
class Entry:
    """One repository or repo-creds Secret and its decoded fields."""

    secret: Obj
    fields: Mapping[str, str]

    @property
    def url(self) -> str:
        return self.fields.get("url", "")

    @property
    def project(self) -> str:
        return self.fields.get("project", "")

    @property
    def secret_name(self) -> str:
        return str(self.secret["metadata"]["name"])

    @property
    def has_creds(self) -> bool:
        return any(self.fields.get(k) for k in ("password", "sshPrivateKey", "bearerToken"))

    def credentials(self) -> RepoCredentials:
        return credentials_from_fields(self.fields, f"Secret {self.secret_name}")


@dataclass(frozen=True)
class ConnectionState:
    status: str  # Successful, Failed or Unknown (not tested)
    message: str
    attempted_at: str

    def view(self) -> Obj:
        return {"status": self.status, "message": self.message, "attemptedAt": self.attempted_at}


UNTESTED = ConnectionState("Unknown", "not tested", "")


async def entries(client: KubeClient, namespace: str, secret_type: str) -> list[Entry]:
    secrets = await client.list("v1", "Secret", namespace, f"{SECRET_TYPE_LABEL}={secret_type}")
    found = [Entry(s, secret_fields(s)) for s in secrets]
    return sorted(found, key=lambda e: (normalize_url(e.url), e.project))


def matching(entries: Sequence[Entry], url: str, project: str | None, prefix: bool) -> list[Entry]:
    norm = normalize_prefix if prefix else normalize_url
    key = norm(url)
    return [e for e in entries if norm(e.url) == key and (project is None or e.project == project)]


def find_one(
    entries: Sequence[Entry], url: str, project: str | None, namespace: str, what: str
) -> Entry:
    found = matching(entries, url, project, prefix=what != "repository")
    if not found:
        scope = f" in project {project!r}" if project is not None else ""
        raise NotRegistered(f"{what} {redact_url(url)}{scope} not found in namespace {namespace!r}")
    if len(found) > 1:
        projects = ", ".join(repr(e.project) for e in found)
        raise ConfigError(
            f"{what} {redact_url(url)} is registered for several projects ({projects}): "
            "choose one with --project"
        )
    return found[0]


def store_of(entries: Sequence[Entry]) -> CredentialStore:
    return CredentialStore.from_secrets([e.secret for e in entries])


# -- connection tests -------------------------------------------------------------------------


async def check_connection(
    source: GitSource, url: str, creds: RepoCredentials | None
) -> ConnectionState:
    """``git ls-remote`` now; git's own reason (secrets scrubbed) when it fails."""
    try:
        await source.ls_remote(url, creds, force=True)
    except GitwardError as exc:
        return ConnectionState("Failed", str(exc), now())
    return ConnectionState("Successful", "", now())


async def check_all(
    entries: Sequence[Entry],
    store: CredentialStore,
    refresh: bool,
    source: GitSource | None = None,
) -> list[ConnectionState]:
    if not refresh:
        return [ConnectionState("Unknown", "not tested (--refresh none)", "") for _ in entries]
    source = source or GitSource()
    gate = asyncio.Semaphore(PARALLEL_TESTS)

    async def one(entry: Entry) -> ConnectionState:
        async with gate:
            return await check_connection(source, entry.url, store.lookup(entry.url, entry.project))

    return list(await asyncio.gather(*(one(e) for e in entries)))


# -- views ------------------------------------------------------------------------------------


def _inherited(entry: Entry, store: CredentialStore) -> bool:
    found = store.lookup(entry.url, entry.project)
    return not entry.has_creds and found is not None and found.has_secret


def repo_view(entry: Entry, state: ConnectionState, store: CredentialStore) -> Obj:
    """Argo CD's Repository fields, credentials as booleans (never their values)."""
    f = entry.fields
    return {
        "repo": redact_url(entry.url),
        "type": f.get("type") or "git",
        "name": f.get("name", ""),
        "project": entry.project,
        "username": f.get("username", ""),
        "insecure": f.get("insecure", "").lower() == "true",
        "hasPassword": bool(f.get("password")),
        "hasSshPrivateKey": bool(f.get("sshPrivateKey")),
        "hasBearerToken": bool(f.get("bearerToken")),
        "inheritedCreds": _inherited(entry, store),
        "secretName": entry.secret_name,
        "connectionState": state.view(),
    }


def creds_view(entry: Entry) -> Obj:
    """A credential template: its URL prefix and user name, secrets as booleans."""
    return {
        "url": redact_url(entry.url),
        "username": entry.fields.get("username", ""),
        "hasPassword": bool(entry.fields.get("password")),
        "hasSshPrivateKey": bool(entry.fields.get("sshPrivateKey")),
        "hasBearerToken": bool(entry.fields.get("bearerToken")),
        "secretName": entry.secret_name,
    }


# -- writes -----------------------------------------------------------------------------------


def plan(existing: Entry | None, new: Obj, upsert: bool, what: str) -> str:
    """'added', 'updated' or 'unchanged'; an existing entry that differs needs ``upsert``."""
    if existing is None:
        return "added"
    if dict(existing.secret.get("data") or {}) == new["data"]:
        return "unchanged"
    if not upsert:
        raise ConfigError(
            f"{what} {redact_url(existing.url)} already exists with different settings "
            f"(Secret {existing.secret_name}); use --upsert to replace them"
        )
    return "updated"


async def write(client: KubeClient, existing: Entry | None, new: Obj, action: str) -> Obj:
    """Create ``new``, or replace the data of ``existing`` (which keeps name and metadata)."""
    if action == "added":
        return await client.create(new)
    if action == "updated" and existing is not None:
        secret = dict(existing.secret)
        meta = dict(secret["metadata"])
        meta["labels"] = {**(meta.get("labels") or {}), **new["metadata"]["labels"]}
        secret.update(apiVersion="v1", kind="Secret", metadata=meta, data=new["data"])
        secret.pop("stringData", None)
        return await client.replace(secret)
    return existing.secret if existing is not None else new


__all__ = [
    "PARALLEL_TESTS",
    "REPOSITORY",
    "UNTESTED",
    "ConnectionState",
    "Entry",
    "NotRegistered",
    "check_all",
    "check_connection",
    "creds_view",
    "entries",
    "find_one",
    "matching",
    "plan",
    "repo_view",
    "store_of",
    "write",
]
