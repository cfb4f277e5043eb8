"""``status.operationState``: the only state of a sync operation, read back and written.

A step of an operation (:mod:`gitward.sync.operation`) starts from this record
and ends by writing it, so any process — the CLI, a controller, another
replica after a crash or a shard move — can take the next step. The fields are
Argo CD's (``phase``, ``message``, ``startedAt``, ``finishedAt``,
``retryCount``, ``syncResult.{revision, revisions, source, sources,
resources[]}``), with two additions of gitward's own:

- ``syncResult.resources[].syncWave``: with the resource key and
  ``syncPhase`` it names the task a result belongs to (Argo CD's record has
  no wave, and one resource may be a hook of two phases);
- ``nextRetryAt``: while a failed attempt waits for its retry (``phase``
  Running with ``finishedAt`` set, as Argo CD records it), when the next
  attempt is due;
- ``operation.info``: the operation the record belongs to, as the one entry
  named :data:`gitward.appstate.lock.OPERATION_ID` (the lock's own holder and
  heartbeat are left out). It is written by :func:`recorded_operation` and read
  by :func:`operation_id_of`, here and nowhere else, so a step knows whether
  the record it reads is the locked operation's (:func:`same_operation`) and
  termination knows whose hooks it may delete (:func:`recorded_operation_id`).

The record is input like any other (anyone with write access to the status
may have edited it): :func:`read_state` checks every field it uses and raises
:class:`InvalidRecord` naming the one at fault.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from gitward.appstate import lock
from gitward.model.errors import ConfigError
from gitward.model.phases import HookPhase, OperationPhase, ResultCode, SyncPhase
from gitward.sync.plan import SyncTask

Obj = dict[str, Any]

WHERE = "status.operationState"


class InvalidRecord(ConfigError):
    """``status.operationState`` cannot be read: the operation cannot be resumed from it."""


@dataclass(frozen=True)
class SavedResult:
    """One ``syncResult.resources[]`` entry as recorded."""

    group: str
    kind: str
    namespace: str
    name: str
    sync_phase: SyncPhase
    wave: int | None
    status: ResultCode | None
    hook_phase: HookPhase | None
    message: str
    hook: bool
    raw: Obj = field(compare=False, repr=False)

    def matches(self, task: SyncTask, any_name: bool = False) -> bool:
        key = task.key
        same = (self.group, self.kind, self.namespace) == (key.group, key.kind, key.namespace)
        if not same or self.sync_phase is not task.phase or self.hook != (task.action == "hook"):
            return False
        if self.wave is not None and self.wave != task.wave:
            return False
        return any_name or self.name == key.name


@dataclass(frozen=True)
class RecordedState:
    """What ``status.operationState`` says about the operation it records."""

    phase: OperationPhase | None = None
    message: str = ""
    started_at: str = ""
    finished_at: str = ""
    next_retry_at: str = ""
    retry_count: int = 0
    revision: str = ""
    revisions: tuple[str, ...] = ()
    resources: tuple[SavedResult, ...] = ()
    #: ``syncResult.source`` / ``.sources`` as recorded: compared with the spec's to
    #: tell whether the spec changed since, never parsed.
    source: object = None
    sources: object = None

    @property
    def in_progress(self) -> bool:
        """An operation that has not ended (running, or waiting for its retry)."""
        return self.phase is not None and not self.phase.completed

    @property
    def retry_pending(self) -> bool:
        """A failed attempt waiting for the next one: Running with ``finishedAt``, as Argo CD."""
        return self.phase is OperationPhase.RUNNING and bool(self.finished_at)


def _string(data: Obj, key: str, where: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidRecord(f"{where}.{key}: expected a string, got {type(value).__name__}")
    return value


E = TypeVar("E", OperationPhase, ResultCode, HookPhase, SyncPhase)


def _enum(
    data: Obj, key: str, where: str, kind: type[E], blank: tuple[str, ...] = ("",)
) -> E | None:
    value = _string(data, key, where)
    if value in blank:
        return None
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidRecord(f"{where}.{key}: {value[:64]!r} is not one of {allowed}") from None


def _result(item: object, where: str) -> SavedResult:
    if not isinstance(item, dict):
        raise InvalidRecord(f"{where}: expected an object, got {type(item).__name__}")
    phase = _enum(item, "syncPhase", where, SyncPhase) or SyncPhase.SYNC
    wave = item.get("syncWave")
    if wave is not None and (isinstance(wave, bool) or not isinstance(wave, int)):
        raise InvalidRecord(f"{where}.syncWave: expected an integer, got {type(wave).__name__}")
    hook_type = _enum(item, "hookType", where, SyncPhase)
    return SavedResult(
        group=_string(item, "group", where),
        kind=_string(item, "kind", where),
        namespace=_string(item, "namespace", where),
        name=_string(item, "name", where),
        sync_phase=phase,
        wave=wave,
        status=_enum(item, "status", where, ResultCode, ("", "Pending")),
        hook_phase=_enum(item, "hookPhase", where, HookPhase, ("", "Pending")),
        message=_string(item, "message", where),
        hook=hook_type is not None,
        raw=item,
    )


def read_state(app_obj: Obj) -> RecordedState:
    """The recorded operation of ``app_obj``; an empty state when there is none."""
    status = app_obj.get("status")
    state = status.get("operationState") if isinstance(status, dict) else None
    if state is None:
        return RecordedState()
    if not isinstance(state, dict):
        raise InvalidRecord(f"{WHERE}: expected an object, got {type(state).__name__}")
    result = state.get("syncResult") or {}
    if not isinstance(result, dict):
        raise InvalidRecord(f"{WHERE}.syncResult: expected an object")
    where = f"{WHERE}.syncResult"
    items = result.get("resources") or []
    if not isinstance(items, list):
        raise InvalidRecord(f"{where}.resources: expected a list")
    revisions = result.get("revisions") or []
    if not isinstance(revisions, list) or not all(isinstance(r, str) for r in revisions):
        raise InvalidRecord(f"{where}.revisions: expected a list of strings")
    count = state.get("retryCount", 0)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidRecord(f"{WHERE}.retryCount: expected a whole number, got {count!r:.40}")
    return RecordedState(
        phase=_enum(state, "phase", WHERE, OperationPhase),
        message=_string(state, "message", WHERE),
        started_at=_string(state, "startedAt", WHERE),
        finished_at=_string(state, "finishedAt", WHERE),
        next_retry_at=_string(state, "nextRetryAt", WHERE),
        retry_count=count,
        revision=_string(result, "revision", where),
        revisions=tuple(revisions),
        resources=tuple(_result(item, f"{where}.resources[{i}]") for i, item in enumerate(items)),
        source=result.get("source"),
        sources=result.get("sources"),
    )


def overlay(tasks: list[SyncTask], saved: tuple[SavedResult, ...]) -> list[Obj]:
    """Put the recorded results onto the freshly planned ``tasks``; return the rest.

    A task is matched by resource key, sync phase and wave (and hook or not); a
    hook the server named (``generateName``) by all of those but its name. The
    recorded entries no task matches — a resource pruned earlier in this
    operation, no longer in the comparison — are returned to be written again,
    so the final result still lists them.
    """
    left = list(saved)
    for task in tasks:
        found = next((s for s in left if s.matches(task)), None)
        if found is None and task.action == "hook" and not task.key.name:
            found = next((s for s in left if s.matches(task, any_name=True)), None)
        if found is None:
            continue
        left.remove(found)
        if task.violation:
            continue  # refused by the project now: the plan's verdict stands
        if found.name != task.key.name:
            task.key = replace(task.key, name=found.name)
        task.status, task.hook_phase = found.status, found.hook_phase
        task.message = found.message or task.message
    return [s.raw for s in left if s.status is not None or s.hook_phase is not None]


def without_info(operation: Obj) -> Obj:
    """The operation as the record keeps it: the lock's holder and heartbeat left out."""
    return {k: v for k, v in operation.items() if k != "info"}


def recorded_operation(operation: Obj, operation_id: str) -> Obj:
    """``operation`` as the record keeps it: without the lock's info, but with its id."""
    kept = without_info(operation)
    if operation_id:
        kept["info"] = [{"name": lock.OPERATION_ID, "value": operation_id}]
    return kept


def operation_id_of(recorded: object) -> str:
    """The operation id a recorded ``operation`` carries ("" when it names none).

    The record is input: anything but a list of name/value objects names no id.
    """
    entry = lock.info_entry(recorded, lock.OPERATION_ID)
    value = entry.get("value") if entry is not None else None
    return value if isinstance(value, str) else ""


def recorded_operation_id(app_obj: Obj) -> str:
    """The operation id ``app_obj``'s record carries (``operationState.operation.info``)."""
    status = app_obj.get("status")
    state = status.get("operationState") if isinstance(status, dict) else None
    return operation_id_of(state.get("operation") if isinstance(state, dict) else None)


def same_operation(recorded: object, app_obj: Obj) -> bool:
    """Whether a record's ``operation`` is the one ``app_obj``'s lock holds.

    By the lock's operation id when either has one; else (a record written by
    another tool) by what the two ask for.
    """
    if not isinstance(recorded, dict):
        return False
    theirs, ours = operation_id_of(recorded), lock.operation_id(app_obj)
    if theirs or ours:
        return theirs == ours
    return without_info(recorded) == without_info(app_obj.get("operation") or {})
