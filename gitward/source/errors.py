"""The source layer's errors: what git could not give us, and for which repository.

Every message names the repository by its redacted URL (:func:`redact_url`) and,
for a failed git command, includes git's own stderr with every known secret
scrubbed out, so the person reading it sees what git decided without ever
seeing a token, password or private key.
"""

from __future__ import annotations

from gitward.model.errors import ConfigError, SourceError
from gitward.model.repourl import redact_url


class GitCommandError(SourceError):
    """A git command failed; carries the subcommand, the repository and git's stderr."""

    def __init__(self, url: str, command: str, detail: str, stderr: str = "") -> None:
        self.url = redact_url(url)
        self.command = command
        self.stderr = stderr.strip()
        message = f"git {command} {self.url}: {detail}"
        if self.stderr:
            message = f"{message}: {self.stderr[-2000:]}"
        super().__init__(message)


class GitTimeout(GitCommandError):
    """A git command ran past its deadline and was killed (with its whole process group)."""


class AuthenticationFailed(GitCommandError):
    """The server wants credentials we do not have, or refused the ones we sent."""


class RepositoryNotFound(GitCommandError):
    """The server answered, but has no repository at that URL (or hides it from us)."""


class UnknownRevision(SourceError):
    """No branch, tag, commit or semver-matching tag of the repository is that revision."""

    def __init__(self, url: str, revision: str, detail: str = "") -> None:
        self.url = redact_url(url)
        self.revision = revision
        message = f"repository {self.url}: unknown revision {revision!r}"
        super().__init__(f"{message}: {detail}" if detail else message)


class AmbiguousRevision(UnknownRevision):
    """A short SHA that names more than one commit."""


class ExportError(SourceError):
    """A commit's tree could not be written out (disk full, unsafe paths)."""


class CredentialsError(ConfigError):
    """A repository credential Secret or file is malformed."""
