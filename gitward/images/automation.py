"""Image update automation configured the way Argo CD Image Updater is: Application annotations.

``argocd-image-updater.argoproj.io/image-list: web=ghcr.io/org/web:~1.2, api=ghcr.io/org/api``
names the images to follow (an alias, the image, an optional constraint); per alias:

- ``<alias>.update-strategy``: ``semver`` (default; the highest version matching the
  constraint, pre-releases only when the constraint names one), ``newest-build`` (or
  ``latest``: the most recently built tag), ``digest`` (the current digest of the tag the
  constraint names, e.g. a re-pushed ``latest``), ``alphabetical`` (or ``name``);
- ``<alias>.allow-tags``: ``regexp:<RE2 pattern>`` or ``any``; ``<alias>.ignore-tags``:
  comma-separated globs;
- ``<alias>.pull-secret``: ``pullsecret:<ns>/<name>`` (a dockerconfigjson Secret) or
  ``secret:<ns>/<name>#<field>`` (``user:password``). Image Updater's ``env:`` and ``ext:``
  forms (read the controller's environment, run a program) are refused: an Application
  author must not reach either;
- ``<alias>.helm.image-name`` / ``.helm.image-tag``, ``<alias>.kustomize.image-name``.

and for the app: ``write-back-method: argocd`` (the Application's own spec) or ``git``;
``write-back-target: kustomization`` or ``helmvalues[:FILE]`` (default: the
``.argocd-source-<app>.yaml`` file); ``git-branch``.

Parsing is pure and every problem is a :class:`~gitward.model.errors.ConfigError` naming
the annotation; choosing a tag asks the registry through
:class:`~gitward.images.registry.RegistryClient`.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

import re2

from gitward.images.reference import ImageChange, ImageRef, ImageRefError, parse_image
from gitward.images.registry import RegistryClient, RegistryCredentials, split_image
from gitward.model.errors import ConfigError
from gitward.source.semver import Constraint, parse_constraint, parse_version

PREFIX = "argocd-image-updater.argoproj.io/"
STRATEGIES = {
    "semver": "semver",
    "newest-build": "newest-build",
    "latest": "newest-build",
    "digest": "digest",
    "alphabetical": "alphabetical",
    "name": "alphabetical",
}
MAX_IMAGES = 50
_ALIAS = re2.compile(r"^[A-Za-z0-9_-]{1,63}$")


@dataclass(frozen=True)
class PullSecret:
    namespace: str
    name: str
    field: str = ""  # empty: a dockerconfigjson Secret


@dataclass(frozen=True)
class ImageSpec:
    alias: str
    image: str  # repository name, no tag
    constraint: str = ""
    strategy: str = "semver"
    allow: Any = None  # a compiled RE2 pattern, or None for any
    ignore: tuple[str, ...] = ()
    pull_secret: PullSecret | None = None
    helm_name: str = ""
    helm_tag: str = ""
    kustomize_name: str = ""


@dataclass(frozen=True)
class WriteBack:
    method: str = "argocd"  # or "git"
    target: str = ""  # "", "kustomization[:path]", "helmvalues[:file]"
    branch: str = ""


@dataclass(frozen=True)
class UpdateConfig:
    images: tuple[ImageSpec, ...] = ()
    write_back: WriteBack = field(default_factory=WriteBack)


def _where(key: str) -> str:
    return f"annotation {PREFIX}{key}"


def parse_pull_secret(raw: str, where: str) -> PullSecret:
    """``pullsecret:<ns>/<name>`` or ``secret:<ns>/<name>#<field>``."""
    kind, _, rest = raw.partition(":")
    if kind == "pullsecret":
        ns, _, name = rest.partition("/")
        if ns and name:
            return PullSecret(ns, name)
    elif kind == "secret":
        ref, _, key = rest.partition("#")
        ns, _, name = ref.partition("/")
        if ns and name and key:
            return PullSecret(ns, name, key)
    elif kind in ("env", "ext"):
        raise ConfigError(
            f"{where}: {kind}: credentials read the controller's environment or run a program; "
            "gitward refuses them — use pullsecret:<ns>/<name> or secret:<ns>/<name>#<field>"
        )
    raise ConfigError(
        f"{where}: {raw!r} is not pullsecret:<ns>/<name> or secret:<ns>/<name>#<field>"
    )


def _image_entry(entry: str, where: str) -> tuple[str, str, str]:
    """``[alias=]image[:constraint]`` → (alias, image name, constraint)."""
    alias, eq, rest = entry.partition("=")
    if not eq:
        alias, rest = "", entry
    # The constraint is what follows the last ':' after the last '/' (a port precedes a '/').
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    name, constraint = (rest[:colon], rest[colon + 1 :]) if colon > slash else (rest, "")
    try:
        ref = parse_image(name, where)
    except ImageRefError as exc:
        raise ConfigError(str(exc)) from None
    if ref.tag or ref.digest:
        raise ConfigError(f"{where}: {entry!r}: give the image without a tag or digest")
    if alias and not _ALIAS.match(alias):
        raise ConfigError(f"{where}: alias {alias!r} is not a valid name")
    return alias or ref.name.rsplit("/", 1)[-1], ref.name, constraint.strip()


def parse_config(annotations: dict[str, Any]) -> UpdateConfig | None:
    """The automation an Application's annotations ask for; None when they ask for none."""
    raw = annotations.get(PREFIX + "image-list")
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ConfigError(f"{_where('image-list')}: must be a string")
    entries = [e.strip() for e in raw.split(",") if e.strip()]
    if len(entries) > MAX_IMAGES:
        raise ConfigError(f"{_where('image-list')}: more than {MAX_IMAGES} images")
    images = []
    seen: set[str] = set()
    for entry in entries:
        alias, name, constraint = _image_entry(entry, _where("image-list"))
        if alias in seen:
            raise ConfigError(f"{_where('image-list')}: alias {alias!r} is used twice")
        seen.add(alias)
        images.append(_spec(annotations, alias, name, constraint))
    method_raw = str(annotations.get(PREFIX + "write-back-method", "argocd") or "argocd")
    method = method_raw.split(":", 1)[0]
    if method not in ("argocd", "git"):
        raise ConfigError(f"{_where('write-back-method')}: {method_raw!r}: argocd or git")
    target = str(annotations.get(PREFIX + "write-back-target", "") or "")
    if target and target.split(":", 1)[0] not in ("kustomization", "helmvalues"):
        raise ConfigError(f"{_where('write-back-target')}: {target!r}: kustomization or helmvalues")
    branch = str(annotations.get(PREFIX + "git-branch", "") or "")
    return UpdateConfig(tuple(images), WriteBack(method, target, branch))


def _spec(annotations: dict[str, Any], alias: str, name: str, constraint: str) -> ImageSpec:
    def get(key: str) -> str:
        value = annotations.get(f"{PREFIX}{alias}.{key}", "")
        if not isinstance(value, str):
            raise ConfigError(f"{_where(f'{alias}.{key}')}: must be a string")
        return value.strip()

    strategy_raw = get("update-strategy") or "semver"
    strategy = STRATEGIES.get(strategy_raw)
    if strategy is None:
        raise ConfigError(
            f"{_where(f'{alias}.update-strategy')}: {strategy_raw!r}: one of "
            f"{', '.join(sorted(STRATEGIES))}"
        )
    if strategy == "semver" and constraint and parse_constraint(constraint) is None:
        raise ConfigError(f"{_where('image-list')}: {constraint!r} is not a semver constraint")
    if strategy == "digest" and not constraint:
        raise ConfigError(
            f"{_where('image-list')}: the digest strategy needs a tag ({name}:latest)"
        )
    allow_raw = get("allow-tags")
    allow = None
    if allow_raw and allow_raw != "any":
        if not allow_raw.startswith("regexp:"):
            raise ConfigError(f"{_where(f'{alias}.allow-tags')}: regexp:<pattern> or any")
        try:
            allow = re2.compile(allow_raw[len("regexp:") :])
        except re2.error as exc:
            raise ConfigError(f"{_where(f'{alias}.allow-tags')}: {exc}") from None
    ignore = tuple(p.strip() for p in get("ignore-tags").split(",") if p.strip())
    pull = get("pull-secret")
    return ImageSpec(
        alias=alias,
        image=name,
        constraint=constraint,
        strategy=strategy,
        allow=allow,
        ignore=ignore,
        pull_secret=parse_pull_secret(pull, _where(f"{alias}.pull-secret")) if pull else None,
        helm_name=get("helm.image-name"),
        helm_tag=get("helm.image-tag"),
        kustomize_name=get("kustomize.image-name"),
    )


def candidate_tags(spec: ImageSpec, tags: list[str]) -> list[str]:
    """Tags the allow/ignore rules let through, in the registry's order."""
    out = []
    for tag in tags:
        if spec.allow is not None and not spec.allow.search(tag):
            continue
        if any(fnmatch.fnmatchcase(tag, pattern) for pattern in spec.ignore):
            continue
        out.append(tag)
    return out


def best_semver(tags: list[str], constraint: str) -> str | None:
    """The highest version among ``tags`` that ``constraint`` (any, when empty) allows."""
    parsed: Constraint | None = parse_constraint(constraint) if constraint else None
    best: tuple[Any, str] | None = None
    for tag in tags:
        version = parse_version(tag)
        if version is None:
            continue
        if parsed is not None:
            if not parsed.allows(version):
                continue
        elif version.prerelease:
            continue
        if best is None or best[0] < version:
            best = (version, tag)
    return best[1] if best else None


async def choose(
    spec: ImageSpec,
    current: ImageRef | None,
    client: RegistryClient,
    creds: RegistryCredentials | None,
) -> ImageChange | None:
    """The change to make for ``spec`` now, or None when the image is already where it should be."""
    registry, repository = split_image(spec.image)
    if spec.strategy == "digest":
        digest = await client.digest(registry, repository, spec.constraint, creds)
        if current is not None and current.digest == digest:
            return None
        return ImageChange(spec.image, "", "", digest)
    tags = candidate_tags(spec, await client.tags(registry, repository, creds))
    chosen: str | None
    if spec.strategy == "semver":
        chosen = best_semver(tags, spec.constraint)
    elif spec.strategy == "alphabetical":
        chosen = max(tags) if tags else None
    else:
        created = {t: await client.created(registry, repository, t, creds) for t in tags}
        chosen = max(tags, key=lambda t: (created[t], t)) if tags else None
    if chosen is None or (current is not None and current.tag == chosen and not current.digest):
        return None
    return ImageChange(spec.image, "", chosen)
