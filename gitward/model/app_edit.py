"""Pure edits of an Application spec: what ``app create``, ``app set`` and ``app sync`` flags mean.

The CLI parses flags into the dataclasses here; these functions turn them into
an Application object, a new spec, a retry policy or a resource selector, with
Argo CD's rules (``--dest-name`` replaces ``--dest-server``, a Kustomize image
override replaces the one of the same image name, a Helm parameter the one of
the same name, ``--self-heal`` needs an automated policy). No I/O: the same
edits can be made by any face (CLI, API) and are tested without a cluster.
Errors are :class:`ConfigError` naming the flag.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gitward.model.application import Backoff, Retry
from gitward.model.durations import parse_duration
from gitward.model.errors import ConfigError
from gitward.model.kinds import API_VERSION, APPLICATION

Obj = dict[str, Any]

_AUTOMATED = ("automated", "auto", "automatic")
_MANUAL = ("none", "manual")


@dataclass(frozen=True)
class NewApp:
    """``app create`` from flags: where from, where to, how to sync."""

    name: str
    namespace: str
    repo: str
    path: str = ""
    revision: str = ""
    dest_server: str = ""
    dest_name: str = ""
    dest_namespace: str = ""
    project: str = "default"
    sync_policy: str = ""
    self_heal: bool = False
    auto_prune: bool = False
    sync_options: tuple[str, ...] = ()
    helm_chart: str = ""


def new_application(flags: NewApp) -> Obj:
    """The Application object ``app create NAME --repo ...`` makes (not yet validated)."""
    if not flags.repo:
        raise ConfigError("--repo is required when creating from flags")
    source: Obj = {"repoURL": flags.repo}
    if flags.helm_chart:
        source["chart"] = flags.helm_chart
    if flags.path or not flags.helm_chart:
        source["path"] = flags.path
    if flags.revision:
        source["targetRevision"] = flags.revision
    destination: Obj = {"namespace": flags.dest_namespace}
    if flags.dest_name:
        destination["name"] = flags.dest_name
    else:
        destination["server"] = flags.dest_server
    spec: Obj = {"project": flags.project, "source": source, "destination": destination}
    policy: Obj = {}
    if flags.sync_policy in _AUTOMATED:
        policy["automated"] = {"prune": flags.auto_prune, "selfHeal": flags.self_heal}
    elif flags.sync_policy not in ("", *_MANUAL):
        raise _unknown_policy(flags.sync_policy)
    if flags.sync_options:
        policy["syncOptions"] = list(flags.sync_options)
    if policy:
        spec["syncPolicy"] = policy
    return {
        "apiVersion": API_VERSION,
        "kind": APPLICATION,
        "metadata": {"name": flags.name, "namespace": flags.namespace},
        "spec": spec,
    }


@dataclass(frozen=True)
class SpecEdit:
    """``app set`` flags; empty strings and None leave a field as it is."""

    repo: str = ""
    path: str = ""
    revision: str = ""
    dest_server: str = ""
    dest_name: str = ""
    dest_namespace: str = ""
    project: str = ""
    sync_policy: str = ""
    self_heal: bool | None = None
    auto_prune: bool | None = None
    allow_empty: bool | None = None
    sync_options: tuple[str, ...] = ()
    kustomize_images: tuple[str, ...] = ()
    helm_params: tuple[str, ...] = ()
    values_files: tuple[str, ...] = field(default_factory=tuple)


def edited_spec(spec: Obj, edit: SpecEdit) -> Obj:
    """The new spec: ``spec`` with every given flag applied (the input is not modified)."""
    new: Obj = json.loads(json.dumps(spec))
    if new.get("sources"):
        raise ConfigError("app set edits single-source applications; edit spec.sources directly")
    source = new.setdefault("source", {})
    for key, value in (("repoURL", edit.repo), ("path", edit.path),
                       ("targetRevision", edit.revision)):  # fmt: skip
        if value:
            source[key] = value
    _edit_destination(new.setdefault("destination", {}), edit)
    if edit.project:
        new["project"] = edit.project
    _edit_policy(new, edit)
    if edit.kustomize_images:
        kustomize = source.setdefault("kustomize", {})
        images = {image_name(i): i for i in kustomize.get("images", [])}
        images.update({image_name(i): i for i in edit.kustomize_images})
        kustomize["images"] = list(images.values())
    if edit.helm_params or edit.values_files:
        _edit_helm(source.setdefault("helm", {}), edit)
    return new


def _edit_destination(dest: Obj, edit: SpecEdit) -> None:
    """A server replaces a name and the other way round: a destination names one cluster."""
    if edit.dest_server:
        dest["server"] = edit.dest_server
        dest.pop("name", None)
    if edit.dest_name:
        dest["name"] = edit.dest_name
        dest.pop("server", None)
    if edit.dest_namespace:
        dest["namespace"] = edit.dest_namespace


def _edit_policy(new: Obj, edit: SpecEdit) -> None:
    policy = new.setdefault("syncPolicy", {})
    if edit.sync_policy in _MANUAL:
        policy.pop("automated", None)
    elif edit.sync_policy in _AUTOMATED:
        policy.setdefault("automated", {})
    elif edit.sync_policy:
        raise _unknown_policy(edit.sync_policy)
    flags = (("selfHeal", edit.self_heal), ("prune", edit.auto_prune),
             ("allowEmpty", edit.allow_empty))  # fmt: skip
    for key, flag in flags:
        if flag is not None:
            if "automated" not in policy:
                raise ConfigError(
                    "--self-heal/--auto-prune/--allow-empty need --sync-policy automated"
                )
            policy["automated"][key] = flag
    if edit.sync_options:
        existing = {o.partition("=")[0]: o for o in policy.get("syncOptions", [])}
        existing.update({o.partition("=")[0]: o for o in edit.sync_options})
        policy["syncOptions"] = list(existing.values())
    if not policy:
        new.pop("syncPolicy")


def _edit_helm(helm_spec: Obj, edit: SpecEdit) -> None:
    """A ``--helm-set`` replaces the parameter of the same name; ``--values`` the whole list."""
    params = {p["name"]: p for p in helm_spec.get("parameters", [])}
    for item in edit.helm_params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--helm-set {item!r}: expected NAME=VALUE")
        params[key] = {"name": key, "value": value}
    if params:
        helm_spec["parameters"] = list(params.values())
    if edit.values_files:
        helm_spec["valueFiles"] = list(edit.values_files)


def image_name(image: str) -> str:
    """``nginx`` of ``nginx=nginx:1.2`` / ``nginx:1.2`` / ``nginx@sha256:...``.

    A registry port (``host:5000/app``) is part of the name, not a tag.
    """
    name = image.partition("=")[0] if "=" in image else image
    name = name.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name


def retry_from_flags(limit: int, duration: str, factor: int, max_duration: str) -> Retry | None:
    """A retry policy from ``--retry-*`` flags; None (use the app's own) when limit is 0."""
    if limit == 0:
        return None
    parse_duration(duration, "--retry-backoff-duration")
    parse_duration(max_duration, "--retry-backoff-max-duration")
    if factor < 1:
        raise ConfigError("--retry-backoff-factor: must be 1 or more")
    return Retry(
        limit=limit, backoff=Backoff(duration=duration, factor=factor, max_duration=max_duration)
    )


def resource_selector(text: str) -> tuple[str, str, str]:
    """``GROUP:KIND:NAME`` of ``--resource`` (GROUP may be empty, as for core kinds)."""
    parts = text.split(":")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise ConfigError(
            f"--resource {text[:200]!r}: expected GROUP:KIND:NAME (GROUP may be empty)"
        )
    return parts[0], parts[1], parts[2]


def _unknown_policy(policy: str) -> ConfigError:
    return ConfigError(f"--sync-policy: unknown policy {policy!r} (automated or none)")
