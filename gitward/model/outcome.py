"""Where an operation stands, read from a record or an answer that may be anything.

``status.operationState`` is written by whoever has write access to the
Application's status, and the ``DELETE .../operation`` answer comes from
whatever server the CLI talks to (Argo CD answers ``{}``): both are input.
Their ``phase`` and ``message`` are read here, once, so the API server's
answer and the CLI's words come from the same reading. A phase that is not
one of Argo CD's (or not a string) reads as unknown (None) rather than as
an error: the caller then says it does not know, which is true.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitward.model.phases import OperationPhase

_PHASES = frozenset(p.value for p in OperationPhase)


@dataclass(frozen=True)
class Outcome:
    """The ``phase`` (None when absent or not Argo CD's) and ``message`` of an operation."""

    phase: OperationPhase | None = None
    message: str = ""

    @property
    def in_progress(self) -> bool:
        """Running or Terminating: the operation has not ended."""
        return self.phase is not None and not self.phase.completed


def read_outcome(state: object) -> Outcome:
    """The phase and message of ``state``, an ``operationState`` or an answer shaped like one.

    Never raises: anything but a mapping of strings reads as an unknown phase
    and an empty message.
    """
    if not isinstance(state, dict):
        return Outcome()
    phase, message = state.get("phase"), state.get("message")
    known = OperationPhase(phase) if isinstance(phase, str) and phase in _PHASES else None
    return Outcome(known, message if isinstance(message, str) else "")


def recorded_outcome(app_obj: object) -> Outcome:
    """The outcome ``app_obj``'s ``status.operationState`` records (unknown when it has none)."""
    status = app_obj.get("status") if isinstance(app_obj, dict) else None
    return read_outcome(status.get("operationState") if isinstance(status, dict) else None)
