"""The phases and result codes of a sync operation, as Argo CD spells them.

Each word names one thing: an :class:`OperationPhase` is where a whole
operation stands (``status.operationState.phase``), a :class:`SyncPhase` is
the stage a task belongs to (``PreSync`` hooks before the ``Sync`` applies,
``PostSync`` after, ``SyncFail`` only on failure), a :class:`HookPhase` is
where one hook object stands, and a :class:`ResultCode` is what happened to
one resource. They are ``StrEnum``\\ s so that they are written into the
Application's status unchanged and compare equal to the strings Argo CD's
tools read back.
"""

from __future__ import annotations

from enum import StrEnum


class OperationPhase(StrEnum):
    """``status.operationState.phase``."""

    RUNNING = "Running"
    TERMINATING = "Terminating"
    FAILED = "Failed"
    ERROR = "Error"
    SUCCEEDED = "Succeeded"

    @property
    def completed(self) -> bool:
        """True once the operation has ended, one way or another."""
        return self in (OperationPhase.FAILED, OperationPhase.ERROR, OperationPhase.SUCCEEDED)

    @property
    def successful(self) -> bool:
        return self is OperationPhase.SUCCEEDED


class ResultCode(StrEnum):
    """``syncResult.resources[].status``: what the sync did to one resource."""

    SYNCED = "Synced"
    SYNC_FAILED = "SyncFailed"
    PRUNED = "Pruned"
    PRUNE_SKIPPED = "PruneSkipped"


class HookPhase(StrEnum):
    """``syncResult.resources[].hookPhase``: where one hook object stands.

    ``Pending`` is written for a hook not created yet (a later wave).
    """

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERROR = "Error"
    TERMINATING = "Terminating"

    @property
    def completed(self) -> bool:
        return self in (HookPhase.SUCCEEDED, HookPhase.FAILED, HookPhase.ERROR)

    @property
    def failed(self) -> bool:
        return self in (HookPhase.FAILED, HookPhase.ERROR)


class SyncPhase(StrEnum):
    """The stage of a sync a task runs in (``syncPhase``, and ``hookType`` of a hook)."""

    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"

    @property
    def rank(self) -> int:
        """The order phases run in: PreSync, Sync, PostSync, then SyncFail (on failure)."""
        return _RANKS[self]


_RANKS = {
    SyncPhase.PRE_SYNC: 0,
    SyncPhase.SYNC: 1,
    SyncPhase.POST_SYNC: 2,
    SyncPhase.SYNC_FAIL: 3,
}

#: The phases a successful operation runs, in order.
FORWARD_PHASES = (SyncPhase.PRE_SYNC, SyncPhase.SYNC, SyncPhase.POST_SYNC)
