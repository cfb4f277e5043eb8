"""``gitward install`` / ``uninstall``: CRDs, the default AppProject, controller RBAC.

Layer 3: uses :mod:`gitward.cluster`; knows nothing of git, rendering or sync.
"""

from gitward.install.crds import GROUP, VERSION, crds
from gitward.install.installer import Change, InstallError, install, uninstall

__all__ = ["GROUP", "VERSION", "Change", "InstallError", "crds", "install", "uninstall"]
