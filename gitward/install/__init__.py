"""``gitward install`` / ``uninstall``: CRDs, the default AppProject, RBAC, gitward's pods.

Layer 3: uses :mod:`gitward.cluster`; knows nothing of git, rendering or sync.
"""

from gitward.install.components import COMPONENTS
from gitward.install.crds import crds
from gitward.install.installer import (
    Change,
    InstallError,
    ensure_default_project,
    install,
    manifests,
    uninstall,
)
from gitward.install.pods import DEFAULT_IMAGE, ComponentOptions
from gitward.model.kinds import GROUP, VERSION

__all__ = [
    "COMPONENTS",
    "DEFAULT_IMAGE",
    "GROUP",
    "VERSION",
    "Change",
    "ComponentOptions",
    "InstallError",
    "crds",
    "ensure_default_project",
    "install",
    "manifests",
    "uninstall",
]
