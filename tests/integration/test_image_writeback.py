"""The image updater's two other write-back paths, against a real registry with token auth,
real git and the controller's polling loop:

- ``write-back-method: argocd`` patches the Application's own spec — Kustomize ``images``,
  or the Helm parameters the ``<alias>.helm.image-name``/``.helm.image-tag`` annotations
  name — and commits nothing; an app that is neither Kustomize nor Helm gets a Warning
  Event and is left as it was;
- ``write-back-target: helmvalues:<file>`` with ``write-back-method: git`` commits the new
  tag into a values file (``image.repository``/``image.tag``, or the annotation's paths),
  changing that one line and keeping comments; a values file that does not exist or does
  not parse is a Warning Event and no commit.

The registry credentials come from ``registries.conf``'s ``credentials`` (no app names a
pull secret, and the registry refuses anonymous pulls: no tag is seen without them), and
the tag is chosen by semver with ``allow-tags``: 1.2.0, not 1.10.0-rc1 or latest.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import yaml

from gitward.cluster import KubeClient, NotFound
from gitward.images.automation import PREFIX
from gitward.images.updater import CONFIGMAP, INTERVAL_ANNOTATION
from gitward.localkube.process import free_ports
from tests.support.apps import deployment, unique
from tests.support.controller import application, running_loops
from tests.support.git import GitRepo, git
from tests.support.poll import eventually
from tests.support.registry import Registry

API = "argoproj.io/v1alpha1"
ALLOW = r"regexp:^\d+\.\d+\.\d+$"
DEPLOY_TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  replicas: 1
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers:
      - name: shop
        image: "{{ .Values.%s }}:{{ .Values.%s }}"
"""


def deploy(image: str) -> str:
    return yaml.safe_dump(deployment("shop", image))


def chart(
    values: str, name_key: str = "image.repository", tag_key: str = "image.tag"
) -> dict[str, str]:
    return {
        "app/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
        "app/values.yaml": values,
        "app/templates/deploy.yaml": DEPLOY_TEMPLATE % (name_key, tag_key),
    }


def standard_values(image: str) -> str:
    return (
        "# The shop. CI and the image updater change the tag; keep these notes.\n"
        "replicas: 1\n"
        "image:\n"
        f"  repository: {image}   # where CI pushes\n"
        '  tag: "1.0.0"   # the release that runs\n'
        "  pullPolicy: IfNotPresent\n"
    )


def other_values(image: str) -> str:
    """Values where ``<alias>.helm.image-name``/``.helm.image-tag`` must say where the image is."""
    return (
        "# Image Updater's helm.image-name / helm.image-tag annotations point here.\n"
        "deploy:\n"
        f"  registryImage: {image}\n"
        "  version: 1.0.0  # bumped by automation\n"
    )


CUSTOM_PATHS = {
    "shop.helm.image-name": "deploy.registryImage",
    "shop.helm.image-tag": "deploy.version",
}


def automated(name: str, repo: GitRepo, ns: str, image: str, **extra: str) -> dict[str, Any]:
    app = application(name, repo, ns, {"prune": True})
    app["metadata"]["annotations"] = {
        PREFIX + "image-list": f"shop={image}",
        PREFIX + "shop.update-strategy": "semver",
        PREFIX + "shop.allow-tags": ALLOW,
        INTERVAL_ANNOTATION: "1s",
        **{PREFIX + k: v for k, v in extra.items()},
    }
    return app


async def registries_conf(kube: KubeClient, registry: Registry, secret: str) -> None:
    """``registries.conf`` with default credentials for the registry, from an unlabelled
    Secret: the administrator's configuration may name any Secret, unlike an app."""
    await kube.apply({"apiVersion": "v1", "kind": "Secret",
                      "metadata": {"name": secret, "namespace": "argocd"},
                      "stringData": {"creds": "ci:ci-password"}})  # fmt: skip
    conf = {"registries": [{"name": "local", "prefix": registry.host,
                            "api_url": f"http://{registry.host}",
                            "credentials": f"secret:argocd/{secret}#creds"}]}  # fmt: skip
    await kube.apply({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": CONFIGMAP, "namespace": "argocd"},
                      "data": {"registries.conf": yaml.safe_dump(conf)}})  # fmt: skip


async def live_image(kube: KubeClient, ns: str) -> str:
    try:
        obj = await kube.get("apps/v1", "Deployment", "shop", ns)
    except NotFound:
        return ""
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


async def all_running(
    kube: KubeClient, namespaces: dict[str, str], image: str, timeout: float = 60
) -> None:
    """Until the app in each of ``namespaces`` runs ``image``."""

    async def probe() -> bool:
        return all([await live_image(kube, ns) == image for ns in namespaces.values()])

    await eventually(probe, f"{', '.join(namespaces)} running {image}", timeout)


async def warning(kube: KubeClient, app: str) -> str:
    """The message of the app's ImageUpdateFailed Warning Event ("" while there is none)."""
    for event in await kube.list("v1", "Event", "argocd"):
        if (
            event.get("reason") == "ImageUpdateFailed"
            and event.get("type") == "Warning"
            and event["involvedObject"]["name"] == app
        ):
            return str(event.get("message") or "")
    return ""


async def push_new_tags(registry: Registry) -> None:
    for tag in ("1.2.0", "1.10.0-rc1", "latest"):
        registry.push("org/shop", tag)


async def cleanup(kube: KubeClient, apps: list[str], secret: str) -> None:
    for api, kind, name in [*((API, "Application", a) for a in apps),
                            ("v1", "ConfigMap", CONFIGMAP), ("v1", "Secret", secret)]:  # fmt: skip
        with contextlib.suppress(NotFound):
            await kube.delete(api, kind, name, "argocd")


async def test_argocd_write_back_patches_the_application_spec(
    installed: KubeClient, registry: Registry, git_repo: Any
) -> None:
    kube = installed
    image = f"{registry.host}/org/shop"
    registry.push("org/shop", "1.0.0")
    kust, helm, plain = unique("wb-kust"), unique("wb-helm"), unique("wb-plain")
    namespaces = {app: unique(app[:8]) for app in (kust, helm, plain)}
    repos = {app: git_repo(app) for app in (kust, helm, plain)}
    repos[kust].commit({"app/kustomization.yaml": "resources:\n- deploy.yaml\n",
                        "app/deploy.yaml": deploy(f"{image}:1.0.0")}, "kustomize")  # fmt: skip
    repos[helm].commit(chart(other_values(image), "deploy.registryImage", "deploy.version"), "helm")
    repos[plain].commit({"app/deploy.yaml": deploy(f"{image}:1.0.0")}, "plain manifests")
    heads = {app: repo.head() for app, repo in repos.items()}
    secret = unique("regdefault")
    await registries_conf(kube, registry, secret)
    try:
        async with running_loops(kube, free_ports(1)[0], images=True, notify=False,
                                 dora=False) as loops:  # fmt: skip
            assert loops.images is not None
            for app in (kust, helm, plain):
                extra = {"write-back-method": "argocd", **(CUSTOM_PATHS if app == helm else {})}
                await kube.create(automated(app, repos[app], namespaces[app], image, **extra))
            await all_running(kube, namespaces, f"{image}:1.0.0")

            await push_new_tags(registry)
            started = time.monotonic()
            both = {a: namespaces[a] for a in (kust, helm)}
            await all_running(kube, both, f"{image}:1.2.0", 90)
            print(f"registry push -> both apps running 1.2.0: {time.monotonic() - started:.2f} s")

            spec = (await kube.get(API, "Application", kust, "argocd"))["spec"]["source"]
            assert spec["kustomize"]["images"] == [f"{image}:1.2.0"]
            spec = (await kube.get(API, "Application", helm, "argocd"))["spec"]["source"]
            assert spec["helm"]["parameters"] == [
                {"name": "deploy.registryImage", "value": image, "forceString": True},
                {"name": "deploy.version", "value": "1.2.0", "forceString": True},
            ]
            for app in (kust, helm):
                status = (await kube.get(API, "Application", app, "argocd"))["status"]
                assert status["summary"]["images"] == [f"{image}:1.2.0"]
                assert status["sync"]["status"] == "Synced"

            # Bad input: argocd write-back for plain manifests. A clear Event, nothing changed.
            message = await eventually(lambda: warning(kube, plain), "plain's Warning Event", 30)
            assert "write-back-method argocd needs a Kustomize or Helm source" in message
            assert "use write-back-method: git" in message
            spec = (await kube.get(API, "Application", plain, "argocd"))["spec"]["source"]
            assert "kustomize" not in spec
            assert "helm" not in spec
            assert await live_image(kube, namespaces[plain]) == f"{image}:1.0.0"
            assert loops.images.failures[plain] >= 1
            # The argocd method commits nothing, anywhere.
            assert {app: repo.head() for app, repo in repos.items()} == heads
    finally:
        await cleanup(kube, [kust, helm, plain], secret)


async def test_helmvalues_write_back_commits_the_values_file(
    installed: KubeClient, registry: Registry, git_repo: Any
) -> None:
    kube = installed
    image = f"{registry.host}/org/shop"
    registry.push("org/shop", "1.0.0")
    std, custom = unique("hv-std"), unique("hv-custom")
    missing, broken = unique("hv-missing"), unique("hv-broken")
    apps = [std, custom, missing, broken]
    namespaces = {app: unique(app[:10]) for app in apps}
    repos = {app: git_repo(app) for app in apps}
    values = standard_values(image)
    custom_values = other_values(image)
    repos[std].commit(chart(values), "the shop chart")
    repos[custom].commit(
        chart(custom_values, "deploy.registryImage", "deploy.version"), "custom value paths"
    )
    repos[missing].commit(chart(values), "no values-prod.yaml")
    repos[broken].commit({**chart(values), "app/images.yaml": "image: [unclosed\n  tag: 1\n"},
                         "an images file that does not parse")  # fmt: skip
    heads = {app: repo.head() for app, repo in repos.items()}
    secret = unique("regdefault")
    await registries_conf(kube, registry, secret)
    extra = {
        # Image Updater's form for a path from the repository root.
        std: {"write-back-target": "helmvalues:/app/values.yaml"},
        custom: {"write-back-target": "helmvalues:values.yaml", **CUSTOM_PATHS},
        missing: {"write-back-target": "helmvalues:values-prod.yaml"},
        broken: {"write-back-target": "helmvalues:images.yaml"},
    }
    try:
        async with running_loops(kube, free_ports(1)[0], images=True, notify=False,
                                 dora=False) as loops:  # fmt: skip
            assert loops.images is not None
            for app in apps:
                wanted = {"write-back-method": "git", **extra[app]}
                await kube.create(automated(app, repos[app], namespaces[app], image, **wanted))
            await all_running(kube, namespaces, f"{image}:1.0.0")

            await push_new_tags(registry)
            started = time.monotonic()
            both = {a: namespaces[a] for a in (std, custom)}
            await all_running(kube, both, f"{image}:1.2.0", 90)
            print(f"registry push -> both charts running 1.2.0: {time.monotonic() - started:.2f} s")

            for app, before, after in (
                (std, values, values.replace('"1.0.0"', '"1.2.0"')),
                (custom, custom_values, custom_values.replace("1.0.0", "1.2.0")),
            ):
                repo = repos[app]
                assert git("rev-parse", "HEAD~1", cwd=repo.path).strip() == heads[app]
                subject = git("log", "-1", "--format=%s", cwd=repo.path).strip()
                assert subject == f"gitward image update {app}: {image}:1.2.0"
                changed = git("show", "--format=", "--name-only", "HEAD", cwd=repo.path).split()
                assert changed == ["app/values.yaml"]
                # One line changed; comments, spacing and quoting kept.
                assert git("show", "HEAD:app/values.yaml", cwd=repo.path) == after
                assert git("show", "HEAD~1:app/values.yaml", cwd=repo.path) == before
                status = (await kube.get(API, "Application", app, "argocd"))["status"]
                assert status["sync"]["revision"] == repo.head()
                assert status["summary"]["images"] == [f"{image}:1.2.0"]

            # Bad input: a values file that is not there, one that does not parse.
            message = await eventually(lambda: warning(kube, missing), "missing's Event", 30)
            assert "app/values-prod.yaml: no such values file" in message
            message = await eventually(lambda: warning(kube, broken), "broken's Event", 30)
            assert message.startswith("app/images.yaml:"), message
            for app in (missing, broken):
                assert repos[app].head() == heads[app]
                assert len(git("log", "--format=%H", cwd=repos[app].path).split()) == 1
                assert await live_image(kube, namespaces[app]) == f"{image}:1.0.0"
                assert loops.images.failures[app] >= 1
    finally:
        await cleanup(kube, apps, secret)
