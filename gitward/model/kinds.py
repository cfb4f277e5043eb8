"""Argo CD's API group, version and kinds, named once.

Every module that reads or writes an Application, AppProject or ApplicationSet
takes these names from here, so the group version gitward speaks is one line to
read and one line to change.
"""

from __future__ import annotations

GROUP = "argoproj.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

APPLICATION = "Application"
APP_PROJECT = "AppProject"
APPLICATION_SET = "ApplicationSet"
