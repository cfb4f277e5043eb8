"""Sync windows: may an application sync now, and if not, why and until when.

A window opens at each time its cron ``schedule`` fires (five fields, in its
``timeZone``, UTC by default) and stays open for ``duration``. It applies to an
application when one of its ``applications`` globs matches the app's name, one of
``clusters`` its destination name or server, or one of ``namespaces`` its destination
namespace (all of the given ones with ``andOperator``). Argo CD's rule, for the windows
that apply:

- an open ``deny`` window blocks every sync, manual ones too unless every open deny
  window has ``manualSync: true``;
- otherwise an open ``allow`` window allows it;
- otherwise, if there are ``allow`` windows (all closed), automated syncs wait and manual
  ones pass only when all of them have ``manualSync: true``;
- with no window applying, everything syncs.

:func:`can_sync` answers with the reason and the time the answer changes next, so a
held sync can say "deny window 0 10 * * * (1h) is open until 11:00 UTC".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

from gitward.model.project import SyncWindow
from gitward.projects.rules import match_glob

UTC = dt.UTC


@dataclass(frozen=True)
class WindowState:
    window: SyncWindow
    index: int
    active: bool
    #: When this window next opens (inactive) or closes (active); None if never.
    changes_at: dt.datetime | None


@dataclass(frozen=True)
class SyncVerdict:
    allowed: bool
    reason: str = ""
    #: When the verdict may change next (the soonest window opening or closing).
    until: dt.datetime | None = None


def _zone(window: SyncWindow) -> dt.tzinfo:
    return ZoneInfo(window.time_zone) if window.time_zone else UTC


def applies(window: SyncWindow, app_name: str, server: str, cluster: str, namespace: str) -> bool:
    """Whether ``window`` is about this application."""
    checks: list[bool] = []
    if window.applications:
        checks.append(any(match_glob(p, app_name, negation=False) for p in window.applications))
    if window.clusters:
        checks.append(
            any(
                (bool(cluster) and match_glob(p, cluster, negation=False))
                or (bool(server) and match_glob(p, server, negation=False))
                for p in window.clusters
            )
        )
    if window.namespaces:
        checks.append(any(match_glob(p, namespace, negation=False) for p in window.namespaces))
    if not checks:
        return False
    return all(checks) if window.and_operator else any(checks)


def state(window: SyncWindow, index: int, now: dt.datetime) -> WindowState:
    """Whether ``window`` is open at ``now`` and when that changes."""
    local = now.astimezone(_zone(window))
    duration = dt.timedelta(seconds=window.duration_seconds)
    try:
        # cronsim's reverse iteration starts strictly before its start: a second later
        # makes a window that fires at exactly ``now`` count as open — and one that fires
        # within that second (now is 10:29:59.5) must not, so step back past it.
        earlier = CronSim(window.schedule, local + dt.timedelta(seconds=1), reverse=True)
        last = next(earlier, None)
        if last is not None and last > local:
            last = next(earlier, None)
        upcoming = next(CronSim(window.schedule, local), None)
    except CronSimError:  # checked when the project was parsed; a window that cannot fire
        return WindowState(window, index, False, None)
    if last is not None and last <= local < last + duration:
        closes = _closes(window.schedule, last, duration)
        return WindowState(window, index, True, closes.astimezone(UTC) if closes else None)
    return WindowState(window, index, False, upcoming.astimezone(UTC) if upcoming else None)


#: How many later firings are followed to find where an open window closes: about 0.3 ms
#: for ``* * * * *`` (the "always" idiom), asked on every reconcile of an app it holds.
MAX_FIRINGS_FOLLOWED = 100


def _closes(schedule: str, fired: dt.datetime, duration: dt.timedelta) -> dt.datetime | None:
    """When a window that opened at ``fired`` closes: later firings inside the open time
    keep it open (``* * * * *`` for 1h never closes). None when it stays open past
    :data:`MAX_FIRINGS_FOLLOWED` firings."""
    end = fired + duration
    for count, firing in enumerate(CronSim(schedule, fired)):
        if firing > end:
            return end
        end = max(end, firing + duration)
        if count >= MAX_FIRINGS_FOLLOWED:
            return None
    return end


def window_states(windows: tuple[SyncWindow, ...], now: dt.datetime) -> list[WindowState]:
    return [state(w, i, now) for i, w in enumerate(windows)]


def _describe(s: WindowState) -> str:
    w = s.window
    when = s.changes_at.strftime("%Y-%m-%d %H:%M UTC") if s.changes_at else "never"
    verb = "open until" if s.active else "closed until"
    return f"{w.kind} window {s.index} ({w.schedule!r} for {w.duration}) is {verb} {when}"


def can_sync(
    windows: tuple[SyncWindow, ...],
    app_name: str,
    server: str,
    cluster: str,
    namespace: str,
    *,
    manual: bool,
    now: dt.datetime | None = None,
) -> SyncVerdict:
    """Whether a sync may run now under the project's windows, with the reason if not."""
    now = now or dt.datetime.now(UTC)
    states = [
        s
        for s in window_states(windows, now)
        if applies(s.window, app_name, server, cluster, namespace)
    ]
    if not states:
        return SyncVerdict(True)
    soonest = min((s.changes_at for s in states if s.changes_at), default=None)
    open_deny = [s for s in states if s.active and s.window.kind == "deny"]
    if open_deny:
        if manual and all(s.window.manual_sync for s in open_deny):
            return SyncVerdict(True, "", soonest)
        return SyncVerdict(False, "; ".join(map(_describe, open_deny)), soonest)
    if any(s.active and s.window.kind == "allow" for s in states):
        return SyncVerdict(True, "", soonest)
    closed_allow = [s for s in states if s.window.kind == "allow"]
    if closed_allow:
        if manual and all(s.window.manual_sync for s in closed_allow):
            return SyncVerdict(True, "", soonest)
        return SyncVerdict(
            False, "no allow window is open: " + "; ".join(map(_describe, closed_allow)), soonest
        )
    return SyncVerdict(True, "", soonest)
