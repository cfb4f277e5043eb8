"""The checks an AppProject must pass before anyone writes it (create, update, every CLI edit).

:func:`validate_project` is :func:`~gitward.model.project.parse_project` (every field's
type, cron schedules, durations, time zones) plus what Argo CD's ``ValidateProject``
refuses on write, plus what gitward adds so that a mistake is an error at the moment it
is typed rather than a silent rule later:

- ``!*`` as a source repository or as a destination's server, name or namespace (it
  would deny everything, which is never what was meant) — Argo CD's rule;
- a source repository, source namespace or destination listed twice, and two sync
  windows with the same kind, schedule and duration — Argo CD's rules;
- a pattern that does not compile as a glob (``[a``, ``a{b``): Argo CD stores it and
  then silently matches nothing with it; gitward refuses it, naming the field.

Reading is not this module's business: a stored project that breaks these rules is
still read and enforced as Argo CD would (a bad glob matches nothing). Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from gitward._util.glob import GlobSyntaxError, compile_glob
from gitward.model.errors import ConfigError
from gitward.model.project import AppProject, parse_project

Obj = dict[str, Any]


def _list(spec: Obj, key: str) -> list[Any]:
    value = spec.get(key)
    return value if isinstance(value, list) else []


def _check_glob(pattern: str, path: str, where: str, separators: str = "") -> None:
    body = pattern[1:] if pattern.startswith("!") else pattern
    try:
        compile_glob(body, separators)
    except GlobSyntaxError as exc:
        raise ConfigError(f"{where}: {path}: {pattern!r} is not a valid pattern ({exc})") from None


def _check_sources(spec: Obj, where: str) -> None:
    seen: set[str] = set()
    for i, repo in enumerate(_list(spec, "sourceRepos")):
        path = f"spec.sourceRepos[{i}]"
        if repo == "!*":
            raise ConfigError(f"{where}: {path}: '!*' would deny every repository")
        if repo in seen:
            raise ConfigError(f"{where}: {path}: source repository {repo!r} is listed twice")
        seen.add(repo)
        _check_glob(repo, path, where, "/")
    seen = set()
    for i, namespace in enumerate(_list(spec, "sourceNamespaces")):
        path = f"spec.sourceNamespaces[{i}]"
        if namespace in seen:
            raise ConfigError(f"{where}: {path}: source namespace {namespace!r} is listed twice")
        seen.add(namespace)
        _check_glob(namespace, path, where)


def _check_destinations(spec: Obj, where: str) -> None:
    seen: set[tuple[str, str, str]] = set()
    for i, dest in enumerate(_list(spec, "destinations")):
        for key in ("server", "name", "namespace"):
            value = str(dest.get(key) or "")
            path = f"spec.destinations[{i}].{key}"
            if value == "!*":
                raise ConfigError(f"{where}: {path}: '!*' would deny every destination")
            if value:
                _check_glob(value, path, where)
        server, name, namespace = (str(dest.get(k) or "") for k in ("server", "name", "namespace"))
        if (server, name, namespace) in seen:
            raise ConfigError(
                f"{where}: spec.destinations[{i}]: destination {server or name},{namespace} "
                "is listed twice"
            )
        seen.add((server, name, namespace))


def _check_group_kinds(spec: Obj, where: str) -> None:
    for key in (
        "clusterResourceWhitelist",
        "clusterResourceBlacklist",
        "namespaceResourceWhitelist",
        "namespaceResourceBlacklist",
    ):
        for i, entry in enumerate(_list(spec, key)):
            for field in ("group", "kind"):
                value = str(entry.get(field) or "")
                if value:
                    _check_glob(value, f"spec.{key}[{i}].{field}", where, "/")


def _check_windows(spec: Obj, where: str) -> None:
    seen: dict[tuple[str, str, str], int] = {}
    for i, window in enumerate(_list(spec, "syncWindows")):
        key = (str(window.get("kind")), str(window.get("schedule")), str(window.get("duration")))
        if key in seen:
            raise ConfigError(
                f"{where}: spec.syncWindows[{i}]: window {key[0]} {key[1]!r} for {key[2]} is "
                f"already window {seen[key]}; change that one instead"
            )
        seen[key] = i
        for field in ("applications", "namespaces", "clusters"):
            for j, pattern in enumerate(window.get(field) or []):
                _check_glob(str(pattern), f"spec.syncWindows[{i}].{field}[{j}]", where)


def validate_project(obj: Obj) -> AppProject:
    """The parsed project, or a :class:`ConfigError` naming the first bad field."""
    project = parse_project(obj)
    where = f"AppProject {project.name}"
    spec = obj.get("spec") or {}
    _check_sources(spec, where)
    _check_destinations(spec, where)
    _check_group_kinds(spec, where)
    _check_windows(spec, where)
    return project
