"""Keeping the enforcer's policy in step with ``argocd-rbac-cm`` and the AppProjects.

A poll every ``interval`` seconds reads the ConfigMap (one GET) and, unless the
server feeds AppProjects from its own informer (``with_projects=False``, then it calls
:meth:`RbacEnforcer.set_projects` itself), lists the AppProjects; the enforcer is
rebuilt only when a resourceVersion changed. A policy that does not parse is logged
(naming the key and line) and the previous policy stays in force: a typo in
``policy.csv`` must not lock everyone out, nor open everything.
"""

from __future__ import annotations

import asyncio
import logging

from gitward.cluster import ClusterError, KubeClient, NotFound
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION
from gitward.model.project import AppProject, parse_project
from gitward.server.auth.rbac import RbacEnforcer
from gitward.server.auth.rbac_policy import CM_NAME, parse_rbac_cm

log = logging.getLogger(__name__)


class PolicyLoader:
    """One reload step (:meth:`refresh`) and the loop around it (:meth:`run`)."""

    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        enforcer: RbacEnforcer,
        *,
        with_projects: bool = True,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.enforcer = enforcer
        self.with_projects = with_projects
        self._cm_version: str | None = None
        self._projects_version: tuple[str, ...] | None = None
        #: The last error of the ConfigMap ("" when the policy in force is the stored one).
        self.error = ""

    async def refresh(self) -> bool:
        """Reload what changed; whether anything was reloaded."""
        changed = False
        try:
            cm = await self.client.get("v1", "ConfigMap", CM_NAME, self.namespace)
        except NotFound:
            cm = None
        version = str((cm or {}).get("metadata", {}).get("resourceVersion", ""))
        if version != self._cm_version:
            try:
                self.enforcer.load(parse_rbac_cm(cm))
                self.error = ""
                changed = True
            except ConfigError as exc:
                self.error = str(exc)
                log.error("RBAC policy not loaded, the previous one stays: %s", exc)
            self._cm_version = version
            self._projects_version = None  # the enforcer was rebuilt: feed projects again
        if self.with_projects:
            items = await self.client.list(API_VERSION, "AppProject", self.namespace)
            versions = tuple(
                sorted(str(i.get("metadata", {}).get("resourceVersion", "")) for i in items)
            )
            if versions != self._projects_version:
                projects: list[AppProject] = []
                for item in items:
                    try:
                        projects.append(parse_project(item))
                    except ConfigError as exc:
                        log.warning("RBAC: project left out: %s", exc)
                self.enforcer.set_projects(projects)
                self._projects_version = versions
                changed = True
        return changed

    async def run(self, interval: float = 2.0) -> None:
        """Refresh forever (until cancelled); errors of the cluster are logged and retried."""
        while True:
            try:
                await self.refresh()
            except ClusterError as exc:
                log.warning("RBAC policy refresh failed: %s", exc)
            await asyncio.sleep(interval)
