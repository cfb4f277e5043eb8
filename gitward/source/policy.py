"""Which repository URLs gitward may fetch, decided before git sees one.

A ``repoURL`` is written by whoever may create an Application, so it is
hostile input that reaches a program (git). Three things it must never do:

- become an option (``--upload-pack=/path/script``): refused when it starts
  with ``-``, and git is always given ``--`` before it;
- pick a transport that runs programs (``ext::sh -c ...``) or any scheme but
  the network ones (https, http, ssh, git): refused here, and every git call
  runs with ``GIT_ALLOW_PROTOCOL`` limited to what this policy allowed;
- read a directory of the controller's machine. A ``file://`` URL or a plain
  path is a repository on the controller's own disk — including gitward's own
  mirror and tree caches, where other tenants' private repositories live,
  already fetched with their credentials. Local repositories are refused
  unless the installation allow-lists their directory (``argocd-cm`` key
  ``gitward.localRepositories``, or ``GITWARD_LOCAL_REPOSITORIES`` in the
  controller's environment), and gitward's caches are refused even then.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from gitward.model.errors import ConfigError
from gitward.model.repourl import redact_url

#: Environment variable listing directories (``os.pathsep``-separated) local repositories may be in.
LOCAL_REPOSITORIES_ENV = "GITWARD_LOCAL_REPOSITORIES"
#: The ``argocd-cm`` key with the same list (one directory per line, or comma-separated).
LOCAL_REPOSITORIES_KEY = "gitward.localRepositories"
MAX_URL_LENGTH = 2048

NETWORK_SCHEMES = ("https", "http", "ssh", "git", "git+ssh", "ssh+git")
_NETWORK_PROTOCOLS = "https:http:ssh:git"
_SCP_LIKE = re.compile(r"^(?:[^@/:\s]+@)?(?P<host>[^/:\s]+):(?!//)")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


class RepoURLRefused(ConfigError):
    """A repository URL gitward will not hand to git; the message says why."""

    def __init__(self, url: str, reason: str) -> None:
        shown = redact_url(url) if len(url) <= 200 else redact_url(url[:200]) + "..."
        super().__init__(f"repository URL {shown!r}: {reason}")
        self.reason = reason


def split_paths(text: str) -> tuple[str, ...]:
    """Directories from a newline-, comma- or ``os.pathsep``-separated list."""
    parts = re.split(rf"[\n,{re.escape(os.pathsep)}]", text)
    return tuple(p.strip() for p in parts if p.strip())


def local_path(url: str) -> str | None:
    """The filesystem path of a local repository URL (``file://`` or a path); None otherwise."""
    if url.lower().startswith("file://"):
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise RepoURLRefused(url, "a file:// URL must not name a host")
        return unquote(parts.path)
    if url.startswith(("/", "./", "../")) or url in (".", ".."):
        return url
    return None


@dataclass(frozen=True)
class RepoURLPolicy:
    """The URLs one installation accepts: network ones always, local ones when allow-listed."""

    local_dirs: tuple[Path, ...] = ()
    forbidden_dirs: tuple[Path, ...] = ()

    @classmethod
    def create(
        cls, local: Iterable[str] = (), forbidden: Iterable[Path] = (), *, environ: bool = True
    ) -> RepoURLPolicy:
        """A policy from configured directories, plus ``GITWARD_LOCAL_REPOSITORIES`` if set."""
        dirs = list(local)
        if environ:
            dirs += split_paths(os.environ.get(LOCAL_REPOSITORIES_ENV, ""))
        for d in dirs:
            if not os.path.isabs(d):
                raise ConfigError(
                    f"{LOCAL_REPOSITORIES_KEY}: {d!r} is not an absolute directory path"
                )
        return cls(
            local_dirs=tuple(Path(os.path.realpath(d)) for d in dirs),
            forbidden_dirs=tuple(Path(os.path.realpath(f)) for f in forbidden),
        )

    def with_forbidden(self, *dirs: Path) -> RepoURLPolicy:
        extra = tuple(Path(os.path.realpath(d)) for d in dirs)
        return RepoURLPolicy(self.local_dirs, self.forbidden_dirs + extra)

    def check(self, url: str) -> str:
        """``GIT_ALLOW_PROTOCOL`` for ``url``; :class:`RepoURLRefused` if it is not allowed."""
        if not url:
            raise RepoURLRefused(url, "empty")
        if len(url) > MAX_URL_LENGTH:
            raise RepoURLRefused(url, f"longer than {MAX_URL_LENGTH} characters")
        if _CONTROL.search(url):
            raise RepoURLRefused(url, "contains whitespace or control characters")
        if url.startswith("-"):
            raise RepoURLRefused(url, "starts with '-' (git would read it as an option)")
        path = local_path(url)
        if path is not None:
            self._check_local(url, path)
            return "file"
        if "://" in url:
            try:
                parts = urlsplit(url)
                parts.port  # noqa: B018 - raises ValueError on a bad port
            except ValueError as exc:
                raise RepoURLRefused(url, f"not a valid URL ({exc})") from None
            if parts.scheme.lower() not in NETWORK_SCHEMES:
                raise RepoURLRefused(
                    url, f"scheme {parts.scheme!r} is not one of {', '.join(NETWORK_SCHEMES)}"
                )
            if not parts.hostname:
                raise RepoURLRefused(url, "names no host")
            if parts.hostname.startswith("-"):
                raise RepoURLRefused(url, "host starts with '-'")
            return _NETWORK_PROTOCOLS
        match = _SCP_LIKE.match(url)
        if match is None or "::" in url.split("/", 1)[0]:
            raise RepoURLRefused(
                url, "not a URL gitward fetches (https://, ssh://, git://, or user@host:path)"
            )
        if match["host"].startswith("-"):
            raise RepoURLRefused(url, "host starts with '-'")
        return _NETWORK_PROTOCOLS

    def _check_local(self, url: str, path: str) -> None:
        real = Path(os.path.realpath(path))
        for forbidden in self.forbidden_dirs:
            if real == forbidden or real.is_relative_to(forbidden):
                raise RepoURLRefused(url, "is inside gitward's own cache, which no source may read")
        if not any(real == d or real.is_relative_to(d) for d in self.local_dirs):
            raise RepoURLRefused(
                url,
                "local repositories (file:// or a path) are off: allow their directory in "
                f"argocd-cm {LOCAL_REPOSITORIES_KEY} (or {LOCAL_REPOSITORIES_ENV})",
            )
