"""What every API route module may reach: the control cluster and where gitward lives.

The server's composition (``gitward server``) builds one :class:`ServerContext`
and stores it in the aiohttp application under :data:`CONTEXT`; route modules
read it from ``request.app[CONTEXT]`` and never build clients of their own. A
route module that needs more (an informer, the manifest service) declares its
own ``web.AppKey`` next to its routes.
"""

from __future__ import annotations

import dataclasses

from aiohttp import web

from gitward.cluster import KubeClient


@dataclasses.dataclass(frozen=True)
class ServerContext:
    #: The control cluster: Applications, AppProjects, Secrets and ConfigMaps live here.
    client: KubeClient
    #: The control namespace (``argocd`` by default): settings, credentials, projects.
    namespace: str
    #: Namespaces whose Applications are served besides the control namespace.
    application_namespaces: tuple[str, ...] = ()


CONTEXT: web.AppKey[ServerContext] = web.AppKey("gitward.server.context", ServerContext)
