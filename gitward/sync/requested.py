"""An Application's ``operation`` field, read back into the :class:`SyncRequest` it asks for.

Argo CD's CLI and UI request a sync by writing ``operation`` on the Application,
and so does ``kubectl apply`` of a document with that field. gitward writes it
too, when it takes the operation lock, so a controller that restarts after a
crash finds the operation its predecessor was running and must run it again.
Either way the field is the whole request: this module turns it into the same
:class:`SyncRequest` the ``gitward app sync`` flags build.

Argo CD's field names (``Operation``, ``SyncOperation``, ``SyncStrategy``,
``RetryStrategy``): ``sync.{revision, prune, dryRun, resources[{group, kind,
name, namespace}], syncStrategy.{apply|hook}.force, syncOptions}``,
``retry.{limit, backoff.{duration, factor, maxDuration}}``, ``initiatedBy.{username,
automated}``, ``info[{name, value}]``. Input is checked as strictly as a spec:
a malformed field is an :class:`InvalidOperation` naming it, e.g.
``Application argocd/guestbook: operation.sync.resources[2].kind: required``.
``sync.revisions`` (one per source of a multi-source app) is honoured. Fields
gitward cannot honour (a ``source`` or ``sources`` override,
local ``manifests``) are refused rather than silently ignored, because running
a different sync than the one asked for is worse than not running it.
"""

from __future__ import annotations

from typing import Any

from gitward.model import resource_options as sync_options
from gitward.model.application import Backoff, Retry
from gitward.model.durations import parse_duration
from gitward.model.errors import ConfigError
from gitward.model.source_spec import FieldReader
from gitward.sync.plan import SyncRequest

#: ``operation.sync`` fields that change what is synced and that SyncRequest cannot carry.
UNSUPPORTED_SYNC_FIELDS = {
    "sources": "a sources override",
    "source": "a source override (an Argo CD rollback)",
    "manifests": "local manifests",
}


class InvalidOperation(ConfigError):
    """An Application's ``operation`` field is malformed or asks for what gitward cannot do."""


def request_from_operation(operation: dict[str, Any], where: str) -> SyncRequest:
    """The sync ``operation`` asks for; ``where`` prefixes errors (``Application ns/name``).

    Raises :class:`InvalidOperation` naming the field at fault.
    """
    try:
        return _parse(FieldReader(operation, "operation", where))
    except InvalidOperation:
        raise
    except ConfigError as exc:
        raise InvalidOperation(str(exc)) from None


def initiator_of(operation: dict[str, Any]) -> str:
    """Who asked: ``initiatedBy.username``, ``automated`` for the controller, else ``unknown``.

    Never raises: it names the initiator in events and messages, including the
    message that reports a malformed operation.
    """
    initiated = operation.get("initiatedBy") if isinstance(operation, dict) else None
    if not isinstance(initiated, dict):
        return "unknown"
    username = initiated.get("username")
    if isinstance(username, str) and username:
        return username
    if initiated.get("automated") is True:
        return "automated"
    return "unknown"


def is_automated(operation: dict[str, Any]) -> bool:
    """True when ``initiatedBy.automated`` says the controller's sync policy started it."""
    initiated = operation.get("initiatedBy") if isinstance(operation, dict) else None
    return isinstance(initiated, dict) and initiated.get("automated") is True


def _parse(op: FieldReader) -> SyncRequest:
    sync = op.obj("sync")
    if sync is None:
        raise op.error("sync", "required (gitward runs sync operations only)")
    for key, what in UNSUPPORTED_SYNC_FIELDS.items():
        if sync.data.get(key) not in (None, [], {}):
            raise sync.error(key, f"{what} is not supported by gitward")
    options = sync.str_list("syncOptions")
    where = sync.sub("syncOptions")
    sync_options.parse(options, f"{op.where}: {where}" if op.where else where)
    return SyncRequest(
        revision=sync.string("revision") or None,
        revisions=sync.str_list("revisions") or None,
        prune=sync.flag("prune"),
        dry_run=sync.flag("dryRun"),
        force=_force(sync),
        resources=_resources(sync),
        sync_options=options,
        retry=_retry(op.obj("retry")),
    )


def _force(sync: FieldReader) -> bool:
    """``syncStrategy.apply.force``, else ``syncStrategy.hook.force``: Argo CD reads apply first."""
    strategy = sync.obj("syncStrategy")
    if strategy is None:
        return False
    for name in ("apply", "hook"):
        chosen = strategy.obj(name)
        if chosen is not None:
            return chosen.flag("force")
    return False


def _resources(sync: FieldReader) -> frozenset[tuple[str, str, str]] | None:
    """The selected (group, kind, name)s; None (everything) when the field is absent.

    An empty list selects nothing, as gitward wrote it; Argo CD never writes one.
    ``namespace`` is checked but not kept: :class:`SyncRequest` selects by group,
    kind and name.
    """
    if sync.data.get("resources") is None:
        return None
    selected: set[tuple[str, str, str]] = set()
    for item, path in sync.items("resources"):
        entry = sync.item_obj(item, path)
        entry.string("namespace")  # type-checked only: see above
        selected.add(
            (
                entry.string("group"),
                entry.string("kind", required=True),
                entry.string("name", required=True),
            )
        )
    return frozenset(selected)


def _retry(r: FieldReader | None) -> Retry | None:
    """``operation.retry`` as a :class:`Retry` that overrides the app's; None when absent.

    ``limit: 0`` is kept (no retries, whatever the app says), as Argo CD reads it.
    ``refresh`` (retry at the newest revision) is accepted and not acted on.
    """
    if r is None:
        return None
    r.flag("refresh")
    backoff = Backoff()
    b = r.obj("backoff")
    if b is not None:
        backoff = Backoff(
            duration=_duration(b, "duration", backoff.duration),
            factor=b.integer("factor", backoff.factor),
            max_duration=_duration(b, "maxDuration", backoff.max_duration),
        )
        if backoff.factor < 1:
            raise b.error("factor", f"must be at least 1, got {backoff.factor}")
    return Retry(limit=r.integer("limit", 0), backoff=backoff)


def _duration(r: FieldReader, key: str, default: str) -> str:
    value = r.string(key) or default
    try:
        parse_duration(value)
    except ValueError as exc:
        raise r.error(key, str(exc)) from None
    return value
