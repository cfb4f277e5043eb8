"""Sync and health status values, as Argo CD spells them.

These strings appear in ``status.sync.status``, ``status.health.status`` and
each ``status.resources[]`` entry, so tools written for Argo CD read them
unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class HealthStatus(StrEnum):
    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"
    SUSPENDED = "Suspended"
    MISSING = "Missing"
    UNKNOWN = "Unknown"


#: From best to worst: an app is as healthy as its worst resource.
_HEALTH_ORDER = (
    HealthStatus.HEALTHY,
    HealthStatus.SUSPENDED,
    HealthStatus.PROGRESSING,
    HealthStatus.MISSING,
    HealthStatus.DEGRADED,
    HealthStatus.UNKNOWN,
)
_RANK = {status: rank for rank, status in enumerate(_HEALTH_ORDER)}


def is_worse(a: HealthStatus, b: HealthStatus) -> bool:
    """True when ``a`` is worse than ``b``."""
    return _RANK[a] > _RANK[b]


@dataclass(frozen=True)
class Health:
    """A health verdict with the reason a person needs to act on it."""

    status: HealthStatus
    message: str = ""

    def as_dict(self) -> dict[str, str]:
        out = {"status": str(self.status)}
        if self.message:
            out["message"] = self.message
        return out


def worst(healths: Iterable[Health]) -> Health:
    """The worst of ``healths``; Healthy when there are none."""
    result = Health(HealthStatus.HEALTHY)
    for health in healths:
        if is_worse(health.status, result.status):
            result = health
    return result


class SyncStatus(StrEnum):
    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"
