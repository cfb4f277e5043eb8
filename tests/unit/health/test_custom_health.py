"""Health an installation writes: Lua scripts (Argo CD's contract, sandboxed) and CEL."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gitward.health import assess
from gitward.health.lua import HealthScriptError, LuaHealth
from gitward.model.overrides import parse_overrides
from gitward.model.status import HealthStatus

WIDGET: dict[str, Any] = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "metadata": {"name": "w", "namespace": "ns", "uid": "u-1", "resourceVersion": "7"},
    "status": {
        "phase": "Broken",
        "conditions": [{"type": "Ready", "status": "False", "message": "disk full"}],
    },
}

DEGRADED_BY_CONDITION = """
hs = {}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for i, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" and condition.status == "False" then
      hs.status = "Degraded"
      hs.message = condition.message
      return hs
    end
  end
end
hs.status = "Progressing"
hs.message = "Waiting for the widget"
return hs
"""


def overrides_with(script: str) -> Any:
    return parse_overrides({"resource.customizations.health.example.com_Widget": script})


def test_a_script_from_argocd_cm_decides_the_health_of_its_kind() -> None:
    errors: list[str] = []
    health = assess(WIDGET, overrides_with(DEGRADED_BY_CONDITION), errors)
    assert health is not None
    assert (health.status, health.message) == (HealthStatus.DEGRADED, "disk full")
    assert errors == []
    ready = {**WIDGET, "metadata": {"name": "w"}, "status": {"conditions": []}}
    health = assess(ready, overrides_with(DEGRADED_BY_CONDITION))
    assert health is not None
    assert health.status is HealthStatus.PROGRESSING


def test_a_script_overrides_a_built_in_rule() -> None:
    overrides = parse_overrides(
        {"resource.customizations.health.apps_Deployment": 'return {status = "Suspended"}'}
    )
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}
    health = assess(deployment, overrides)
    assert health is not None
    assert health.status is HealthStatus.SUSPENDED


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("while true do end", "stopped after 20,000,000 instructions"),
        ("while true do pcall(function() while true do end end) end", "stopped after"),
        (
            "xpcall(function() while true do end end, function(e) return e end) while true do end",
            "stopped after",
        ),
        (
            "os.execute('touch /tmp/gitward-lua-pwned') return {status='Healthy'}",
            "attempt to call field 'execute'",
        ),
        ("return io.open('/etc/passwd'):read('*a')", "attempt to index global 'io'"),
        ("return require('io')", "module 'io' is not available"),
        ("return loadstring('return 1')()", "attempt to call global 'loadstring'"),
        ("return dofile('/etc/passwd')", "attempt to call global 'dofile'"),
        ("local s = string.rep('x', 1e9) return {status = 'Healthy'}", "memory limit"),
        ("return 3", "expect table output from Lua script, not number"),
        ("this is not lua", "does not compile"),
    ],
)
def test_scripts_that_misbehave_are_stopped_and_reported(script: str, reason: str) -> None:
    errors: list[str] = []
    started = time.monotonic()
    health = assess(WIDGET, overrides_with(script), errors)
    assert time.monotonic() - started < 5
    assert health is not None
    assert health.status is HealthStatus.UNKNOWN
    assert reason in health.message
    assert len(errors) == 1
    assert errors[0].startswith("Widget ns/w: argocd-cm health of example.com/Widget (Lua)")
    assert reason in errors[0]


def test_an_invalid_status_is_unknown_as_in_argo_cd() -> None:
    health = assess(WIDGET, overrides_with("return {status = 'Fine'}"))
    assert health is not None
    assert (health.status, health.message) == (
        HealthStatus.UNKNOWN,
        "Lua returned an invalid health status",
    )


def test_each_run_starts_with_fresh_globals() -> None:
    lua = LuaHealth()
    leak = "secret = 'left behind' string.upper = nil return {status = 'Healthy'}"
    lua.evaluate(leak, {"metadata": {}}, "first")
    health = lua.evaluate(
        "return {status = 'Healthy', message = tostring(secret) .. string.upper('x')}",
        {"metadata": {}},
        "second",
    )
    assert health.message == "nilX"


def test_verdicts_are_kept_for_the_newest_version_of_each_object_only() -> None:
    """An object changed 300 times leaves one verdict, and each new version is judged anew."""
    lua = LuaHealth()
    for version in range(1, 301):
        reason = f"disk full {version}"
        widget = {
            **WIDGET,
            "metadata": {"name": "w", "uid": "u1", "resourceVersion": str(version)},
            "status": {"conditions": [{"type": "Ready", "status": "False", "message": reason}]}
            if version % 2
            else {},
        }
        health = lua.evaluate(DEGRADED_BY_CONDITION, widget, "widget")
        if version % 2:
            assert (health.status, health.message) == (HealthStatus.DEGRADED, reason)
        else:
            assert health.status is HealthStatus.PROGRESSING
    assert len(lua._verdicts) == 1


def test_safe_libraries_are_there() -> None:
    script = """
    local os = require("os")
    local n = 0
    for _ in string.gmatch("a,b,c", "[^,]+") do n = n + 1 end
    table.insert(obj.status.conditions, {type = "X"})
    return {status = "Healthy",
            message = n .. " " .. #obj.status.conditions .. " " .. math.max(1, 2) ..
                      " " .. type(os.time())}
    """
    health = LuaHealth().evaluate(script, WIDGET, "libs")
    assert health.message == "3 2 2 number"


def test_a_tighter_budget_stops_sooner() -> None:
    lua = LuaHealth(max_instructions=10_000)
    with pytest.raises(HealthScriptError, match="stopped after 10,000 instructions"):
        lua.evaluate("local x = 0 for i = 1, 1e6 do x = x + i end return {}", {}, "tight")


def test_cel_from_argocd_cm() -> None:
    overrides = parse_overrides(
        {
            "gitward.health.cel.example.com_Widget": (
                "current: status.phase == 'Ready'\n"
                "failed: status.phase == 'Broken'\n"
                "inProgress: status.phase == 'Pending'\n"
            )
        }
    )
    health = assess(WIDGET, overrides)
    assert health is not None
    assert (health.status, health.message) == (HealthStatus.DEGRADED, "disk full")
    ready = {**WIDGET, "status": {"phase": "Ready"}}
    health = assess(ready, overrides)
    assert health is not None
    assert health.status is HealthStatus.HEALTHY
    odd = {**WIDGET, "status": {"phase": "Odd"}}
    health = assess(odd, overrides)
    assert health is not None
    assert health.status is HealthStatus.PROGRESSING


def test_cel_from_the_objects_own_annotation() -> None:
    annotated = {
        **WIDGET,
        "metadata": {
            "name": "w",
            "annotations": {"gitward.io/health-cel": "current: status.phase == 'Broken'"},
        },
    }
    health = assess(annotated)
    assert health is not None
    assert health.status is HealthStatus.HEALTHY


@pytest.mark.parametrize(
    ("annotation", "reason"),
    [
        ("current: status.nothing == 1", "does not evaluate"),
        ("current: status.phase ==", "does not compile"),
        ("current: status.phase", "not a boolean"),
        ("healthy: 'x'", "expected a mapping of current, inProgress, failed"),
    ],
)
def test_bad_cel_is_reported(annotation: str, reason: str) -> None:
    obj = {
        **WIDGET,
        "metadata": {"name": "w", "annotations": {"gitward.io/health-cel": annotation}},
    }
    errors: list[str] = []
    health = assess(obj, None, errors)
    assert health is not None
    assert health.status is HealthStatus.UNKNOWN
    assert reason in health.message
    assert len(errors) == 1
