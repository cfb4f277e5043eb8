"""The engine's parts for one installation, built once from its settings and Secrets.

:class:`Services` holds what every face of gitward shares — the control
cluster's client, the installation's settings, the repository credentials, the
git mirrors and the manifest service — and makes the refreshers that compare
Applications with them. The CLI builds one per command, the controller and the
API server one per process; nobody wires parts together after construction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gitward.appstate import Refresher, Settings, load_settings
from gitward.appstate.comparison import ManifestSource
from gitward.appstate.destinations import Destinations
from gitward.appstate.projects import Projects
from gitward.cluster import KubeClient, NotFound
from gitward.model.application import Application
from gitward.model.errors import ConfigError
from gitward.render import RenderEnv, RenderTools, detect, render
from gitward.reposerver import ManifestService
from gitward.services.tools import render_tools
from gitward.source import GitSource
from gitward.source.credentials import CredentialStore
from gitward.source.helmrepo import HelmRepos
from gitward.source.http import TLSCerts
from gitward.source.oci import OCIClient
from gitward.source.policy import RepoURLPolicy

Obj = dict[str, Any]

SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"  # noqa: S105 - a label key
TLS_CERTS_CONFIGMAP = "argocd-tls-certs-cm"
#: Seconds a repository's ref listing is reused by one CLI command.
REF_TTL = 3.0


async def repo_credentials(client: KubeClient, namespace: str) -> CredentialStore:
    """Repository and repo-creds Secrets of the installation."""
    secrets: list[Obj] = []
    for kind in ("repository", "repo-creds"):
        secrets += await client.list("v1", "Secret", namespace, f"{SECRET_TYPE_LABEL}={kind}")
    return CredentialStore.from_secrets(secrets)


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


@dataclasses.dataclass
class Services:
    """What the CLI, the controller and the API server share for one installation."""

    #: The control cluster: Applications, AppProjects, Secrets and ConfigMaps live here.
    client: KubeClient
    #: The control namespace (``argocd`` by default).
    namespace: str
    settings: Settings
    tools: RenderTools
    #: Where manifests come from: the repo service, or a local directory (``--local``).
    manifests: ManifestSource
    #: The git mirrors and their ref listings (None when rendering a local directory).
    git: GitSource | None = None
    #: The repository credentials read at load time (None for a local directory).
    credentials: CredentialStore | None = None

    @classmethod
    async def load(
        cls,
        client: KubeClient,
        namespace: str,
        *,
        hard: bool = False,
        local: Path | None = None,
        long_lived: bool = False,
        settings: Settings | None = None,
    ) -> Services:
        """Read the installation's settings and Secrets and build the parts.

        ``hard`` starts with an empty render cache; ``local`` renders that directory
        instead of each app's source; ``long_lived`` (a controller or server process)
        keeps a repository's ref listing for a whole refresh cycle, so it is listed
        about once per cycle rather than once per app — webhooks and the refresh
        annotation drop it at once. ``settings`` replaces what ``argocd-cm`` says.
        """
        settings = settings or await load_settings(client, namespace)
        tools = render_tools()
        if local is not None:
            return cls(client, namespace, settings, tools, LocalManifests(local, tools))
        credentials = await repo_credentials(client, namespace)
        git = GitSource(
            policy=RepoURLPolicy.create(settings.local_repositories),
            ref_ttl=max(REF_TTL, settings.reconciliation_seconds) if long_lived else REF_TTL,
        )
        certs = await tls_certs(client, namespace)
        service = ManifestService(
            source=git,
            tools=tools,
            credentials=credentials,
            helm_repos=HelmRepos(certs=certs),
            oci=OCIClient(certs=certs),
            plugins=settings.plugins,
        )
        if hard:
            service.clear_cache()
        return cls(client, namespace, settings, tools, service, git, credentials)

    def refresher(
        self,
        *,
        destinations: Destinations | None = None,
        projects: Projects | None = None,
        holder: str = "",
        unchanged_status_for: float = 0.0,
        messages_every: float = 0.0,
    ) -> Refresher:
        """A refresher over these parts (see :class:`gitward.sync.Refresher` for the options)."""
        return Refresher(
            self.client,
            self.settings,
            self.manifests,
            destinations,
            projects=projects,
            control_namespace=self.namespace,
            holder=holder,
            unchanged_status_for=unchanged_status_for,
            messages_every=messages_every,
        )

    def forget_revisions(self, hard: bool = False) -> None:
        """Drop cached ref listings, so the next resolve sees a just-pushed commit;
        ``hard`` also drops every cached render."""
        if hard and isinstance(self.manifests, ManifestService):
            self.manifests.clear_cache()
            return
        if self.git is not None:
            self.git.forget_refs()

    def git_stats(self) -> dict[str, Any]:
        """Git statistics per repository."""
        return dict(self.git.stats) if self.git is not None else {}


async def refresher_for(
    client: KubeClient, namespace: str, *, hard: bool = False, local: Path | None = None
) -> Refresher:
    """One command's refresher: the installation's parts, loaded for a single use."""
    return (await Services.load(client, namespace, hard=hard, local=local)).refresher()
