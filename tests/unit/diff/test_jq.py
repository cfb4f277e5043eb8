"""``jqPathExpressions`` as hostile input: refused shapes, the sandboxed worker, its limits."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import jq
import pytest

from gitward.appstate.settings import parse_settings
from gitward.diff import compare, parse_rules
from gitward.diff.ignore import apply_rules
from gitward.model.errors import ConfigError
from gitward.sandbox.jqrun import JqFailure, JqRunner, default_runner


@pytest.fixture
def runner() -> Iterator[JqRunner]:
    made = JqRunner(memory=256 << 20)
    yield made
    made.close()


def rules(*exprs: str) -> list[Any]:
    return parse_rules([{"group": "apps", "kind": "Deployment", "jqPathExpressions": list(exprs)}])


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("$ENV.HOME", "$ENV is not allowed"),
        ("env.PATH", "env is not allowed"),
        ('.a | "\\(env)"', "env is not allowed"),
        ("{$ENV}", "$ENV is not allowed"),
        (".a as $x | input", "input is not allowed"),
        ("[inputs]", "inputs is not allowed"),
        ("input_filename", "input_filename is not allowed"),
        ('include "x"; .a', "include is not allowed"),
        ('import "x" as y; .a', "import is not allowed"),
        ("def f: .a; f", "def is not allowed"),
        ("halt_error(1)", "halt_error is not allowed"),
        (".a) | $ENV | (.b", "unbalanced ')'"),
        (".a), (.b", "unbalanced ')'"),
        (".a # ) | $ENV", "comments are not allowed"),
        (".a\x00) | env", "control characters"),
        ("(" * 100 + ".a" + ")" * 100, "nested deeper than"),
        (".a" * 3000, "longer than 4096"),
        ('.a | "unterminated', "unterminated string"),
        (".a[", "unclosed '['"),
        (".spec[[", "unclosed '['"),
        (".a; .b", "';' outside brackets"),
        ("", "empty expression"),
        (".a | foo::bar", "modules are not allowed"),
        (".a |", "syntax error"),
    ],
)
def test_unsafe_or_malformed_expressions_are_refused_naming_the_field(
    expr: str, reason: str
) -> None:
    entries = [
        {"group": "", "kind": "ConfigMap", "jqPathExpressions": [".data.x"]},
        {"group": "apps", "kind": "Deployment", "jqPathExpressions": [".spec.replicas", expr]},
    ]
    with pytest.raises(ConfigError) as info:
        parse_rules(entries)
    assert str(info.value).startswith("spec.ignoreDifferences[1].jqPathExpressions[1]: ")
    assert reason in str(info.value)


@pytest.mark.parametrize(
    "expr",
    [
        ".spec.template.spec.containers[].env",
        '.spec.template.spec.containers[] | select(.name == "env") | .env',
        '."env"',
        '.metadata.annotations["input"]',
        '.spec.template.spec.initContainers[] | select(.name | startswith("istio"))',
        '.data | to_entries[] | select(.key | test("^x-")) | .value',
        '.metadata.labels["app.kubernetes.io/\\(.kind)"]',
        ".spec.rules[]?.http",
        "..|select(. == null)",
    ],
)
def test_expressions_argo_cd_users_write_are_accepted(expr: str) -> None:
    assert rules(expr)[0].jq_paths == (expr,)


async def test_the_worker_has_an_empty_environment(runner: JqRunner) -> None:
    # Not an expression parse_rules accepts: the worker is the second fence.
    obj = {str(i): i for i in range(3)}
    result = await runner.delete(".[$ENV | length | tostring]", obj)
    assert result == {"1": 1, "2": 2}


async def test_results_equal_jq_del_and_are_memoised(runner: JqRunner) -> None:
    obj = {"spec": {"a": [1, 2, 3], "b": {"c": None, "d": "x"}}, "n": 1.5, "big": 10**20}
    for expr in (".spec.a[1]", ".spec.b[] | select(. == null)", ".spec.a[1:]", ".nope.x"):
        expected = jq.compile(f"del({expr})").input_value(obj).first()
        assert await runner.delete(expr, obj) == expected
    before = runner.evaluations
    assert await runner.delete(".spec.a[1]", obj) == {**obj, "spec": {**obj["spec"], "a": [1, 3]}}
    assert runner.evaluations == before


async def test_jq_errors_are_typed(runner: JqRunner) -> None:
    with pytest.raises(JqFailure) as info:
        await runner.delete(".spec[]", {"spec": None})
    assert info.value.kind == "error"
    assert "Cannot iterate over null" in str(info.value)


async def test_a_slow_expression_times_out_without_blocking_the_loop(runner: JqRunner) -> None:
    await runner.delete(".a", {"a": 1})  # the worker is up
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    slow = "reduce range(1000000000) as $i (.; .) | .a"
    with pytest.raises(JqFailure) as info:
        await runner.delete(slow, {"a": 1}, timeout=0.3)
    elapsed = time.monotonic() - started
    stop.set()
    await task
    assert info.value.kind == "limit"
    assert "longer than 0.3 s" in str(info.value)
    assert elapsed < 3.0
    assert max(gaps) < 0.25  # the event loop kept running meanwhile
    # The next evaluation gets a fresh worker; the slow expression is refused at once.
    assert await runner.delete(".a", {"a": 1, "b": 2}) == {"b": 2}
    assert runner.starts == 2
    started = time.monotonic()
    with pytest.raises(JqFailure) as again:
        await runner.delete(slow, {"a": 2}, timeout=0.3)
    assert again.value.kind == "refused"
    assert time.monotonic() - started < 0.2


async def test_memory_is_limited(runner: JqRunner) -> None:
    started = time.monotonic()
    with pytest.raises(JqFailure) as info:
        await runner.delete("[range(1000000000)] | .[0]", {"a": 1}, timeout=30)
    assert info.value.kind == "limit"
    assert time.monotonic() - started < 30
    assert await runner.delete(".a", {"a": 1}) == {}


async def test_a_failing_expression_removes_nothing_and_a_timeout_is_logged(
    runner: JqRunner, caplog: pytest.LogCaptureFixture
) -> None:
    parsed = parse_rules(
        [
            {
                "group": "apps",
                "kind": "Deployment",
                "jqPathExpressions": [".spec.missing[]", ".spec.replicas"],
            },
            {
                "group": "apps",
                "kind": "Deployment",
                "jqPathExpressions": ["reduce range(1000000000) as $i (.; .) | .x"],
            },
        ],
        jq_timeout=0.2,
    )
    obj = {"spec": {"replicas": 2, "x": 1}}
    with caplog.at_level(logging.WARNING, logger="gitward.diff"):
        assert await apply_rules(parsed, obj, None, runner) == {"spec": {"x": 1}}
    assert "spec.ignoreDifferences[1].jqPathExpressions[0]: jq took longer than 0.2 s" in (
        caplog.text
    )


async def test_ignore_rule_in_a_comparison() -> None:
    desired = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {}}
    live = {**desired, "data": {"injected": "1"}, "metadata": {"name": "a"}}
    desired = {**desired, "data": {"injected": "2"}}
    assert (await compare(desired, live)).modified
    ignore = parse_rules(
        [{"group": "", "kind": "ConfigMap", "jqPathExpressions": [".data"]}], jq=default_runner()
    )
    assert not (await compare(desired, live, ignore)).modified


def test_timeout_setting_is_argo_cds_key() -> None:
    assert parse_settings({}).jq_timeout_seconds == 1.0
    assert parse_settings({"ignore.normalizer.jq.timeout": "250ms"}).jq_timeout_seconds == 0.25
    assert rules(".a")[0].jq_timeout == 1.0
    with pytest.raises(ConfigError):
        parse_settings({"ignore.normalizer.jq.timeout": "soon"})
