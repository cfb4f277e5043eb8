"""Sync ordering between Applications: ``gitward.io/depends-on: app-a,app-b``.

An app whose annotation names other Applications (in its own namespace) is not
synced until each of them is Synced and Healthy. This is gitward's own
extension; Argo CD orders apps only through sync waves inside an app of apps.

Only direct dependencies are checked: a dependency is itself held back until
its own dependencies are ready, so readiness propagates down a chain. A
dependency that is being deleted, or that has an operation running, is not
ready: its status describes the past, not what it is about to be.

A cycle (``a -> b -> a``, or an app that names itself) can never become ready;
it is found with an iterative depth-first search over the graph reachable from
the app, so it is reported — never waited on forever, never a recursion limit.
A cycle further down (``a -> b -> c -> b``) blocks ``a`` too, and says so.

Conditions. Argo CD's ApplicationConditionType list is DeletionError,
InvalidSpecError, ComparisonError, SyncError, UnknownError and the *Warning
types (SharedResource, RepeatedResource, ExcludedResource, OrphanedResource).
None is about dependencies, so:

- a cycle is ``SyncError`` ("the controller failed to automatically sync the
  application"): it is an error the user must fix, and it stops only syncing.
  ``InvalidSpecError`` would fit the wording but Argo CD stops comparing an app
  that has one, which a cycle has no reason to do.
- waiting is ``DependencyNotReadyWarning``, a type of gitward's own. Waiting is
  expected and transient, so it must not read as an error; Argo CD's UI and
  tools classify a condition by its suffix (``...Error``, ``...Warning``,
  otherwise informational), so this one shows as a warning everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitward.model.errors import ConfigError

Obj = dict[str, Any]

DEPENDS_ON = "gitward.io/depends-on"
CYCLE_CONDITION = "SyncError"
WAITING_CONDITION = "DependencyNotReadyWarning"


class DependencyCycle(ConfigError):
    """The depends-on annotations form a cycle (an app naming itself is one of length 1)."""

    def __init__(self, message: str, cycle: list[str]) -> None:
        super().__init__(message)
        self.cycle = cycle


@dataclass(frozen=True)
class Verdict:
    """Whether an app may sync now, and if not, what it waits for.

    ``waiting_for`` holds one ``"name (Sync/Health)"`` entry per dependency not
    ready yet (``"name (missing)"`` when no such Application exists);
    ``cycle`` the names along a dependency cycle, first name repeated at the end.
    """

    app: str
    waiting_for: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    cycle: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.waiting_for and not self.cycle

    @property
    def message(self) -> str:
        """Why the app does not sync, for a person; empty when it is ready."""
        if self.cycle:
            path = " -> ".join(self.cycle)
            where = (
                ""
                if self.app in self.cycle
                else f" (reached from {self.app} through its dependencies)"
            )
            return f"dependency cycle in annotation {DEPENDS_ON}: {path}{where}; no app in it syncs"
        if not self.waiting_for:
            return ""
        text = "waiting for dependencies to be Synced and Healthy: " + ", ".join(self.waiting_for)
        if self.missing:
            names = ", ".join(self.missing)
            text += f"; no Application named {names} exists in this namespace"
        return text


def _name(app_obj: Obj) -> str:
    return str((app_obj.get("metadata") or {}).get("name", ""))


def _declared(app_obj: Obj) -> list[str]:
    """The names in the annotation: trimmed, empty ones dropped, first occurrence kept."""
    annotations = (app_obj.get("metadata") or {}).get("annotations") or {}
    raw = str(annotations.get(DEPENDS_ON) or "")
    names: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if name and name not in names:
            names.append(name)
    return names


def dependencies_of(app_obj: Obj) -> list[str]:
    """The apps ``app_obj`` depends on; raises :class:`DependencyCycle` if it names itself."""
    names = _declared(app_obj)
    me = _name(app_obj)
    if me in names:
        raise DependencyCycle(
            f"Application {me}: annotation {DEPENDS_ON} names the app itself", [me, me]
        )
    return names


def _find_cycle(start: str, start_obj: Obj, apps: Mapping[str, Obj]) -> list[str]:
    """A cycle reachable from ``start`` (first name repeated at the end), or []."""

    def edges(name: str) -> list[str]:
        if name == start:
            return _declared(start_obj)
        obj = apps.get(name)
        return _declared(obj) if obj is not None else []

    done: set[str] = set()
    path: list[str] = [start]
    on_path: dict[str, int] = {start: 0}
    stack: list[Iterator[str]] = [iter(edges(start))]
    while stack:
        nxt = next(stack[-1], None)
        if nxt is None:
            finished = path.pop()
            del on_path[finished]
            done.add(finished)
            stack.pop()
            continue
        if nxt in on_path:
            return [*path[on_path[nxt] :], nxt]
        if nxt in done:
            continue
        on_path[nxt] = len(path)
        path.append(nxt)
        stack.append(iter(edges(nxt)))
    return []


def not_ready_reason(obj: Obj) -> str | None:
    """Why ``obj`` is not ready to be depended on (``"OutOfSync/Progressing"``); None if it is.

    The controller compares this before and after each change of an app to
    decide whether its dependents need another look.
    """
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return "deleting"
    status = obj.get("status") or {}
    if obj.get("operation") or (status.get("operationState") or {}).get("phase") == "Running":
        return "syncing"
    sync = str((status.get("sync") or {}).get("status") or "Unknown")
    health = str((status.get("health") or {}).get("status") or "Unknown")
    if sync == "Synced" and health == "Healthy":
        return None
    return f"{sync}/{health}"


def blocked_by(app_obj: Obj, apps: Mapping[str, Obj]) -> Verdict:
    """Whether ``app_obj`` may sync, given the latest Applications of its namespace by name."""
    me = _name(app_obj)
    cycle = _find_cycle(me, app_obj, apps)
    waiting: list[str] = []
    missing: list[str] = []
    for dep in _declared(app_obj):
        if dep == me:
            continue  # reported as the cycle [me, me]
        obj = apps.get(dep)
        if obj is None:
            waiting.append(f"{dep} (missing)")
            missing.append(dep)
            continue
        reason = not_ready_reason(obj)
        if reason is not None:
            waiting.append(f"{dep} ({reason})")
    return Verdict(me, waiting, missing, cycle)


def condition(verdict: Verdict) -> Obj | None:
    """The Application condition that explains ``verdict``; None when it is ready."""
    if verdict.cycle:
        return {"type": CYCLE_CONDITION, "message": verdict.message}
    if verdict.waiting_for:
        return {"type": WAITING_CONDITION, "message": verdict.message}
    return None


def dependents_of(name: str, apps: Mapping[str, Obj], *, transitive: bool = False) -> list[str]:
    """Apps that depend on ``name``, sorted: the ones to requeue when ``name`` changes.

    With ``transitive``, also the apps that depend on those, and so on (cycles
    are fine: each app is listed once). ``name`` itself is never listed.
    """
    found: set[str] = set()
    frontier = [name]
    while frontier:
        target = frontier.pop()
        for other, obj in apps.items():
            if other in found or other == name or target not in _declared(obj):
                continue
            found.add(other)
            if transitive:
                frontier.append(other)
    return sorted(found)
