"""The RBAC enforcer: Argo CD's Casbin model and decision rules, on pycasbin.

One decision, as Argo CD's ``EnforceClaims`` makes it:

1. The request's project is the first part of the object for project-scoped
   resources (``applications``, ``applicationsets``, ``logs``, ``exec``:
   ``PROJECT/NAME`` or ``PROJECT/NAMESPACE/NAME``), and the object itself for
   ``projects``.
2. A project role token (``proj:P:ROLE``) asking about another project's object is
   refused outright; about its own project it is judged by the built-in, user and
   project ``P`` policies together (and ``policy.default``).
3. Anyone else is judged by the built-in and user policies, plus the policy of the
   request's project (so ``g, GROUP, proj:P:ROLE`` bindings grant that role in ``P``
   only): first ``policy.default``, then the subject, then each of its groups.

Casbin's effect is "some allow and no deny" per subject checked, so a deny of the
subject's own policies wins over its allows; ``policy.default`` is checked on its own,
so (as Argo CD warns) a deny cannot take away what the default role grants.

Casbin evaluates every policy line per call; only the lines of the subject's own roles
are given to it, and decisions are memoised (bounded LRU) until the policy or the
projects change; see docs/server-auth.md for the cost.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import casbin
import re2
from casbin.model import Model
from casbin.persist import Adapter

from gitward._util.glob import GlobSyntaxError, compile_glob
from gitward._util.lru import BoundedLRU
from gitward.model.project import AppProject
from gitward.server.auth import Principal
from gitward.server.auth.rbac_policy import (
    PROJECT_SCOPED,
    REGEX,
    Line,
    RbacConfig,
    builtin_lines,
    project_lines,
)

log = logging.getLogger(__name__)

MODEL = """
[request_definition]
r = sub, res, act, obj

[policy_definition]
p = sub, res, act, obj, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub, p.sub) && globOrRegexMatch(r.res, p.res) && globOrRegexMatch(r.act, p.act) \
&& globOrRegexMatch(r.obj, p.obj)
"""
DECISION_CACHE = 100_000


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str) -> Callable[[str], bool]:
    try:
        return compile_glob(pattern).fullmatch
    except GlobSyntaxError:
        return lambda _text: False


@functools.lru_cache(maxsize=4096)
def _regex(pattern: str) -> Callable[[str], bool]:
    try:
        compiled = re2.compile(pattern)
    except re2.error:
        return lambda _text: False
    return lambda text: compiled.search(text) is not None


def glob_or_regex(mode: str) -> Callable[[str, str], bool]:
    """Casbin's ``globOrRegexMatch(value, pattern)`` for ``mode``: gobwas glob, or Go's
    unanchored ``regexp.MatchString``, both in linear time (RE2)."""
    compile_pattern = _regex if mode == REGEX else _glob

    def match(value: str, pattern: str) -> bool:
        return compile_pattern(pattern)(value)

    return match


class _LinesAdapter(Adapter):  # type: ignore[misc]
    def __init__(self, lines: Iterable[Line]) -> None:
        self.lines = list(lines)

    def load_policy(self, model: Model) -> None:
        for line in self.lines:
            model.model[line[0]][line[0]].policy.append(list(line[1:]))


def _casbin(lines: Iterable[Line], mode: str) -> Any:
    model = Model()
    model.load_model_from_text(MODEL)
    enforcer = casbin.Enforcer(model, _LinesAdapter(lines))
    enforcer.add_function("globOrRegexMatch", glob_or_regex(mode))
    return enforcer


def project_of(resource: str, obj: str) -> str:
    """The project a request is about ("" when it is about none)."""
    if resource in PROJECT_SCOPED:
        return obj.split("/", 1)[0] if "/" in obj else ""
    if resource == "projects":
        return obj
    return ""


class RbacEnforcer:
    """Answers :meth:`allowed`; takes new settings with :meth:`load` and :meth:`set_projects`.

    Thread-safe: the policy is swapped whole; decisions read one consistent snapshot.
    """

    def __init__(self, config: RbacConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.config = config or RbacConfig()
        self._projects: dict[str, list[Line]] = {}
        #: Problems in project roles' policies (lines left out), for the server's log.
        self.problems: list[str] = []
        self._rebuild()

    def _rebuild(self) -> None:
        base = builtin_lines(self.config.match_mode) + list(self.config.lines)
        self._base_lines = base
        self._base = _casbin(base, self.config.match_mode)
        self._by_project: dict[str, Any] = {}
        self._decisions: BoundedLRU[tuple[str, ...], bool] = BoundedLRU(DECISION_CACHE)
        self._subject_lines: BoundedLRU[tuple[int, str], list[list[str]]] = BoundedLRU(10_000)

    def load(self, config: RbacConfig) -> None:
        """Use a new ``argocd-rbac-cm`` configuration."""
        with self._lock:
            self.config = config
            self._rebuild()

    def set_projects(self, projects: Iterable[AppProject]) -> None:
        """Use the roles of these AppProjects (all of them: absent ones grant nothing)."""
        found: dict[str, list[Line]] = {}
        problems: list[str] = []
        for project in projects:
            lines, bad = project_lines(project, self.config.match_mode)
            found[project.name] = lines
            problems.extend(bad)
        with self._lock:
            if found == self._projects:
                return
            self._projects = found
            self.problems = problems
            self._rebuild()
        for problem in problems:
            log.warning("RBAC: line left out: %s", problem)

    def _enforcer_for(self, project: str) -> Any:
        if not project or not self._projects.get(project):
            return self._base
        enforcer = self._by_project.get(project)
        if enforcer is None:
            enforcer = _casbin(self._base_lines + self._projects[project], self.config.match_mode)
            self._by_project[project] = enforcer
        return enforcer

    def allowed(self, principal: Principal, resource: str, action: str, obj: str) -> bool:
        key = (principal.subject, *principal.groups, "\0", resource, action, obj)
        with self._lock:
            found = self._decisions.get(key)
            if found is not None:
                return found
            decision = self._decide(principal, resource, action, obj)
            self._decisions.put(key, decision)
            return decision

    def _decide(self, principal: Principal, resource: str, action: str, obj: str) -> bool:
        project = project_of(resource, obj)
        subject = principal.subject
        enforcer = self._enforcer_for(project)
        if subject.startswith("proj:"):
            parts = subject.split(":")
            if project and (len(parts) != 3 or parts[1] != project):
                return False
            return self._enforce(enforcer, [subject], resource, action, obj)
        return self._enforce(enforcer, [subject, *principal.groups], resource, action, obj)

    def _enforce(
        self, enforcer: Any, subjects: list[str], resource: str, action: str, obj: str
    ) -> bool:
        default = self.config.default_role
        candidates = ([default] if default else []) + [s for s in subjects if s]
        return any(self._enforce_one(enforcer, s, resource, action, obj) for s in candidates)

    def _lines_for(self, enforcer: Any, subject: str) -> list[list[str]]:
        """The ``p`` lines whose subject ``subject`` holds (itself or a role it inherits).

        Every other line fails the matcher's ``g(r.sub, p.sub)``, so Casbin may skip them:
        the decision is the same and costs a few lines instead of every line.
        """
        key = (id(enforcer), subject)
        found = self._subject_lines.get(key)
        if found is None:
            roles = {subject, *enforcer.get_implicit_roles_for_user(subject)}
            found = [p for p in enforcer.model.model["p"]["p"].policy if p[0] in roles]
            self._subject_lines.put(key, found)
        return found

    def _enforce_one(
        self, enforcer: Any, subject: str, resource: str, action: str, obj: str
    ) -> bool:
        lines = self._lines_for(enforcer, subject)
        if not lines:
            return False
        assertion = enforcer.model.model["p"]["p"]
        every = assertion.policy
        assertion.policy = lines  # under self._lock: no other decision sees the swap
        try:
            return bool(enforcer.enforce(subject, resource, action, obj))
        finally:
            assertion.policy = every
