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

pycasbin holds the model, the lines and the role graph (``g``); a decision takes the
lines of the caller's own roles from it and applies the model's effect to them (see
:meth:`RbacEnforcer._enforce_one`), and decisions are memoised (bounded LRU) until the
policy or the projects change; see docs/server-auth.md for the cost.
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


_GLOB_SPECIAL = frozenset("*?[]{}\\")


def _always(_text: str) -> bool:
    return True


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str) -> Callable[[str], bool]:
    # The shapes of nearly every policy line (``*``, ``team-a/*``, ``get``) are decided
    # without the RE2 call, whose wrapper costs more than the comparison; same answers.
    if pattern == "*":
        return _always
    if not _GLOB_SPECIAL.intersection(pattern):
        return pattern.__eq__
    head = pattern[:-1]
    if pattern.endswith("*") and not _GLOB_SPECIAL.intersection(head):
        return lambda text: text.startswith(head)
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
        self._project_objs: tuple[AppProject, ...] = ()
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
        """Use a new ``argocd-rbac-cm`` configuration (the projects' roles are read again
        in its match mode)."""
        with self._lock:
            self.config = config
            self._projects, self.problems = self._read_projects(self._project_objs)
            self._rebuild()

    def _read_projects(
        self, projects: Iterable[AppProject]
    ) -> tuple[dict[str, list[Line]], list[str]]:
        found: dict[str, list[Line]] = {}
        problems: list[str] = []
        for project in projects:
            lines, bad = project_lines(project, self.config.match_mode)
            found[project.name] = lines
            problems.extend(bad)
        return found, problems

    def set_projects(self, projects: Iterable[AppProject]) -> None:
        """Use the roles of these AppProjects (all of them: absent ones grant nothing)."""
        objs = tuple(projects)
        found, problems = self._read_projects(objs)
        with self._lock:
            self._project_objs = objs
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
        """The ``p`` lines whose subject ``subject`` holds (itself or a role it inherits,
        as Casbin's role manager resolves ``g``); every other line fails the matcher's
        ``g(r.sub, p.sub)``."""
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
        """Casbin's effect over the subject's lines: some allow matches and no deny does.

        Evaluated here rather than by ``enforcer.enforce``, which compiles the matcher and
        runs it through an expression interpreter for every line (about 6 µs a line:
        0.3 ms for ``admin``'s 45); the answers are the same, which a property test checks
        against :meth:`enforce_with_casbin` on random policies in both match modes.
        """
        match = _regex if self.config.match_mode == REGEX else _glob
        granted = False
        for line in self._lines_for(enforcer, subject):
            if match(line[1])(resource) and match(line[2])(action) and match(line[3])(obj):
                if line[4] == "deny":
                    return False
                granted = granted or line[4] == "allow"
        return granted

    def enforce_with_casbin(self, subject: str, resource: str, action: str, obj: str) -> bool:
        """Casbin's own answer for one subject over every line (the reference for tests)."""
        enforcer = self._enforcer_for(project_of(resource, obj))
        return bool(enforcer.enforce(subject, resource, action, obj))
