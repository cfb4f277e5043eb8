"""What the comparison reads from users and live objects: quantities, managedFields, rules."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
from decimal import Decimal
from typing import Any

import jq
from hypothesis import example, given
from hypothesis import strategies as st

from gitward.diff import compare, parse_rules, quantity
from gitward.diff.fieldset import format_path, has_path, leaf_paths, owned_by, remove_path
from gitward.diff.ignore import remove_pointer
from gitward.diff.jqexpr import JqExpressionError, check_expression
from gitward.diff.normalize import scalars_equal
from gitward.model.errors import ConfigError
from tests.unit.properties.strategies import joined, json_objects, json_values, maybe, seconds

QUANTITY_FRAGMENTS = ["1", "0", ".", "5", "e", "E", "i", "Ki", "Mi", "m", "k", "+", "-", "9" * 30]


@given(st.one_of(joined(QUANTITY_FRAGMENTS, 10), json_values))
@example("1E")
@example("1Ei")
@example("6e7444370")
@example("1e-99999999")
@example(2**400)
def test_quantities_are_total(value: Any) -> None:
    found = quantity(value)
    assert found is None or (isinstance(found, Decimal) and found.is_finite())
    assert scalars_equal(value, "1", quantities=True) in (True, False)


FIELD_KEYS = ["f:a", "f:spec", "k:{\"name\":\"x\"}", "k:{bad", "k:5", "v:[", "v:1", "i:0", "i:x",
              "i:" + "9" * 5000, ".", "x:y", "f:"]  # fmt: skip
fields = st.recursive(
    st.just({}),
    lambda children: st.dictionaries(st.sampled_from(FIELD_KEYS), children, max_size=4),
    max_leaves=12,
)
managed_entries = st.lists(
    maybe(
        st.fixed_dictionaries(
            {"manager": st.sampled_from(["gitward", "kubectl"]), "fieldsV1": maybe(fields)},
            optional={"operation": maybe(st.sampled_from(["Apply", "Update"]))},
        )
    ),
    max_size=3,
)


@given(fields, json_objects)
def test_field_sets_are_total(trie: dict[str, Any], obj: dict[str, Any]) -> None:
    for path in leaf_paths(trie):
        format_path(path)
        has_path(obj, path)
        has_path(obj, path, lenient=True)
        remove_path(obj, path)


def live_with(entries: Any, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        **body,
        "metadata": {"name": "a", "managedFields": entries, "resourceVersion": "1"},
    }


pointers = joined(["/", "~0", "~1", "0", "9" * 30, "a", "metadata", "data", "\u0661"], 8)
rule_entries = st.lists(
    st.fixed_dictionaries(
        {"group": st.just(""), "kind": st.just("ConfigMap")},
        optional={
            "jsonPointers": st.lists(pointers, max_size=3),
            "managedFieldsManagers": st.lists(st.sampled_from(["kubectl", "gitward"]), max_size=2),
        },
    ),
    max_size=2,
)


@given(managed_entries, json_objects, json_objects, rule_entries, maybe(json_values))
@example([1, {"manager": "gitward", "fieldsV1": []}], {}, {}, [], None)
def test_comparisons_of_arbitrary_objects_are_total(
    entries: Any, live_body: dict[str, Any], desired_body: dict[str, Any], rules: Any, meta: Any
) -> None:
    live = live_with(entries, live_body)
    desired = {"apiVersion": "v1", "kind": "ConfigMap", **desired_body, "metadata": {"name": "a"}}
    if isinstance(meta, dict):
        live["metadata"]["annotations"] = {
            "kubectl.kubernetes.io/last-applied-configuration": json.dumps(meta)
        }
    owned_by(live, "gitward")
    owned_by({"metadata": meta}, "gitward")
    parsed = parse_rules(rules)
    asyncio.run(compare(desired, live, parsed))
    for entry in rules:
        for pointer in entry.get("jsonPointers", []):
            remove_pointer(json.loads(json.dumps(live)), pointer)


JQ_FRAGMENTS = [
    ".", "a", "spec", "[", "]", "(", ")", "{", "}", "|", ",", ";", "?", "//", "..", '"', "\\(",
    "$ENV", "$__loc__", "env", "input", "inputs", "include ", "import ", "def ", " as $x",
    "#", "\n", " ", "select(", "del(", "getpath(", "paths", "keys", "tojson", "@sh ", "==",
    "and", "or", "not", "if ", " then ", " else ", " end", "try ", "reduce ", "foreach ", "1",
    "ltrimstr(", "splits(", "\"x\"", "[]", "$x", "label $out | ", "break $out", "::", "builtins",
]  # fmt: skip
CANARY = "gitward-canary-" + "7" * 8


@given(joined(JQ_FRAGMENTS, 14))
@example(".a) | $ENV | (.b")
@example('.a | "\\(env)"')
@example(".a # ) | env")
@example("$__loc__")
def test_accepted_jq_expressions_cannot_reach_the_environment(expr: str) -> None:
    """Whatever passes the check, run as ``del(EXPR)`` even in *this* process, sees no env."""
    os.environ["GITWARD_PROPERTY_CANARY"] = CANARY
    try:
        parse_rules([{"group": "", "kind": "X", "jqPathExpressions": [expr]}])
    except ConfigError:
        return
    try:
        check_expression(expr)
    except JqExpressionError as exc:  # pragma: no cover - parse_rules would have refused
        raise AssertionError(expr) from exc
    program = jq.compile(f"del({expr})")  # the worker's program shape, minus its sandbox
    obj = {"a": {"spec": [1, "x", None]}, "spec": {"a": 1}}
    try:
        out = json.dumps(program.input_value(obj).all())
    except ValueError as exc:  # a jq runtime error: fine, as long as it leaks nothing
        out = str(exc)
    assert CANARY not in out
    assert "GITWARD_PROPERTY_CANARY" not in out


@given(st.lists(st.sampled_from([".a", "$ENV", ".a)", 5, None, [".x"]]), max_size=3), json_values)
def test_rule_entries_parse_or_fail_typed(exprs: Any, other: Any) -> None:
    try:
        parse_rules([{"group": "", "kind": "X", "jqPathExpressions": exprs}, other])
    except ConfigError:
        return


def test_long_jq_expressions_are_checked_fast() -> None:
    for expr in ("." + "a" * 4000, "(" * 64 + ")" * 64, '"' + "\\(" * 60, ".a" * 2000):
        assert seconds(lambda expr=expr: _check(expr)) < 0.5
    assert math.isfinite(seconds(lambda: _check("[" * 10_000)))


def _check(expr: str) -> None:
    with contextlib.suppress(JqExpressionError):
        check_expression(expr)
