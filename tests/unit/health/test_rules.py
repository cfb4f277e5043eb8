"""Every health rule, as a table of YAML fixtures in testdata/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.health import assess, missing, roll_up
from gitward.model.status import Health, HealthStatus

TESTDATA = Path(__file__).parent / "testdata"


def _cases() -> list[Any]:
    cases = []
    for path in sorted(TESTDATA.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text()):
            cases.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return cases


@pytest.mark.parametrize("case", _cases())
def test_rule(case: dict[str, Any]) -> None:
    health = assess(case["object"])
    expect = case["expect"]
    if expect is None:
        assert health is None
        return
    assert health is not None
    assert health.status == HealthStatus(expect["status"])
    if "message" in expect:
        assert health.message == expect["message"]
    if "message_contains" in expect:
        assert expect["message_contains"] in health.message


def test_every_rule_family_has_fixtures() -> None:
    stems = {p.stem for p in TESTDATA.glob("*.yaml")}
    expected = {"deployment", "replicaset", "statefulset", "daemonset", "pod", "core", "batch"}
    assert expected | {"custom"} <= stems


def test_app_health_is_the_worst_of_its_resources() -> None:
    healthy = Health(HealthStatus.HEALTHY)
    progressing = Health(HealthStatus.PROGRESSING, "rolling out")
    degraded = Health(HealthStatus.DEGRADED, "crash loop")
    assert roll_up([healthy, None, progressing]) == progressing
    assert roll_up([degraded, missing(), progressing]) == degraded
    assert roll_up([healthy, Health(HealthStatus.SUSPENDED)]).status == HealthStatus.SUSPENDED
    assert roll_up([missing(), progressing]).status == HealthStatus.MISSING
    assert roll_up([]) == healthy
