"""Git as the source of truth: revisions to commits, bare mirrors, read-only trees.

Layer 2: uses only :mod:`gitward.model` and :mod:`gitward._util`, and the
``git`` command (never a git library). The main entry point is
``async with GitSource().checkout(url, revision, creds) as tree``.
"""

from gitward.model.repourl import normalize_url, redact_url, same_repo
from gitward.source.credentials import CredentialStore, RepoCredentials
from gitward.source.errors import (
    AmbiguousRevision,
    AuthenticationFailed,
    CredentialsError,
    ExportError,
    GitCommandError,
    GitTimeout,
    RepositoryNotFound,
    UnknownRevision,
)
from gitward.source.gitsource import Checkout, GitSource, GitStats, default_cache_dir
from gitward.source.mirror import CommitInfo
from gitward.source.policy import RepoURLPolicy, RepoURLRefused

__all__ = [
    "AmbiguousRevision",
    "AuthenticationFailed",
    "Checkout",
    "CommitInfo",
    "CredentialStore",
    "CredentialsError",
    "ExportError",
    "GitCommandError",
    "GitSource",
    "GitStats",
    "GitTimeout",
    "RepoCredentials",
    "RepoURLPolicy",
    "RepoURLRefused",
    "RepositoryNotFound",
    "UnknownRevision",
    "default_cache_dir",
    "normalize_url",
    "redact_url",
    "same_repo",
]
