"""The three kinds of token Argo CD issues, as HS256 JWTs keyed by ``server.secretkey``.

- a login session: ``sub: NAME:login``, expiring after ``users.session.duration``;
- an API key: ``sub: NAME:apiKey``, its ``jti`` recorded in ``accounts.NAME.tokens``
  (revoking it removes the record), expiring only when asked;
- a project role token: ``sub: proj:PROJECT:ROLE``, recorded in the AppProject.

Every token carries ``iss: argocd``, ``iat``, ``nbf`` and a ``jti``. This module only
signs and checks signatures, issuer and times; whether the account, key or role still
stands is :mod:`gitward.server.auth.authn`'s question.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any

import jwt

from gitward.server.errors import Unauthenticated

ISSUER = "argocd"
ALGORITHM = "HS256"
LOGIN_SUFFIX = ":login"
API_KEY_SUFFIX = ":apiKey"
PROJECT_PREFIX = "proj:"
#: Tokens longer than this are refused before any parsing (a JWT of ours is ~300 bytes).
MAX_TOKEN_LENGTH = 8192
#: Clock skew tolerated on ``nbf``/``iat``/``exp`` between replicas.
LEEWAY = 5.0


@dataclasses.dataclass(frozen=True)
class Claims:
    """The claims of a verified token."""

    subject: str
    #: Seconds since the epoch; login sessions carry microseconds (see :func:`issue`).
    issued_at: float
    expires_at: int
    token_id: str
    issuer: str

    @property
    def kind(self) -> str:
        """``login``, ``apiKey`` or ``project``."""
        if self.subject.startswith(PROJECT_PREFIX):
            return "project"
        return "apiKey" if self.subject.endswith(API_KEY_SUFFIX) else "login"

    @property
    def account(self) -> str:
        """The account name of a login session or an API key."""
        return self.subject.rsplit(":", 1)[0]

    def project_role(self) -> tuple[str, str]:
        """``(project, role)`` of a project role token."""
        parts = self.subject.split(":")
        if len(parts) != 3 or parts[0] != "proj" or not parts[1] or not parts[2]:
            raise Unauthenticated("invalid session: malformed project token subject")
        return parts[1], parts[2]


def issue(
    key: bytes,
    subject: str,
    *,
    expires_in: float = 0.0,
    token_id: str | None = None,
    now: float | None = None,
    precise: bool = False,
) -> tuple[str, Claims]:
    """A signed token for ``subject``; ``expires_in`` 0 means it never expires.

    ``precise`` keeps microseconds in ``iat`` (a JWT NumericDate may be fractional):
    a login session is compared with ``passwordMtime``, and a session opened right
    after a password change — in the same second — must outlive the ones before it.
    """
    if not key:
        raise ValueError("no signing key")
    moment = now if now is not None else time.time()
    issued: float = round(moment, 6) if precise else int(moment)
    claims: dict[str, Any] = {
        "jti": token_id or str(uuid.uuid4()),
        "iat": issued,
        "nbf": issued,
        "iss": ISSUER,
        "sub": subject,
    }
    if expires_in > 0:
        claims["exp"] = int(moment + expires_in)
    token = jwt.encode(claims, key, algorithm=ALGORITHM)
    return token, Claims(subject, issued, claims.get("exp", 0), claims["jti"], ISSUER)


def verify(key: bytes, token: str) -> Claims:
    """The claims of ``token`` if it is ours, well signed, issued by argocd and not expired.

    Any failure is :class:`Unauthenticated` with a message that never repeats the token.
    """
    if not key:
        raise Unauthenticated("invalid session: the server has no signing key yet")
    if len(token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated("invalid session: token too long")
    try:
        raw = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            leeway=LEEWAY,
            options={"require": ["sub", "iat", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("invalid session: token is expired") from None
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"invalid session: {type(exc).__name__}") from None
    sub, iat, exp, jti = raw.get("sub"), raw.get("iat"), raw.get("exp", 0), raw.get("jti", "")
    if not isinstance(sub, str) or not sub or len(sub) > 512:
        raise Unauthenticated("invalid session: bad subject")
    if isinstance(iat, bool) or isinstance(exp, bool):
        raise Unauthenticated("invalid session: bad time claim")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        raise Unauthenticated("invalid session: bad time claim")
    if not isinstance(jti, str) or len(jti) > 256:
        raise Unauthenticated("invalid session: bad token id")
    return Claims(sub, float(iat), int(exp or 0), jti, ISSUER)


def token_from_headers(authorization: str | None, cookie: str | None) -> str | None:
    """The bearer token of a request: ``Authorization: Bearer`` first, then the cookie."""
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    if cookie:
        return cookie.strip() or None
    return None
