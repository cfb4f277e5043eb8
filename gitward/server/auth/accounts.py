"""Local accounts as Argo CD stores them in ``argocd-cm`` and ``argocd-secret``.

``argocd-cm`` says which accounts exist and what they may do::

    accounts.alice: login, apiKey     # capabilities
    accounts.alice.enabled: "false"   # default true
    admin.enabled: "false"            # the built-in admin (login only)
    users.session.duration: 12h       # lifetime of a login session (default 24h)

``argocd-secret`` holds what must stay secret: ``admin.password`` and
``accounts.NAME.password`` (bcrypt hashes), ``*.passwordMtime`` (RFC 3339; a login
session issued before it is dead), ``*.tokens`` (a JSON list of ``{id, iat, exp}``:
the API keys still valid) and ``server.secretkey`` (the HS256 key of every token).

Both objects are written by people, so every value is hostile: a bad value makes its
account unusable and is reported naming the key (:attr:`Account.error`), never a crash,
and the other accounts keep working. Values never appear in a message.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

from gitward._util.secretdata import SecretDataError, secret_fields
from gitward._util.yamlload import load_one
from gitward.model.durations import parse_duration
from gitward.model.errors import ConfigError

ADMIN = "admin"
LOGIN = "login"
API_KEY = "apiKey"
CAPABILITIES = (LOGIN, API_KEY)
CM_NAME = "argocd-cm"
SECRET_NAME = "argocd-secret"  # noqa: S105 - a name, not a secret
SECRET_KEY = "server.secretkey"  # noqa: S105 - a key name
SESSION_DURATION_KEY = "users.session.duration"
DEFAULT_SESSION_DURATION = 24 * 3600.0
#: Most API keys one account may hold (the list is rewritten on every issue/revoke).
MAX_TOKENS = 1000
#: Account names as Argo CD's keys allow them: no dot (it separates the key's parts).
_NAME = re.compile(r"[A-Za-z0-9_@+-][A-Za-z0-9_@+-]{0,252}")


@dataclasses.dataclass(frozen=True)
class TokenRecord:
    """One API key still valid: its ``jti``, when issued, when it expires (0: never)."""

    id: str
    issued_at: int
    expires_at: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "iat": self.issued_at}
        if self.expires_at:
            out["exp"] = self.expires_at
        return out


@dataclasses.dataclass(frozen=True)
class Account:
    name: str
    enabled: bool = True
    capabilities: tuple[str, ...] = ()
    password_hash: str = ""
    #: Seconds since the epoch of the last password change (0: never changed).
    password_mtime: float = 0.0
    tokens: tuple[TokenRecord, ...] = ()
    #: Why the stored settings of this account cannot be used ("" when they can).
    error: str = ""

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    def token(self, token_id: str) -> TokenRecord | None:
        return next((t for t in self.tokens if t.id == token_id), None)


@dataclasses.dataclass(frozen=True)
class OidcConfig:
    """``oidc.config`` read far enough to know SSO is configured (login is not supported yet)."""

    name: str
    issuer: str


@dataclasses.dataclass(frozen=True)
class AuthSettings:
    accounts: Mapping[str, Account]
    secret_key: bytes = b""
    session_duration: float = DEFAULT_SESSION_DURATION
    oidc: OidcConfig | None = None
    #: Problems found in settings not tied to one account (each names its key).
    problems: tuple[str, ...] = ()


def format_mtime(seconds: float) -> str:
    """RFC 3339 in UTC, as Argo CD writes ``passwordMtime``, with microseconds when any.

    Sessions carry ``iat`` with microseconds too, so a session opened in the same second
    as a password change is judged by which came first (Go's RFC 3339 parser reads the
    fraction).
    """
    stamp = datetime.datetime.fromtimestamp(round(seconds, 6), tz=datetime.UTC)
    if stamp.microsecond:
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_mtime(text: str, key: str) -> float:
    try:
        stamp = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{SECRET_NAME} key {key}: not an RFC 3339 time") from None
    if stamp.tzinfo is None:
        raise ConfigError(f"{SECRET_NAME} key {key}: an RFC 3339 time needs a time zone")
    return stamp.timestamp()


def parse_bool(text: str, key: str) -> bool:
    """Go's ``strconv.ParseBool``: 1, t, T, TRUE, true, True and their false twins."""
    value = text.strip()
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ConfigError(f"{CM_NAME} key {key}: expected true or false")


def parse_tokens(text: str, key: str) -> tuple[TokenRecord, ...]:
    """A ``*.tokens`` value: a JSON list of ``{"id": str, "iat": int, "exp": int}``."""
    if not text.strip():
        return ()
    try:
        items = json.loads(text)
    except (ValueError, RecursionError):
        raise ConfigError(f"{SECRET_NAME} key {key}: not valid JSON") from None
    if not isinstance(items, list):
        raise ConfigError(f"{SECRET_NAME} key {key}: expected a JSON list")
    if len(items) > MAX_TOKENS:
        raise ConfigError(f"{SECRET_NAME} key {key}: more than {MAX_TOKENS} tokens")
    out = []
    for i, item in enumerate(items):
        where = f"{SECRET_NAME} key {key}[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected an object")
        token_id, iat, exp = item.get("id", ""), item.get("iat", 0), item.get("exp", 0)
        if not isinstance(token_id, str) or not token_id:
            raise ConfigError(f"{where}.id: expected a non-empty string")
        for field, value in (("iat", iat), ("exp", exp)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{where}.{field}: expected a non-negative integer")
        out.append(TokenRecord(token_id, iat, exp))
    return tuple(out)


def _capabilities(text: str) -> tuple[str, ...]:
    found = [c.strip() for c in text.split(",")]
    # Unknown capabilities are ignored, as Argo CD does (it logs a warning).
    return tuple(dict.fromkeys(c for c in found if c in CAPABILITIES))


def _parse_oidc(text: str) -> OidcConfig | None:
    try:
        doc = load_one(text)
    except yaml.YAMLError:
        raise ConfigError(f"{CM_NAME} key oidc.config: not valid YAML") from None
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise ConfigError(f"{CM_NAME} key oidc.config: expected a mapping")
    name, issuer = doc.get("name", ""), doc.get("issuer", "")
    if not isinstance(name, str) or not isinstance(issuer, str):
        raise ConfigError(f"{CM_NAME} key oidc.config: name and issuer must be strings")
    return OidcConfig(name or "SSO", issuer)


def _string_data(obj: Mapping[str, Any] | None, what: str) -> dict[str, str]:
    if obj is None:
        return {}
    data = obj.get("data") or {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{what}: data is not a mapping")
    return {str(k): v for k, v in data.items() if isinstance(v, str)}


def _secret_data(secret: Mapping[str, Any] | None) -> dict[str, str]:
    if secret is None:
        return {}
    try:
        return secret_fields(secret)
    except SecretDataError as exc:
        raise ConfigError(f"{SECRET_NAME}: {exc}") from None


class _Draft:
    """An account being assembled from keys; the first bad key makes it unusable."""

    def __init__(self, name: str, capabilities: tuple[str, ...] = ()) -> None:
        self.name = name
        self.fields: dict[str, Any] = {"capabilities": capabilities}
        self.error = ""

    def take(self, field: str, parse: Any, *args: str) -> None:
        if self.error:
            return
        try:
            self.fields[field] = parse(*args)
        except ConfigError as exc:
            self.error = str(exc)

    def build(self) -> Account:
        return Account(self.name, error=self.error, **self.fields)


def parse_settings(cm: Mapping[str, Any] | None, secret: Mapping[str, Any] | None) -> AuthSettings:
    """Accounts and token settings from ``argocd-cm`` and ``argocd-secret`` (either may be absent).

    Raises ConfigError only when an object as a whole is malformed (its ``data`` is not a
    mapping of text); a bad value of one key spoils only what that key belongs to.
    """
    cm_data = _string_data(cm, CM_NAME)
    sec = _secret_data(secret)
    drafts: dict[str, _Draft] = {ADMIN: _Draft(ADMIN, (LOGIN,))}
    problems: list[str] = []
    for key in sorted(cm_data):
        parts = key.split(".")
        if parts[0] != "accounts" or len(parts) not in (2, 3):
            continue
        name = parts[1]
        if not _NAME.fullmatch(name):
            problems.append(f"{CM_NAME} key {key}: not a valid account name")
            continue
        draft = drafts.setdefault(name, _Draft(name))
        if len(parts) == 2:
            caps = draft.fields["capabilities"] + _capabilities(cm_data[key])
            draft.fields["capabilities"] = tuple(dict.fromkeys(caps))
        elif parts[2] == "enabled":
            draft.take("enabled", parse_bool, cm_data[key], key)
    if "admin.enabled" in cm_data:
        drafts[ADMIN].take("enabled", parse_bool, cm_data["admin.enabled"], "admin.enabled")
    for name, draft in drafts.items():
        prefix = ADMIN if name == ADMIN else f"accounts.{name}"
        if f"{prefix}.password" in sec:
            draft.fields["password_hash"] = sec[f"{prefix}.password"]
        if f"{prefix}.passwordMtime" in sec:
            key = f"{prefix}.passwordMtime"
            draft.take("password_mtime", parse_mtime, sec[key], key)
        if f"{prefix}.tokens" in sec:
            key = f"{prefix}.tokens"
            draft.take("tokens", parse_tokens, sec[key], key)
    duration = DEFAULT_SESSION_DURATION
    if SESSION_DURATION_KEY in cm_data:
        try:
            duration = parse_duration(cm_data[SESSION_DURATION_KEY].strip())
        except ValueError:
            problems.append(f"{CM_NAME} key {SESSION_DURATION_KEY}: not a duration (e.g. 24h)")
        if duration <= 0:
            duration = DEFAULT_SESSION_DURATION
    oidc = None
    if cm_data.get("oidc.config", "").strip():
        try:
            oidc = _parse_oidc(cm_data["oidc.config"])
        except ConfigError as exc:
            problems.append(str(exc))
    return AuthSettings(
        accounts={name: draft.build() for name, draft in drafts.items()},
        secret_key=sec.get(SECRET_KEY, "").encode(),
        session_duration=duration,
        oidc=oidc,
        problems=tuple(problems),
    )


def account_secret_keys(name: str) -> tuple[str, str, str]:
    """The ``argocd-secret`` keys of an account's password hash, mtime and tokens."""
    prefix = ADMIN if name == ADMIN else f"accounts.{name}"
    return f"{prefix}.password", f"{prefix}.passwordMtime", f"{prefix}.tokens"
