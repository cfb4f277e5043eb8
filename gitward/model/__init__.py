"""Typed specs, statuses and the error tree: pure data, no I/O.

This layer may import only :mod:`gitward._util`. Nothing here talks to git, a
cluster, the network or the disk.
"""

from gitward.model.errors import ConfigError, GitwardError, RenderError, SourceError, ToolError

__all__ = ["ConfigError", "GitwardError", "RenderError", "SourceError", "ToolError"]
