"""Image update automation in the controller: poll registries, write the chosen images back.

``gitward controller`` attaches an :class:`ImageUpdater` to its watch of Applications. Every
app that carries Argo CD Image Updater's ``image-list`` annotation
(:mod:`gitward.images.automation`) is polled on its own timer — the
``gitward.io/image-update-interval`` annotation (``30s``, ``5m``; at least 1 s), else the
updater's default of 2 minutes — and each poll:

1. asks the registry for each image's tags or digest (:class:`RegistryClient`: token auth,
   pagination, per-registry rate limits) and picks one with the image's strategy;
2. compares the pick with what the app runs (``status.summary.images``) and stops when they
   agree, or when it already wrote that very change and the app has not synced it yet (an
   image the app does not run yet is left alone, as Image Updater leaves it);
3. writes the change back: ``write-back-method: git`` commits it to the app's repository
   with :func:`gitward.images.set_images` — the code behind ``gitward image set``, so the
   same files are edited the same way (the ``.argocd-source-<app>.yaml`` file by default,
   the kustomization or a Helm values file with ``write-back-target``), on the
   ``git-branch`` annotation's branch or the one the app tracks, from a private clone with
   the installation's credentials, surviving push races — then asks for the app to be
   refreshed at once; ``argocd`` (Image Updater's default) sets the app's own
   ``spec.source.kustomize.images`` or Helm parameters.

A poll that fails (a registry that does not answer, refused credentials, a push that cannot
land) is logged, counted and recorded as a Warning Event on the app, and the app's next
poll backs off: twice the interval after each failure in a row, at most 30 minutes.

Registry settings come from Image Updater's ``argocd-image-updater-config`` ConfigMap
(``registries.conf``: ``prefix``, ``api_url`` — ``http://`` for a registry served without
TLS —, ``credentials``). Pull secrets named by an app's annotation are read only from the
controller's namespace: ``pullsecret:`` names a ``kubernetes.io/dockerconfigjson`` Secret,
whose credentials go only to the registry they are for; ``secret:<ns>/<name>#<field>`` is
accepted only for a Secret labelled ``gitward.io/registry-credentials: "true"``, since its
field could otherwise be any secret of the installation sent to a registry the app names.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import posixpath
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import yaml

from gitward._util.keyed import ObjectFeed
from gitward._util.secretdata import SecretDataError, secret_fields
from gitward._util.workqueue import WorkQueue
from gitward.appstate import events
from gitward.cluster import KubeClient, NotFound
from gitward.images.automation import (
    ImageSpec,
    PullSecret,
    UpdateConfig,
    choose,
    parse_config,
    parse_pull_secret,
)
from gitward.images.gitpush import Remote, branch_of, private_clone
from gitward.images.imageset import Kind, Target, set_images
from gitward.images.reference import ImageChange, ImageRef, ImageRefError, parse_image, same_image
from gitward.images.registry import RegistryClient, RegistryCredentials, split_image
from gitward.model.durations import DurationError, parse_duration
from gitward.model.errors import ConfigError, GitwardError
from gitward.model.kinds import API_VERSION, APPLICATION
from gitward.source import CredentialStore, GitSource

Obj = dict[str, Any]
log = logging.getLogger("gitward.images")

INTERVAL_ANNOTATION = "gitward.io/image-update-interval"
DEFAULT_INTERVAL = 120.0
MIN_INTERVAL = 1.0
MAX_BACKOFF = 1800.0
CONFIGMAP = "argocd-image-updater-config"
CONFIG_TTL = 30.0
CREDENTIALS_LABEL = "gitward.io/registry-credentials"


@dataclass(frozen=True)
class RegistrySettings:
    """One entry of ``registries.conf``."""

    prefix: str
    plain_http: bool = False
    credentials: PullSecret | None = None


@dataclass
class AppPolls:
    """What the updater remembers of one app between polls (not persisted)."""

    failures: int = 0
    written: list[ImageChange] = field(default_factory=list)


@dataclass(frozen=True)
class PollResult:
    changes: list[ImageChange]
    commit: str = ""
    written: bool = False


def _map(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def interval_of(app: Obj, default: float) -> float:
    raw = _map(_map(app.get("metadata")).get("annotations")).get(INTERVAL_ANNOTATION)
    if not isinstance(raw, str) or not raw.strip():
        return default
    try:
        return max(parse_duration(raw), MIN_INTERVAL)
    except DurationError:
        log.warning("annotation %s: %r is not a duration; using %gs", INTERVAL_ANNOTATION,
                    raw, default)  # fmt: skip
        return default


def next_delay(interval: float, failures: int) -> float:
    """Seconds to the next poll: the interval, doubled for each failure in a row, at most
    :data:`MAX_BACKOFF` (or the interval, when that is longer)."""
    return min(interval * 2.0 ** min(failures, 32), max(MAX_BACKOFF, interval))


def running_images(app: Obj) -> list[ImageRef]:
    """The images the app runs, as its status summary lists them."""
    found = []
    for text in _map(_map(app.get("status")).get("summary")).get("images") or []:
        if isinstance(text, str):
            try:
                found.append(parse_image(text))
            except ImageRefError:
                continue
    return found


def parse_registries(text: str) -> list[RegistrySettings]:
    """``registries.conf`` of ``argocd-image-updater-config``."""
    where = f"ConfigMap {CONFIGMAP} registries.conf"
    try:
        data = yaml.load(text, Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise ConfigError(f"{where}: not valid YAML ({exc})") from None
    entries = _map(data).get("registries") or []
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: registries must be a list")
    out = []
    for i, entry in enumerate(entries):
        entry = _map(entry)
        prefix = entry.get("prefix")
        if not isinstance(prefix, str) or not prefix:
            raise ConfigError(f"{where}: registries[{i}] needs a prefix")
        api = str(entry.get("api_url") or "")
        creds = entry.get("credentials")
        secret = None
        if isinstance(creds, str) and creds:
            secret = parse_pull_secret(creds, f"{where}: registries[{i}].credentials")
        out.append(RegistrySettings(prefix.rstrip("/"), api.startswith("http://"), secret))
    return out


class ImageUpdater:
    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        *,
        git: GitSource | None,
        credentials: Callable[[], CredentialStore | None] = lambda: None,
        refresh: Callable[[str], None] = lambda _name: None,
        interval: float = DEFAULT_INTERVAL,
        registry: RegistryClient | None = None,
        workers: int = 2,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.git = git
        self.credentials = credentials
        #: Asks the controller to reconcile an app now (after a push to its repository).
        self.refresh = refresh
        self.interval = interval
        self.workers = workers
        self.queue = WorkQueue()
        #: Apps that ask for automation, as the watch last delivered them, by name.
        self.apps: dict[str, Obj] = {}
        self.memory: dict[str, AppPolls] = {}
        #: Images changed, by (app, image); polls that failed, by app: for metrics.
        self.updates: Counter[tuple[str, str]] = Counter()
        self.failures: Counter[str] = Counter()
        self._registry = registry
        self._session: aiohttp.ClientSession | None = None
        self._settings: tuple[float, list[RegistrySettings]] | None = None
        self._seen: dict[str, str] = {}
        self._active: Callable[[Obj], bool] = lambda _app: True

    # -- which apps, and when ----------------------------------------------------------------

    def attach(self, apps: ObjectFeed, active: Callable[[Obj], bool] | None = None) -> None:
        """Follow the apps ``apps`` reports; ``active(app)``: whether this process updates it."""
        if active is not None:
            self._active = active
        apps.subscribe(self._changed)

    def _changed(self, name: str, _old: Obj | None, new: Obj | None) -> None:
        annotations = _map(_map((new or {}).get("metadata")).get("annotations"))
        wanted = {k: v for k, v in annotations.items() if k.startswith("argocd-image-updater.")}
        if new is None or not wanted or not self._active(new):
            self.apps.pop(name, None)
            self.memory.pop(name, None)
            self._seen.pop(name, None)
            self.queue.forget(name)
            return
        self.apps[name] = new
        key = json.dumps([wanted, annotations.get(INTERVAL_ANNOTATION)], sort_keys=True)
        if self._seen.get(name) != key:  # new, or its automation changed: poll now
            self._seen[name] = key
            self.queue.add(name)

    def look(self, app: Obj) -> None:
        self._changed(str(app["metadata"]["name"]), None, app)

    async def run(self, stop: asyncio.Event) -> None:
        workers = [asyncio.create_task(self._work(stop)) for _ in range(self.workers)]
        await stop.wait()
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self.queue.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _work(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            name = await self.queue.get()
            try:
                obj = self.apps.get(name)
                if obj is None:
                    continue
                memory = self.memory.setdefault(name, AppPolls())
                try:
                    await self.poll(obj)
                    memory.failures = 0
                except GitwardError as exc:
                    memory.failures += 1
                    self.failures[name] += 1
                    log.warning("image update of app %s failed: %s", name, exc)
                    await events.record(self.client, obj, "ImageUpdateFailed", str(exc)[:1000],
                                        warning=True)  # fmt: skip
                except Exception:  # one app's failure must not stop the others
                    memory.failures += 1
                    self.failures[name] += 1
                    log.exception("image update of app %s failed", name)
                if name in self.apps:
                    base = interval_of(self.apps[name], self.interval)
                    self.queue.add_after(name, next_delay(base, memory.failures))
            finally:
                self.queue.done(name)

    # -- one poll ----------------------------------------------------------------------------

    def _client(self) -> RegistryClient:
        if self._registry is None:
            self._session = aiohttp.ClientSession()
            self._registry = RegistryClient(self._session)
        return self._registry

    async def _registries(self) -> list[RegistrySettings]:
        now = time.monotonic()
        if self._settings is not None and self._settings[0] > now:
            return self._settings[1]
        try:
            cm = await self.client.get("v1", "ConfigMap", CONFIGMAP, self.namespace)
            text = _map(cm.get("data")).get("registries.conf") or ""
            settings = parse_registries(text) if text else []
        except NotFound:
            settings = []
        self._settings = (now + CONFIG_TTL, settings)
        client = self._client()
        client.insecure = frozenset(s.prefix for s in settings if s.plain_http)
        return settings

    async def _secret(self, ref: PullSecret, host: str, trusted: bool) -> RegistryCredentials:
        where = f"pull secret {ref.namespace}/{ref.name}"
        if ref.namespace != self.namespace and not trusted:
            raise ConfigError(f"{where}: pull secrets are read only from {self.namespace}")
        try:
            secret = await self.client.get("v1", "Secret", ref.name, ref.namespace)
            fields = secret_fields(secret)
        except NotFound:
            raise ConfigError(f"{where}: no such Secret") from None
        except SecretDataError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if ref.field:
            labels = _map(_map(secret.get("metadata")).get("labels"))
            if not trusted and labels.get(CREDENTIALS_LABEL) != "true":
                raise ConfigError(
                    f"{where}: a secret:<ns>/<name>#<field> credential must be labelled "
                    f'{CREDENTIALS_LABEL}: "true" (any other Secret could be sent to any registry)'
                )
            user, sep, password = fields.get(ref.field, "").partition(":")
            if not sep:
                raise ConfigError(f"{where}: field {ref.field!r} is not user:password")
            return RegistryCredentials(user, password)
        if secret.get("type") != "kubernetes.io/dockerconfigjson":
            raise ConfigError(f"{where}: not a kubernetes.io/dockerconfigjson Secret")
        try:
            auths = _map(_map(json.loads(fields.get(".dockerconfigjson", "{}"))).get("auths"))
        except (ValueError, RecursionError):
            raise ConfigError(f"{where}: .dockerconfigjson is not JSON") from None
        entry = next((_map(v) for k, v in auths.items() if _host(str(k)) == host), None)
        if entry is None:
            raise ConfigError(f"{where}: no credentials for {host}")
        if entry.get("auth"):
            try:
                decoded = base64.b64decode(str(entry["auth"])).decode()
            except (ValueError, UnicodeDecodeError):
                raise ConfigError(f"{where}: the auth of {host} is not base64") from None
            user, _, password = decoded.partition(":")
            return RegistryCredentials(user, password)
        return RegistryCredentials(str(entry.get("username", "")), str(entry.get("password", "")))

    async def _credentials_for(
        self, spec: ImageSpec, settings: list[RegistrySettings]
    ) -> RegistryCredentials | None:
        host, _ = split_image(spec.image)
        if spec.pull_secret is not None:
            return await self._secret(spec.pull_secret, host, trusted=False)
        for entry in settings:
            if spec.image.startswith(entry.prefix) and entry.credentials is not None:
                return await self._secret(entry.credentials, host, trusted=True)
        return None

    async def choose(self, app: Obj, config: UpdateConfig) -> list[ImageChange]:
        """The changes the app's images need now (registry questions only)."""
        settings = await self._registries()
        running = running_images(app)
        changes = []
        for spec in config.images:
            creds = await self._credentials_for(spec, settings)
            current = next((r for r in running if same_image(r.name, spec.image)), None)
            if current is None:
                # Not (yet) among the app's images (as Image Updater, which needs
                # force-update for that): nothing to compare the registry's pick with.
                log.debug(
                    "app %s does not run %s: not updated", app["metadata"]["name"], spec.image
                )
                continue
            change = await choose(spec, current, self._client(), creds)
            if change is None:
                continue
            if spec.kustomize_name and spec.kustomize_name != spec.image:
                change = ImageChange(spec.kustomize_name, spec.image, change.tag, change.digest)
            changes.append(change)
        return changes

    async def poll(self, app: Obj) -> PollResult:
        """One poll of ``app``: choose, and write back what changed."""
        meta = app["metadata"]
        name = str(meta["name"])
        config = parse_config(_map(meta.get("annotations")))
        if config is None:
            return PollResult([])
        changes = await self.choose(app, config)
        memory = self.memory.setdefault(name, AppPolls())
        if not changes or changes == memory.written:
            return PollResult(changes)
        if config.write_back.method == "git":
            commit = await self._write_git(app, config, changes)
        else:
            commit = ""
            await self._write_spec(app, config, changes)
        memory.written = changes
        for change in changes:
            self.updates[(name, change.target_name)] += 1
        what = ", ".join(str(c) for c in changes)
        where = f" in commit {commit[:12]}" if commit else ""
        log.info("app %s: images updated: %s%s", name, what, where)
        await events.record(self.client, app, "ImagesUpdated", f"Updated {what}{where}")
        self.refresh(name)
        return PollResult(changes, commit, True)

    async def _write_git(self, app: Obj, config: UpdateConfig, changes: list[ImageChange]) -> str:
        name = str(app["metadata"]["name"])
        spec = _map(app.get("spec"))
        source = _map(spec.get("source"))
        url = source.get("repoURL")
        if not source or not isinstance(url, str) or not url or source.get("chart"):
            raise ConfigError(f"app {name}: git write-back needs a single Git source")
        if self.git is None:
            raise ConfigError(f"app {name}: no git access in this process")
        store = self.credentials()
        creds = store.lookup(url, str(spec.get("project") or "default")) if store else None
        branch = config.write_back.branch or branch_of(str(source.get("targetRevision") or ""))
        if not branch:
            branch = await self._default_branch(url, creds)
        kind: Kind = "write-back"
        helm_values = ""
        target = config.write_back.target
        path = str(source.get("path") or ".")
        if target.startswith("kustomization"):
            kind = "kustomize"
            _, _, where = target.partition(":")
            if where:
                path = where.lstrip("/") if where.startswith("/") else f"{path}/{where}"
        elif target.startswith("helmvalues"):
            kind = "helm"
            helm_values = target.partition(":")[2]
            if helm_values.startswith("/"):  # Image Updater's form for the repository's root
                helm_values = posixpath.relpath(helm_values.lstrip("/"), path)
        helm_images = tuple(
            (s.image, s.helm_name, s.helm_tag or "image.tag")
            for s in config.images
            if s.helm_name or s.helm_tag
        )
        remote = Remote(branch, self.git.runner, url, creds)
        message = f"gitward image update {name}: " + "; ".join(str(c) for c in changes)
        async with private_clone(remote) as checkout:
            outcome = await set_images(
                checkout,
                Target(path, kind, helm_values, "", name, helm_images),
                changes,
                commit=True,
                push=True,
                remote=remote,
                message=message[:400],
            )
        return outcome.commit

    async def _default_branch(self, url: str, creds: Any) -> str:
        assert self.git is not None
        refs = (await self.git.ls_remote(url, creds, force=True)).refs
        head = refs.get("HEAD")
        heads = sorted(r for r in refs if r.startswith("refs/heads/"))
        for preferred in ("refs/heads/main", "refs/heads/master", *heads):
            if preferred in refs and (head is None or refs[preferred] == head):
                return preferred[len("refs/heads/") :]
        raise ConfigError(f"{url}: cannot tell the default branch; set the git-branch annotation")

    async def _write_spec(self, app: Obj, config: UpdateConfig, changes: list[ImageChange]) -> None:
        """Image Updater's ``argocd`` method: the Application's own source parameters."""
        name = str(app["metadata"]["name"])
        source_type = str(_map(app.get("status")).get("sourceType") or "")
        source = _map(_map(app.get("spec")).get("source"))
        if not source:
            raise ConfigError(f"app {name}: write-back-method argocd needs a single source")
        if source_type == "Kustomize":
            images = [str(i) for i in _map(source.get("kustomize")).get("images") or []]
            for change in changes:
                entry = str(ImageRef(change.target_name, change.tag, change.digest))
                entry = f"{change.name}={entry}" if change.new_name else entry
                images = [i for i in images if not _names(i, change.name)] + [entry]
            patch: Obj = {"spec": {"source": {"kustomize": {"images": images}}}}
        elif source_type == "Helm":
            params = list(_map(source.get("helm")).get("parameters") or [])
            for change in changes:
                spec = next((s for s in config.images if s.image == change.name), None)
                wanted = {
                    (spec and spec.helm_name) or "image.name": change.target_name,
                    (spec and spec.helm_tag) or "image.tag": change.tag or change.digest,
                }
                params = [p for p in params if _map(p).get("name") not in wanted]
                params += [{"name": k, "value": v, "forceString": True} for k, v in wanted.items()]
            patch = {"spec": {"source": {"helm": {"parameters": params}}}}
        else:
            raise ConfigError(
                f"app {name}: write-back-method argocd needs a Kustomize or Helm source "
                f"(this one is {source_type or 'not rendered yet'}); use write-back-method: git"
            )
        await self.client.patch(API_VERSION, APPLICATION, name, self.namespace, patch)


def _names(entry: str, name: str) -> bool:
    left, eq, _ = entry.partition("=")
    try:
        return (left if eq else parse_image(entry).name) == name
    except ImageRefError:
        return False


def _host(key: str) -> str:
    """``https://ghcr.io/v1/`` or ``ghcr.io`` → ``ghcr.io`` (docker config keys come both ways)."""
    key = key.split("://", 1)[-1]
    return key.split("/", 1)[0]
