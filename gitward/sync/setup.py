"""The manifest service of an installation, set up from its own settings and Secrets.

Every process that compares Applications (the CLI, the controller, the API
server) needs the same pieces: where the render tools live on this machine
(the local toolchain if built, else ``PATH``), the repository credentials and
extra CA certificates from the installation's Secrets and ConfigMaps, and a
manifest service built from them. They live here, below every face, so that no
face imports another to get them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gitward import localkube
from gitward.cluster import KubeClient, NotFound
from gitward.model.application import Application
from gitward.model.errors import ConfigError
from gitward.render import RenderEnv, RenderTools, detect, render
from gitward.reposerver import ManifestService
from gitward.source import GitSource
from gitward.source.credentials import CredentialStore
from gitward.source.helmrepo import HelmRepos
from gitward.source.http import TLSCerts
from gitward.source.oci import OCIClient
from gitward.source.policy import RepoURLPolicy
from gitward.sync.compare import ManifestSource
from gitward.sync.settings import Settings

Obj = dict[str, Any]

SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"  # noqa: S105 - a label key


def render_tools() -> RenderTools:
    """kustomize, helm and jsonnet from the local toolchain when it is built, else from PATH."""
    toolchain = localkube.find()
    if toolchain is not None:
        return RenderTools(
            kustomize=toolchain.binary("kustomize"),
            helm=toolchain.binary("helm"),
            jsonnet=toolchain.binary("jsonnet"),
        )
    return RenderTools.from_path()


async def repo_credentials(client: KubeClient, namespace: str) -> CredentialStore:
    """Repository and repo-creds Secrets of the installation."""
    secrets: list[Obj] = []
    for kind in ("repository", "repo-creds"):
        secrets += await client.list("v1", "Secret", namespace, f"{SECRET_TYPE_LABEL}={kind}")
    return CredentialStore.from_secrets(secrets)


TLS_CERTS_CONFIGMAP = "argocd-tls-certs-cm"


async def tls_certs(client: KubeClient, namespace: str) -> TLSCerts:
    """Argo CD's ``argocd-tls-certs-cm``: extra CA certificates (PEM) by server host name."""
    try:
        cm = await client.get("v1", "ConfigMap", TLS_CERTS_CONFIGMAP, namespace)
    except NotFound:
        return TLSCerts({})
    data = cm.get("data") or {}
    return TLSCerts({str(host).lower(): str(pem) for host, pem in data.items()})


@dataclasses.dataclass
class LocalRendered:
    revision: str
    objects: list[Obj]
    source_type: str
    revisions: tuple[str, ...] = ()


class LocalManifests:
    """Renders a local directory in place of the app's Git source (``app diff --local``)."""

    def __init__(self, directory: Path, tools: RenderTools) -> None:
        self.directory = directory
        self.tools = tools

    async def generate(
        self,
        app: Application,
        revision: str | None = None,
        *,
        allow_empty: bool = False,
        revisions: Sequence[str] | None = None,
    ) -> LocalRendered:
        del revision, allow_empty, revisions  # a local directory has no revisions
        if app.source is None:
            raise ConfigError("--local needs an application with a single source")
        source = dataclasses.replace(app.source, path=".")
        env = RenderEnv(
            app_name=app.name,
            app_namespace=app.destination.namespace,
            revision="local",
            repo_url=app.source.repo_url,
            source_path=app.source.path,
        )
        objects = await render(self.directory, source, env, self.tools)
        return LocalRendered("local", objects, detect(self.directory, source))


async def manifest_source(
    client: KubeClient,
    namespace: str,
    settings: Settings,
    *,
    hard: bool = False,
    local: Path | None = None,
) -> ManifestSource:
    """The manifests of the installation in ``namespace``: its Git, Helm and OCI sources with
    its credentials (or ``local``, a directory rendered in place of every app's source)."""
    tools = render_tools()
    if local is not None:
        return LocalManifests(local, tools)
    creds = await repo_credentials(client, namespace)
    source = GitSource(policy=RepoURLPolicy.create(settings.local_repositories))
    certs = await tls_certs(client, namespace)
    service = ManifestService(
        source=source,
        tools=tools,
        credentials=creds,
        helm_repos=HelmRepos(certs=certs),
        oci=OCIClient(certs=certs),
        plugins=settings.plugins,
    )
    if hard:
        service.clear_cache()
    return service
