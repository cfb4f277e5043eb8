"""Sync windows: which apply, when they are open, and Argo CD's allow/deny/manual rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gitward.model.project import parse_project
from gitward.projects import can_sync
from gitward.projects.windows import applies, state

UTC = dt.UTC
AT_10_30 = dt.datetime(2026, 12, 2, 10, 30, tzinfo=UTC)  # a Wednesday


def windows(*specs: dict[str, Any]) -> Any:
    full = [{"applications": ["*"], **s} for s in specs]
    return parse_project({"metadata": {"name": "p"}, "spec": {"syncWindows": full}}).sync_windows


def verdict(ws: Any, *, manual: bool = False, now: dt.datetime = AT_10_30, app: str = "web") -> Any:
    return can_sync(ws, app, "https://kubernetes.default.svc", "", "team-a", manual=manual, now=now)


def test_no_window_everything_syncs() -> None:
    assert verdict(()).allowed


def test_an_open_deny_window_holds_every_sync_unless_manual_is_allowed() -> None:
    deny = windows({"kind": "deny", "schedule": "0 10 * * *", "duration": "1h"})
    held = verdict(deny)
    assert not held.allowed
    assert "deny window 0 ('0 10 * * *' for 1h) is open until 2026-12-02 11:00 UTC" in held.reason
    assert held.until == dt.datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    assert not verdict(deny, manual=True).allowed
    manual_ok = windows(
        {"kind": "deny", "schedule": "0 10 * * *", "duration": "1h", "manualSync": True}
    )
    assert verdict(manual_ok, manual=True).allowed
    assert not verdict(manual_ok).allowed
    assert verdict(deny, now=dt.datetime(2026, 12, 2, 11, 0, tzinfo=UTC)).allowed  # closed again


def test_allow_windows_hold_automated_syncs_while_closed() -> None:
    allow = windows({"kind": "allow", "schedule": "0 22 * * *", "duration": "2h"})
    held = verdict(allow)
    assert not held.allowed
    assert held.reason.startswith("no allow window is open")
    assert held.until == dt.datetime(2026, 12, 2, 22, 0, tzinfo=UTC)
    assert verdict(allow, now=dt.datetime(2026, 12, 2, 23, 59, tzinfo=UTC)).allowed
    assert not verdict(allow, manual=True).allowed


def test_deny_wins_over_allow() -> None:
    both = windows(
        {"kind": "allow", "schedule": "* * * * *", "duration": "1h"},
        {"kind": "deny", "schedule": "0 10 * * 3", "duration": "1h"},
    )
    assert not verdict(both).allowed
    assert verdict(both, now=AT_10_30 + dt.timedelta(days=1)).allowed  # Thursday


def test_a_window_that_fires_now_is_open() -> None:
    deny = windows({"kind": "deny", "schedule": "30 10 * * *", "duration": "5m"})
    assert not verdict(deny).allowed


def test_time_zones_shift_the_schedule() -> None:
    berlin = windows(
        {"kind": "deny", "schedule": "0 11 * * *", "duration": "1h", "timeZone": "Europe/Berlin"}
    )  # 11:00 in Berlin is 10:00 UTC in December
    assert not verdict(berlin).allowed
    s = state(berlin[0], 0, AT_10_30)
    assert s.active
    assert s.changes_at == dt.datetime(2026, 12, 2, 11, 0, tzinfo=UTC)


def test_which_windows_apply() -> None:
    [w] = parse_project(
        {
            "metadata": {"name": "p"},
            "spec": {
                "syncWindows": [
                    {"kind": "deny", "schedule": "* * * * *", "duration": "1h",
                     "applications": ["web-*"], "namespaces": ["prod"]}
                ]
            },
        }
    ).sync_windows  # fmt: skip
    assert applies(w, "web-1", "", "", "dev")
    assert applies(w, "api", "", "", "prod")
    assert not applies(w, "api", "", "", "dev")
    assert verdict((w,), app="api").allowed
    [both] = parse_project(
        {
            "metadata": {"name": "p"},
            "spec": {
                "syncWindows": [
                    {"kind": "deny", "schedule": "* * * * *", "duration": "1h",
                     "applications": ["web-*"], "namespaces": ["prod"], "andOperator": True}
                ]
            },
        }
    ).sync_windows  # fmt: skip
    assert not applies(both, "web-1", "", "", "dev")
    assert applies(both, "web-1", "", "", "prod")


def test_a_window_that_fires_again_before_it_closes_stays_open() -> None:
    def closes(schedule: str, duration: str) -> dt.datetime | None:
        [window] = windows({"kind": "deny", "schedule": schedule, "duration": duration})
        found = state(window, 0, AT_10_30)
        assert found.active
        return found.changes_at

    assert closes("0 10 * * *", "1h") == dt.datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    # Every minute for an hour, or every half hour for 45 minutes: never closes.
    assert closes("* * * * *", "1h") is None
    assert closes("0,30 * * * *", "45m") is None
    # Fires at 10:00 and 10:20 for 30 minutes each: open until 10:50, then closed.
    assert closes("0,20 10 * * *", "30m") == dt.datetime(2026, 12, 2, 10, 50, tzinfo=UTC)


def test_a_firing_less_than_a_second_away_has_not_opened_the_window_yet() -> None:
    just_before = AT_10_30 - dt.timedelta(milliseconds=500)  # 10:29:59.5
    [fires_at_10_30] = windows({"kind": "deny", "schedule": "30 10 * * *", "duration": "5m"})
    assert not state(fires_at_10_30, 0, just_before).active
    [every_minute] = windows({"kind": "deny", "schedule": "* * * * *", "duration": "1h"})
    assert state(every_minute, 0, just_before).active  # opened at 10:29, an hour long
