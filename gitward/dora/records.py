"""The delivery record of one Application, and the four DORA figures computed from it.

What happened is recorded as it happens (by the controller, durably: see
:mod:`gitward.dora.store`) rather than recomputed from memory, so a restart
loses nothing:

- a **deployment**: a sync that brought a new revision — its commit time (from
  Git), when the sync finished, whether it failed, and when the app was first
  Synced and Healthy with it;
- an **incident**: the app turned Degraded — when, and when it was Healthy again.

From those, over a time window:

- **deployment frequency**: successful deployments per day;
- **lead time for changes**: commit time to first Synced+Healthy, median and mean;
- **change failure rate**: the share of deployments that failed, or were followed
  within ``failure_window`` by the app turning Degraded;
- **time to restore**: Degraded to Healthy again, median and mean.

Pure data and arithmetic; times are UNIX seconds.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from gitward.model.errors import ConfigError

MAX_RECORDS = 500


@dataclass
class Deployment:
    revision: str
    committed_at: float  # the commit's committer time; 0 when unknown
    synced_at: float
    failed: bool = False
    healthy_at: float = 0.0  # first Synced+Healthy with this revision; 0 until then
    authored_at: float = 0.0  # the commit's author time; 0 when unknown


@dataclass
class Incident:
    degraded_at: float
    restored_at: float = 0.0  # 0 while still Degraded


@dataclass
class Record:
    deployments: list[Deployment] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)

    # -- what the controller reports ----------------------------------------------------------

    def deployed(self, revision: str, committed_at: float, at: float, failed: bool) -> bool:
        """A sync of ``revision`` finished; False when it was not a new deployment."""
        last = self.deployments[-1] if self.deployments else None
        if last is not None and last.revision == revision and not last.failed:
            return False
        self.deployments.append(Deployment(revision, committed_at, at, failed))
        self._trim()
        return True

    def observed(self, revision: str, synced: bool, health: str, at: float) -> bool:
        """The app's state now; returns whether the record changed."""
        changed = False
        last = self.deployments[-1] if self.deployments else None
        if (
            last is not None
            and not last.failed
            and not last.healthy_at
            and last.revision == revision
            and synced
            and health == "Healthy"
        ):
            last.healthy_at = at
            changed = True
        open_incident = (
            self.incidents[-1] if self.incidents and not self.incidents[-1].restored_at else None
        )
        if health == "Degraded" and open_incident is None:
            self.incidents.append(Incident(at))
            self._trim()
            changed = True
        elif health == "Healthy" and open_incident is not None:
            open_incident.restored_at = at
            changed = True
        return changed

    def _trim(self) -> None:
        del self.deployments[:-MAX_RECORDS]
        del self.incidents[:-MAX_RECORDS]

    # -- storage form ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployments": [asdict(d) for d in self.deployments],
            "incidents": [asdict(i) for i in self.incidents],
        }

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Record:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: not a delivery record")
        try:
            return cls(
                [Deployment(**d) for d in data.get("deployments") or []],
                [Incident(**i) for i in data.get("incidents") or []],
            )
        except TypeError as exc:
            raise ConfigError(f"{where}: malformed delivery record ({exc})") from None


@dataclass(frozen=True)
class Figures:
    since: float
    until: float
    deployments: int
    failed: int
    deployments_per_day: float
    lead_time_median: float | None
    lead_time_mean: float | None
    change_failure_rate: float | None
    restores: int
    time_to_restore_median: float | None
    time_to_restore_mean: float | None
    per_day: tuple[int, ...]  # successful deployments per day, oldest first


def _stats(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return statistics.median(values), statistics.fmean(values)


def figures(
    records: list[Record], since: float, until: float, failure_window: float = 3600.0
) -> Figures:
    """The DORA figures of ``records`` (one app, or a project's apps) in ``[since, until)``."""
    days = max(1, int((until - since + 86399) // 86400))
    per_day = [0] * days
    ok = failed = 0
    lead: list[float] = []
    restore: list[float] = []
    changes_failed = 0
    for record in records:
        incidents = record.incidents
        ok_deploys = [d for d in record.deployments if not d.failed]
        # A degradation is the fault of the last deployment before it, if that was recent.
        blamed: set[int] = set()
        for i in incidents:
            before = [d for d in ok_deploys if d.synced_at <= i.degraded_at]
            if before and i.degraded_at < before[-1].synced_at + failure_window:
                blamed.add(id(before[-1]))
        for d in record.deployments:
            if not since <= d.synced_at < until:
                continue
            if d.failed:
                failed += 1
                changes_failed += 1
                continue
            ok += 1
            per_day[min(days - 1, int((d.synced_at - since) // 86400))] += 1
            if d.healthy_at and d.committed_at:
                lead.append(max(0.0, d.healthy_at - d.committed_at))
            if id(d) in blamed:
                changes_failed += 1
        for i in incidents:
            if since <= i.degraded_at < until and i.restored_at:
                restore.append(i.restored_at - i.degraded_at)
    total = ok + failed
    lead_median, lead_mean = _stats(lead)
    restore_median, restore_mean = _stats(restore)
    return Figures(
        since=since,
        until=until,
        deployments=ok,
        failed=failed,
        deployments_per_day=ok / ((until - since) / 86400) if until > since else 0.0,
        lead_time_median=lead_median,
        lead_time_mean=lead_mean,
        change_failure_rate=changes_failed / total if total else None,
        restores=len(restore),
        time_to_restore_median=restore_median,
        time_to_restore_mean=restore_mean,
        per_day=tuple(per_day),
    )
