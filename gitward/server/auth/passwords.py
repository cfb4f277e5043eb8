"""Passwords: bcrypt hashes as Argo CD stores them, checked off the event loop.

A bcrypt check costs tens of milliseconds by design; it runs in a worker thread so
one login never stalls every other request. A login for an account that does not
exist still pays one check against a fixed hash, so the answer's timing does not say
which usernames exist.
"""

from __future__ import annotations

import asyncio
import secrets
import string

import bcrypt

from gitward.server.errors import InvalidArgument

#: Argo CD's default cost.
COST = 10
#: bcrypt reads at most 72 bytes; a longer password would be silently truncated.
MAX_BYTES = 72
#: Argo CD's default ``passwordPattern`` is ``^.{8,32}$``.
MIN_LENGTH, MAX_LENGTH = 8, 32
_DUMMY = bcrypt.hashpw(b"gitward-no-such-account", bcrypt.gensalt(4))


def hash_password(password: str) -> str:
    """A bcrypt hash of ``password`` (validated first)."""
    check_new_password(password)
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(COST)).decode()


def check_new_password(password: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH or len(password.encode()) > MAX_BYTES:
        raise InvalidArgument(
            f"newPassword: must be {MIN_LENGTH} to {MAX_LENGTH} characters "
            f"(at most {MAX_BYTES} bytes)"
        )


def _matches(password: str, hashed: str) -> bool:
    raw = password.encode()
    if not hashed or len(raw) > MAX_BYTES:
        bcrypt.checkpw(b"x", _DUMMY)
        return False
    try:
        return bcrypt.checkpw(raw, hashed.encode())
    except ValueError:  # not a bcrypt hash
        return False


async def password_matches(password: str, hashed: str) -> bool:
    """Whether ``password`` matches the bcrypt ``hashed`` (False when there is no hash)."""
    return await asyncio.to_thread(_matches, password, hashed)


def generate_password(length: int = 16) -> str:
    """A random password of letters and digits, as Argo CD's initial admin password."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))
