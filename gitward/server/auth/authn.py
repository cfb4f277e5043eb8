"""From a token (or a username and password) to a :class:`Principal`, or 401.

A valid signature is not enough, as in Argo CD's session manager:

- a login session dies when its account is disabled, loses the ``login``
  capability, or changes its password after the session was issued;
- an API key dies when its ``jti`` is no longer recorded in ``accounts.NAME.tokens``
  (revoked), or the account is disabled or loses ``apiKey``;
- a project role token dies when its role is gone from the AppProject or the token is
  no longer recorded in the role's ``jwtTokens`` / ``status.jwtTokensByRole``.

Every refusal is :class:`Unauthenticated` with a message naming the reason, never the
token.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from gitward.cluster import ClusterError, KubeClient, NotFound
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION
from gitward.model.project import AppProject, JWTToken, parse_project
from gitward.server.auth import Principal
from gitward.server.auth.accounts import API_KEY, LOGIN, Account, AuthSettings
from gitward.server.auth.passwords import password_matches
from gitward.server.auth.store import SettingsStore
from gitward.server.auth.tokens import Claims, issue, verify
from gitward.server.errors import FailedPrecondition, Unauthenticated, Unavailable

#: Looks an AppProject up by name (None when absent); the server may pass its informer's.
ProjectLookup = Callable[[str], Awaitable[AppProject | None]]
INVALID_LOGIN = "Invalid username or password"


class ProjectCache:
    """AppProjects read from the control namespace, each kept ``ttl`` seconds."""

    def __init__(self, client: KubeClient, namespace: str, ttl: float = 2.0) -> None:
        self.client = client
        self.namespace = namespace
        self.ttl = ttl
        self._entries: dict[str, tuple[float, AppProject | None]] = {}

    def invalidate(self, name: str | None = None) -> None:
        if name is None:
            self._entries.clear()
        else:
            self._entries.pop(name, None)

    async def __call__(self, name: str) -> AppProject | None:
        found = self._entries.get(name)
        if found is not None and time.monotonic() - found[0] < self.ttl:
            return found[1]
        try:
            obj = await self.client.get(API_VERSION, "AppProject", name, self.namespace)
            project: AppProject | None = parse_project(obj)
        except NotFound:
            project = None
        except ClusterError as exc:
            raise Unavailable(f"cannot read project {name}: {exc}") from None
        except ConfigError:
            project = None  # a project gitward cannot read grants nothing
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[name] = (time.monotonic(), project)
        return project


def token_recorded(project: AppProject, role: str, claims: Claims) -> bool:
    """Whether the project still records this role's token (by ``jti``, else by ``iat``)."""
    spec_role = project.role(role)
    if spec_role is None:
        return False
    records: tuple[JWTToken, ...] = spec_role.jwt_tokens + project.tokens_by_role.get(role, ())
    for record in records:
        if record.id and claims.token_id:
            if record.id == claims.token_id:
                return True
        elif record.issued_at == claims.issued_at:
            return True
    return False


class Authenticator:
    """Checks tokens and passwords against the stored accounts and projects."""

    def __init__(self, store: SettingsStore, projects: ProjectLookup) -> None:
        self.store = store
        self.projects = projects

    async def signing_key(self) -> bytes:
        key = (await self.settings()).secret_key
        if not key:
            raise Unavailable("the server has no signing key yet (argocd-secret server.secretkey)")
        return key

    async def settings(self) -> AuthSettings:
        """The settings, or 503 when they cannot be read (never a 500, never a guess)."""
        try:
            return await self.store.settings()
        except ClusterError as exc:
            raise Unavailable(f"cannot read the account settings: {exc}") from None
        except ConfigError as exc:
            raise Unavailable(f"the account settings are unusable: {exc}") from None

    async def authenticate(self, token: str) -> Principal:
        """The principal ``token`` stands for, or Unauthenticated."""
        settings = await self.settings()
        claims = verify(settings.secret_key, token)
        if claims.kind == "project":
            return await self._project_principal(claims)
        return self._account_principal(settings, claims)

    def _account_principal(self, settings: AuthSettings, claims: Claims) -> Principal:
        name = claims.account
        account = settings.accounts.get(name)
        if account is None or account.error:
            raise Unauthenticated(f"invalid session: account {name} does not exist")
        if not account.enabled:
            raise Unauthenticated(f"invalid session: account {name} is disabled")
        capability = API_KEY if claims.kind == "apiKey" else LOGIN
        if not account.can(capability):
            raise Unauthenticated(
                f"invalid session: account {name} does not have '{capability}' capability"
            )
        recorded = bool(claims.token_id) and account.token(claims.token_id) is not None
        if capability == API_KEY and not recorded:
            raise Unauthenticated(
                f"invalid session: account {name} does not have token with id {claims.token_id}"
            )
        # Unlike Argo CD, a session whose jti happens to equal a recorded API key's id
        # (the user can choose key ids) still dies with the password change.
        if capability == LOGIN and claims.issued_at < account.password_mtime:
            raise Unauthenticated(
                "invalid session: account password has changed since token issued"
            )
        return Principal(
            subject=name,
            token_id=claims.token_id if capability == API_KEY else None,
            issued_at=claims.issued_at,
        )

    async def _project_principal(self, claims: Claims) -> Principal:
        project_name, role = claims.project_role()
        project = await self.projects(project_name)
        if project is None:
            raise Unauthenticated(f"invalid session: project {project_name} does not exist")
        if not token_recorded(project, role, claims):
            raise Unauthenticated(
                f"invalid session: token of role {role} in project {project_name} was revoked "
                "or its role no longer exists"
            )
        # No groups: a role's ``groups`` are the SSO groups *granted* the role, not groups
        # the token holds; handing them to the token would let it act as those groups.
        return Principal(
            subject=claims.subject,
            token_id=claims.token_id,
            issued_at=claims.issued_at,
        )

    async def login(self, username: str, password: str) -> tuple[str, Claims, Account]:
        """A new login session for ``username`` if ``password`` is right; else Unauthenticated."""
        settings = await self.settings()
        account = settings.accounts.get(username)
        hashed = account.password_hash if account is not None and not account.error else ""
        if not await password_matches(password, hashed) or account is None:
            raise Unauthenticated(INVALID_LOGIN)
        if not account.enabled:
            raise Unauthenticated(f"account {username} is disabled")
        if not account.can(LOGIN):
            raise FailedPrecondition(f"account {username} does not have 'login' capability")
        key = await self.signing_key()
        token, claims = issue(
            key,
            f"{username}:{LOGIN}",
            expires_in=settings.session_duration,
            now=time.time(),
            precise=True,
        )
        return token, claims, account
