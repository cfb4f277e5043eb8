"""gitward: GitOps continuous delivery for Kubernetes that speaks Argo CD's API.

Git is the single source of truth. gitward resolves each Application's source
to a commit, renders its manifests, compares them with the live cluster,
applies the difference, prunes what Git no longer declares, heals drift and
keeps history. docs/architecture.md describes the pipeline and the package layers.
"""

from gitward.model.errors import ConfigError, GitwardError, ToolError

__version__ = "0.1.0"

__all__ = ["ConfigError", "GitwardError", "ToolError", "__version__"]
