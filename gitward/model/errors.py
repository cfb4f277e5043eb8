"""The root of gitward's exception tree.

Every error gitward raises on purpose derives from :class:`GitwardError`, so a
caller (the CLI, the controller) can tell a reported failure — bad input, an
unreachable repository, a refused apply — from a bug. Each layer adds its own
subclasses next to its code; this module holds only the shared roots.

Messages are written for the person running gitward: they name the file, field,
resource or command at fault, and never contain credentials.
"""

from __future__ import annotations

from gitward._util.redact import redact


class GitwardError(Exception):
    """A failure gitward reports to its user rather than a programming error.

    Its text is always redacted (:func:`gitward._util.redact.redact`): a message
    built from a URL, a tool's stderr or an API server's answer reaches logs,
    conditions, Events and the terminal only through ``str()``, so no subclass
    can leak a credential by forgetting to mask one.
    """

    def __str__(self) -> str:
        return redact(super().__str__(), pairs=False)


class ConfigError(GitwardError):
    """Input that gitward cannot accept: a malformed spec, flag or file."""


class ToolError(GitwardError):
    """An external tool (go, git, kustomize, helm, a control-plane binary) failed or is missing."""


class SourceError(GitwardError):
    """Git could not give us the tree asked for: unknown revision, unreachable repository."""


class RenderError(GitwardError):
    """A source tree could not be turned into manifests (bad YAML, a failing tool)."""
