"""Fields that tag every log line written while they are bound: app, revision, operation.

A controller reconciles many Applications at once, so a line like ``sync failed``
is useless unless it says which app, at which revision, in which operation.
Passing those ids down to every function that might log would thread them
through layers that have no business knowing them; instead they live in a
:class:`contextvars.ContextVar`. Each asyncio task runs in a copy of the context
it was created from, so fields bound in a reconcile coroutine tag everything
logged below it (git, render, apply) and never leak into a concurrent reconcile
of another app.

:func:`log_context` (also spelt :func:`bind`) adds fields for the duration of a
``with`` block; :class:`ContextFilter`, installed on a log handler, copies the
current fields onto each :class:`logging.LogRecord` so formatters can print them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

_EMPTY: Mapping[str, object] = MappingProxyType({})

#: The bound fields; an immutable mapping, so a child task can never change its parent's.
_FIELDS: ContextVar[Mapping[str, object]] = ContextVar("gitward_log_context", default=_EMPTY)


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Bind ``fields`` (added to those already bound) until the ``with`` block ends.

    A field given as None is unbound for the block, so an inner scope can drop an
    id that does not apply to it. Nesting restores the outer fields on exit, also
    when the block raises.
    """
    merged = dict(_FIELDS.get())
    for key, value in fields.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    token = _FIELDS.set(MappingProxyType(merged))
    try:
        yield
    finally:
        _FIELDS.reset(token)


#: The same context manager under the short name: ``with bind(app="ns/name"):``.
bind = log_context


def current() -> Mapping[str, object]:
    """The fields bound here, now (read-only)."""
    return _FIELDS.get()


#: LogRecord attributes a bound field must not overwrite (``name``, ``msg``, ...).
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "context",
}


class ContextFilter(logging.Filter):
    """Copies the bound fields onto each record: as attributes and as ``record.context``.

    Install it on a *handler*, not a logger: a logger's filters do not see
    records propagated from child loggers. It never drops a record. A field
    whose name clashes with a LogRecord attribute (``name``, ``msg``) is only in
    ``record.context``, so it cannot corrupt the record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        fields = dict(_FIELDS.get())
        record.context = fields
        for key, value in fields.items():
            if key not in _RESERVED:
                setattr(record, key, value)
        return True
