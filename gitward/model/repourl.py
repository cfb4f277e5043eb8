"""Repository URLs: one canonical spelling per repository, and a safe one for messages.

The same repository is written many ways (``https://GitHub.com/org/repo.git/``,
``git@github.com:org/repo``), and every cache in this package — ref maps,
mirrors, exported trees, credentials — must treat those spellings as one key.
:func:`normalize_url` gives that key. :func:`redact_url` is what every message,
log line and exception uses, so a password a user pasted into a URL never
travels further than the git child process that needs it.

URLs come from Applications and Secrets anyone may write, so every function
here is total: a URL that :func:`urllib.parse.urlsplit` refuses (``http://]``,
an unbalanced IPv6 bracket) is split by hand instead of raising ValueError,
so caches and messages never fail on it (gitward.model.source_spec refuses
such a ``repoURL`` when it parses an Application).
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit, urlunsplit

#: ``user@host:path`` — git's scp-like syntax for SSH (no scheme, a colon before any slash).
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[^/:]+):(?P<path>(?!//).*)$")

_DEFAULT_PORTS = {"http": 80, "https": 443, "ssh": 22, "git": 9418}


def _parts(url: str) -> SplitResult:
    """``urlsplit(url)``, or for a URL it refuses the same five parts cut by hand."""
    try:
        return urlsplit(url)
    except ValueError:
        scheme, _, rest = url.partition("://")
        cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        netloc, tail = rest[:cut], rest[cut:]
        path, _, fragment = tail.partition("#")
        path, _, query = path.partition("?")
        return SplitResult(scheme, netloc, path, query, fragment)


def _to_ssh(url: str) -> str:
    """``git@host:org/repo`` → ``ssh://git@host/org/repo``; other URLs unchanged."""
    if "://" in url or url.startswith(("/", ".")):
        return url
    match = _SCP_LIKE.match(url)
    if not match:
        return url
    user = f"{match['user']}@" if match["user"] else ""
    return f"ssh://{user}{match['host']}/{match['path'].lstrip('/')}"


def _canonical_netloc(scheme: str, url: str) -> str:
    """Lower-cased host, default port dropped; user kept only for SSH, password never."""
    parts = _parts(url)
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal needs its brackets back
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{port}"
    if scheme == "ssh" and parts.username:
        netloc = f"{parts.username}@{netloc}"
    return netloc


def _split(url: str) -> tuple[str, str, str]:
    """(scheme, netloc, path) of ``url`` after scp-like conversion and lower-casing."""
    url = _to_ssh(url.strip())
    if "://" not in url:
        return "", "", url
    parts = _parts(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return scheme, parts.netloc.lower(), parts.path
    return scheme, _canonical_netloc(scheme, url), parts.path


def _strip_suffixes(path: str) -> str:
    while True:
        before = path
        path = path.rstrip("/")
        if path.endswith(".git"):
            path = path[: -len(".git")]
        if path == before:
            return path


def normalize_url(url: str) -> str:
    """The canonical key of a repository URL.

    Lower-cases scheme and host, drops default ports and any password, rewrites
    scp-like SSH (``git@host:org/repo``) as ``ssh://git@host/org/repo`` and strips
    trailing ``/`` and ``.git``. Paths keep their case: servers differ on that.
    """
    scheme, netloc, path = _split(url)
    path = _strip_suffixes(path)
    if not scheme:
        return path
    return urlunsplit((scheme, netloc, path, "", ""))


def normalize_prefix(prefix: str) -> str:
    """Like :func:`normalize_url` but keeps a trailing ``/``: ``repo-creds`` match by prefix.

    ``https://github.com/org/`` must not match ``https://github.com/org-other/x``,
    so the slash the user wrote is significant.
    """
    scheme, netloc, path = _split(prefix)
    if not scheme:
        return path
    return urlunsplit((scheme, netloc, path, "", ""))


def same_repo(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` name one repository, even across https and ssh forms.

    Compares host and path only: ``https://github.com/org/repo`` and
    ``git@github.com:org/repo.git`` are the same repository.
    """

    def key(url: str) -> tuple[str, str]:
        scheme, netloc, path = _split(url)
        host = netloc.rpartition("@")[2]
        if scheme not in ("file", ""):
            host = host.split(":")[0] if not host.startswith("[") else host.split("]")[0] + "]"
        return host, _strip_suffixes(path).lstrip("/")

    return key(a) == key(b)


def redact_url(url: str) -> str:
    """``url`` with its user-info masked, for messages and logs.

    Over HTTP the user name itself may be a token (``https://ghp_x@github.com``),
    so all user-info is masked; over SSH the user (``git@``) is kept, a password not.
    """
    if "://" not in url:
        return url
    parts = _parts(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme.lower() == "ssh" and parts.password is None:
        return url
    user = f"{parts.username}:***" if parts.scheme.lower() == "ssh" else "***"
    return urlunsplit((parts.scheme, f"{user}@{host}", parts.path, parts.query, ""))


def url_slug(url: str) -> str:
    """A short readable directory-name fragment for ``url`` (not unique on its own)."""
    _, netloc, path = _split(url)
    host = netloc.rpartition("@")[2]
    raw = f"{host}_{_strip_suffixes(path).strip('/')}"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", raw).strip("_.")
    return slug[-48:] or "repo"
