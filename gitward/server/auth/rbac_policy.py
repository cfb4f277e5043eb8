"""``argocd-rbac-cm`` and AppProject roles read into policy lines, as Argo CD reads them.

The ConfigMap's keys:

- ``policy.csv``, then every other ``policy.*.csv`` key in sorted order, appended below
  it (Argo CD's way of composing policies with Kustomize or Helm);
- ``policy.default``: the role every authenticated caller holds (it cannot be taken
  away by a deny);
- ``policy.matchMode``: ``glob`` (default) or ``regex`` for resources, actions, objects;
- ``scopes``: the token claims read as groups (default ``[groups]``).

A line is ``p, SUBJECT, RESOURCE, ACTION, OBJECT, allow|deny`` or ``g, SUBJECT, ROLE``,
read as CSV with leading spaces trimmed (so a field may be quoted); ``#`` starts a
comment line. A bad line is a ConfigError naming the key and line number, and the
policy is not loaded (the enforcer keeps the one it had).

Project roles give ``p`` lines whose subject is ``proj:PROJECT:ROLE`` and whose object
must start with ``PROJECT/``, and ``g, GROUP, proj:PROJECT:ROLE`` lines for the role's
groups; any other line is left out and reported, so a role can never name another
project's objects.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Mapping
from typing import Any

import re2
import yaml

from gitward._util.glob import GlobSyntaxError, compile_glob
from gitward.model.errors import ConfigError
from gitward.model.project import AppProject

CM_NAME = "argocd-rbac-cm"
GLOB, REGEX = "glob", "regex"
EFFECTS = ("allow", "deny")
#: Resources whose objects are ``PROJECT/NAME`` (or ``PROJECT/NAMESPACE/NAME``).
PROJECT_SCOPED = ("applications", "applicationsets", "logs", "exec")
MAX_LINES = 50_000
MAX_FIELD = 1024

Line = tuple[str, ...]

#: Argo CD's assets/builtin-policy.csv: the built-in ``role:readonly`` and ``role:admin``.
BUILTIN_POLICY = """\
p, role:readonly, applications, get, */*, allow
p, role:readonly, applicationsets, get, */*, allow
p, role:readonly, certificates, get, *, allow
p, role:readonly, clusters, get, *, allow
p, role:readonly, repositories, get, *, allow
p, role:readonly, write-repositories, get, *, allow
p, role:readonly, projects, get, *, allow
p, role:readonly, accounts, get, *, allow
p, role:readonly, gpgkeys, get, *, allow
p, role:readonly, logs, get, */*, allow
p, role:admin, applications, create, */*, allow
p, role:admin, applications, update, */*, allow
p, role:admin, applications, update/*, */*, allow
p, role:admin, applications, delete, */*, allow
p, role:admin, applications, delete/*, */*, allow
p, role:admin, applications, sync, */*, allow
p, role:admin, applications, rollback, */*, allow
p, role:admin, applications, override, */*, allow
p, role:admin, applications, action/*, */*, allow
p, role:admin, applicationsets, get, */*, allow
p, role:admin, applicationsets, create, */*, allow
p, role:admin, applicationsets, update, */*, allow
p, role:admin, applicationsets, delete, */*, allow
p, role:admin, certificates, create, *, allow
p, role:admin, certificates, update, *, allow
p, role:admin, certificates, delete, *, allow
p, role:admin, clusters, create, *, allow
p, role:admin, clusters, update, *, allow
p, role:admin, clusters, delete, *, allow
p, role:admin, repositories, create, *, allow
p, role:admin, repositories, update, *, allow
p, role:admin, repositories, delete, *, allow
p, role:admin, write-repositories, create, *, allow
p, role:admin, write-repositories, update, *, allow
p, role:admin, write-repositories, delete, *, allow
p, role:admin, projects, create, *, allow
p, role:admin, projects, update, *, allow
p, role:admin, projects, delete, *, allow
p, role:admin, accounts, update, *, allow
p, role:admin, gpgkeys, create, *, allow
p, role:admin, gpgkeys, delete, *, allow
p, role:admin, exec, create, */*, allow
p, role:admin, exec, debug, */*, allow
g, role:admin, role:readonly
g, admin, role:admin
"""


@dataclasses.dataclass(frozen=True)
class RbacConfig:
    """What ``argocd-rbac-cm`` says: the user policy's lines and the settings around them."""

    lines: tuple[Line, ...] = ()
    default_role: str = ""
    match_mode: str = GLOB
    scopes: tuple[str, ...] = ("groups",)


def check_pattern(pattern: str, mode: str) -> None:
    """Raise ValueError when ``pattern`` would not compile in ``mode``."""
    if mode == REGEX:
        try:
            re2.compile(pattern)
        except re2.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
    else:
        try:
            compile_glob(pattern)
        except GlobSyntaxError as exc:
            raise ValueError(f"not a valid glob: {exc}") from None


def parse_policy_csv(text: str, where: str, mode: str = GLOB) -> list[Line]:
    """Policy lines of a CSV text; ConfigError naming ``where`` and the line number."""
    lines: list[Line] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        at = f"{where} line {number}"
        if len(lines) >= MAX_LINES:
            raise ConfigError(f"{where}: more than {MAX_LINES} policy lines")
        try:
            rows = list(csv.reader([stripped], skipinitialspace=True, strict=True))
        except csv.Error as exc:
            raise ConfigError(f"{at}: not a valid CSV line: {exc}") from None
        tokens = tuple(t.strip() for t in rows[0]) if rows else ()
        lines.append(_check_line(tokens, at, mode))
    return lines


def _check_line(tokens: Line, at: str, mode: str) -> Line:
    if not tokens or tokens[0] not in ("p", "g"):
        raise ConfigError(f"{at}: a policy line starts with p or g")
    if any(len(t) > MAX_FIELD for t in tokens):
        raise ConfigError(f"{at}: a field is longer than {MAX_FIELD} characters")
    if tokens[0] == "g":
        if len(tokens) != 3 or not tokens[1] or not tokens[2]:
            raise ConfigError(f"{at}: expected 'g, SUBJECT, ROLE'")
        return tokens
    if len(tokens) != 6 or not all(tokens[1:]):
        raise ConfigError(f"{at}: expected 'p, SUBJECT, RESOURCE, ACTION, OBJECT, allow|deny'")
    if tokens[5] not in EFFECTS:
        raise ConfigError(f"{at}: the effect must be allow or deny, not {tokens[5]!r}")
    for name, value in zip(("resource", "action", "object"), tokens[2:5], strict=True):
        try:
            check_pattern(value, mode)
        except ValueError as exc:
            raise ConfigError(f"{at}: {name} {value!r}: {exc}") from None
    return tokens


def policy_csv(data: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(key, text)`` of ``policy.csv`` then every ``policy.*.csv`` key, sorted."""
    keys = sorted(k for k in data if k.startswith("policy.") and k.endswith(".csv"))
    ordered = (["policy.csv"] if "policy.csv" in data else []) + [
        k for k in keys if k != "policy.csv"
    ]
    return [(k, data[k]) for k in ordered]


def _scopes(text: str) -> tuple[str, ...]:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(
            f"{CM_NAME} key scopes: expected a list such as [groups, email]"
        ) from None
    if value is None:
        return ("groups",)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{CM_NAME} key scopes: expected a list of claim names")
    return tuple(value)


def parse_rbac_cm(cm: Mapping[str, Any] | None) -> RbacConfig:
    """The RBAC configuration of an ``argocd-rbac-cm`` object (None: built-ins only)."""
    if cm is None:
        return RbacConfig()
    raw = cm.get("data") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{CM_NAME}: data is not a mapping")
    data = {str(k): v for k, v in raw.items() if isinstance(v, str)}
    mode = data.get("policy.matchMode", "").strip() or GLOB
    if mode not in (GLOB, REGEX):
        raise ConfigError(f"{CM_NAME} key policy.matchMode: expected glob or regex, not {mode!r}")
    lines: list[Line] = []
    for key, text in policy_csv(data):
        lines.extend(parse_policy_csv(text, f"{CM_NAME} key {key}", mode))
    return RbacConfig(
        lines=tuple(lines),
        default_role=data.get("policy.default", "").strip(),
        match_mode=mode,
        scopes=_scopes(data["scopes"]) if data.get("scopes", "").strip() else ("groups",),
    )


def builtin_lines(mode: str) -> list[Line]:
    """The built-in policy; in regex mode its ``*`` patterns become ``.*``."""
    lines = parse_policy_csv(BUILTIN_POLICY, "built-in policy")
    if mode != REGEX:
        return lines
    return [_regex_line(line) for line in lines]


def _regex_line(line: Line) -> Line:
    if line[0] != "p":
        return line
    return (*line[:2], *(t.replace("*", ".*") for t in line[2:5]), line[5])


def project_lines(project: AppProject, mode: str = GLOB) -> tuple[list[Line], list[str]]:
    """The policy lines of ``project``'s roles, and the problems of the lines left out."""
    lines: list[Line] = []
    problems: list[str] = []
    for role in project.roles:
        subject = f"proj:{project.name}:{role.name}"
        where = f"AppProject {project.name} role {role.name}"
        for i, text in enumerate(role.policies):
            try:
                parsed = parse_policy_csv(text, f"{where} policies[{i}]", mode)
            except ConfigError as exc:
                problems.append(str(exc))
                continue
            for line in parsed:
                problem = _project_line_problem(line, subject, project.name)
                if problem:
                    problems.append(f"{where} policies[{i}]: {problem}")
                else:
                    lines.append(line)
        for group in role.groups:
            if group and len(group) <= MAX_FIELD:
                lines.append(("g", group, subject))
    return lines, problems


def _project_line_problem(line: Line, subject: str, project: str) -> str:
    if line[0] != "p":
        return "a role's policies hold only p lines"
    if line[1] != subject:
        return f"the subject must be {subject}, not {line[1]!r}"
    if not line[4].startswith(f"{project}/"):
        return f"the object must start with {project}/, not {line[4]!r}"
    return ""
