"""Delivery records and the four DORA figures computed from them."""

from __future__ import annotations

import pytest

from gitward.dora import Record, figures
from gitward.model.errors import ConfigError

DAY = 86400.0
T0 = 1_700_000_000.0


def test_a_deployment_counts_once_and_its_lead_time_ends_at_healthy() -> None:
    r = Record()
    assert r.deployed("a" * 40, committed_at=T0, at=T0 + 60, failed=False)
    assert not r.deployed("a" * 40, committed_at=T0, at=T0 + 90, failed=False)  # same revision
    assert not r.observed("a" * 40, synced=True, health="Progressing", at=T0 + 100)
    assert r.observed("a" * 40, synced=True, health="Healthy", at=T0 + 300)
    assert not r.observed("a" * 40, synced=True, health="Healthy", at=T0 + 900)  # first only
    f = figures([r], T0, T0 + DAY)
    assert f.deployments == 1
    assert f.lead_time_median == 300
    assert f.change_failure_rate == 0.0


def test_failures_and_degradations_make_the_change_failure_rate() -> None:
    r = Record()
    r.deployed("1" * 40, T0, T0 + 10, failed=False)
    r.observed("1" * 40, True, "Healthy", T0 + 20)
    r.deployed("2" * 40, T0, T0 + 1000, failed=True)  # the sync failed
    r.deployed("3" * 40, T0, T0 + 2000, failed=False)
    r.observed("3" * 40, True, "Degraded", T0 + 2100)  # ... and broke the app within the hour
    r.observed("3" * 40, True, "Healthy", T0 + 2700)
    r.deployed("4" * 40, T0, T0 + 9000, failed=False)
    f = figures([r], T0, T0 + DAY, failure_window=3600)
    assert (f.deployments, f.failed) == (3, 1)
    assert f.change_failure_rate == pytest.approx(2 / 4)
    assert f.restores == 1
    assert f.time_to_restore_median == 600


def test_frequency_and_per_day_over_a_window() -> None:
    r = Record()
    for day in range(7):
        for n in range(day % 3):
            r.deployed(f"{day}{n}".ljust(40, "0"), T0, T0 + day * DAY + n, failed=False)
    f = figures([r], T0, T0 + 7 * DAY)
    assert f.per_day == (0, 1, 2, 0, 1, 2, 0)
    assert f.deployments_per_day == pytest.approx(6 / 7)
    older = figures([r], T0 + 3 * DAY, T0 + 7 * DAY)
    assert older.deployments == 3


def test_records_round_trip_and_bad_ones_are_config_errors() -> None:
    r = Record()
    r.deployed("a" * 40, T0, T0 + 1, failed=False)
    r.observed("a" * 40, True, "Degraded", T0 + 2)
    again = Record.from_dict(r.to_dict(), "x")
    assert again == r
    with pytest.raises(ConfigError, match="malformed"):
        Record.from_dict({"deployments": [{"nope": 1}]}, "ConfigMap x")
    with pytest.raises(ConfigError):
        Record.from_dict([], "ConfigMap x")


def test_no_deployments_no_rates() -> None:
    f = figures([Record()], T0, T0 + DAY)
    assert f.change_failure_rate is None
    assert f.lead_time_median is None
