"""``spec.ignoreDifferences``: fields a diff must not look at, as Argo CD defines them.

An entry selects resources by ``group``, ``kind`` and optionally ``name`` and
``namespace``, and names fields three ways: RFC 6901 ``jsonPointers``, jq
``jqPathExpressions`` (evaluated by real jq, as ``del(expr)``), and
``managedFieldsManagers`` (every field those managers own in the live object,
e.g. an HPA's ``spec.replicas`` or a mutating webhook's injections).
Matching fields are removed from both sides before comparing.

A jq expression is checked when the rules are parsed (gitward.diff.jqexpr:
one expression, no environment, input or module access) and evaluated in a
sandboxed worker process with a time limit (gitward.sandbox.jqrun). As in Argo
CD, an expression that fails on an object (``.spec.x[]`` where there is no
``x``) removes nothing from that object; one that hits the time or memory
limit is logged as a warning naming the field.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gitward.diff.fieldset import owned_by, remove_path
from gitward.diff.jqexpr import JqExpressionError, check_expression
from gitward.model.errors import ConfigError
from gitward.model.jq import DEFAULT_TIMEOUT, JqEvaluator, JqFailure

Obj = dict[str, Any]

log = logging.getLogger("gitward.diff")


@dataclass(frozen=True)
class IgnoreRule:
    group: str
    kind: str
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_paths: tuple[str, ...] = ()
    managers: tuple[str, ...] = ()
    #: ``spec.ignoreDifferences[i]``: names the rule in log lines.
    where: str = field(default="", compare=False)
    #: Seconds one jq evaluation may take (argocd-cm ``ignore.normalizer.jq.timeout``).
    jq_timeout: float = field(default=DEFAULT_TIMEOUT, compare=False)
    #: Who evaluates ``jq_paths``: a jailed worker process given by the caller.
    jq: JqEvaluator | None = field(default=None, compare=False, repr=False)

    def matches(self, group: str, kind: str, name: str, namespace: str) -> bool:
        return (
            (self.group == group or self.group == "*")
            and (self.kind in ("", "*") or self.kind == kind)
            and (not self.name or self.name == name)
            and (not self.namespace or self.namespace == namespace)
        )


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: must be a list of strings")
    return tuple(value)


#: The fields of an ignoreDifferences entry, as Argo CD defines them.
_ENTRY_FIELDS = (
    "group",
    "kind",
    "name",
    "namespace",
    "jsonPointers",
    "jqPathExpressions",
    "managedFieldsManagers",
)


def parse_rules(
    entries: Iterable[Any],
    where: str = "spec.ignoreDifferences",
    *,
    jq_timeout: float = DEFAULT_TIMEOUT,
    jq: JqEvaluator | None = None,
) -> list[IgnoreRule]:
    """Parse and validate entries; a bad or unsafe jq expression fails here, naming it.

    ``jq`` evaluates the ``jqPathExpressions`` later (see :mod:`gitward.model.jq`);
    rules parsed without one only validate: applying their jq paths fails loudly.
    """
    rules = []
    for i, entry in enumerate(entries):
        at = f"{where}[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{at}: must be a mapping")
        unknown = sorted(str(k)[:64] for k in entry if k not in _ENTRY_FIELDS)
        if unknown:
            # A misspelt jsonPointers would otherwise select the resource and ignore nothing.
            raise ConfigError(f"{at}.{unknown[0]}: unknown field (use {', '.join(_ENTRY_FIELDS)})")
        rule = IgnoreRule(
            group=str(entry.get("group", "") or ""),
            kind=str(entry.get("kind", "") or ""),
            name=str(entry.get("name", "") or ""),
            namespace=str(entry.get("namespace", "") or ""),
            json_pointers=_strings(entry.get("jsonPointers"), f"{at}.jsonPointers"),
            jq_paths=_strings(entry.get("jqPathExpressions"), f"{at}.jqPathExpressions"),
            managers=_strings(entry.get("managedFieldsManagers"), f"{at}.managedFieldsManagers"),
            where=at,
            jq_timeout=jq_timeout,
            jq=jq,
        )
        for j, expr in enumerate(rule.jq_paths):
            try:
                check_expression(expr)
            except JqExpressionError as exc:
                shown = expr if len(expr) <= 200 else expr[:200] + "..."
                raise ConfigError(f"{at}.jqPathExpressions[{j}]: {shown!r}: {exc}") from None
        rules.append(rule)
    return rules


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def remove_pointer(obj: Any, pointer: str) -> None:
    """Delete the RFC 6901 ``pointer`` from ``obj`` in place (absent paths are fine)."""
    if not pointer or pointer == "/":
        return
    tokens = [_unescape(t) for t in pointer.lstrip("/").split("/")]
    node = obj
    for token in tokens[:-1]:
        if isinstance(node, dict):
            node = node.get(token)
        elif isinstance(node, list) and (index := _index(token, len(node))) is not None:
            node = node[index]
        else:
            return
    last = tokens[-1]
    if isinstance(node, dict):
        node.pop(last, None)
    elif isinstance(node, list) and (index := _index(last, len(node))) is not None:
        del node[index]


def _index(token: str, length: int) -> int | None:
    """``token`` as an index below ``length`` (ASCII digits only, no 4,000-digit ints)."""
    if not token.isascii() or not token.isdigit() or len(token) > 18:
        return None
    index = int(token)
    return index if index < length else None


async def apply_rules(
    rules: list[IgnoreRule],
    obj: Obj,
    live_with_managed_fields: Obj | None,
    runner: JqEvaluator | None = None,
) -> Obj:
    """Return ``obj`` with every ignored field removed (may return a new object).

    A coroutine because jq runs in another process: the event loop only waits.
    """
    for rule in rules:
        for pointer in rule.json_pointers:
            remove_pointer(obj, pointer)
        evaluator = runner or rule.jq
        for j, expr in enumerate(rule.jq_paths):
            if evaluator is None:
                raise ConfigError(f"{rule.where}.jqPathExpressions: no jq evaluator given")
            try:
                result = await evaluator.delete(expr, obj, rule.jq_timeout)
            except JqFailure as exc:
                level = logging.WARNING if exc.kind == "limit" else logging.DEBUG
                log.log(level, "%s.jqPathExpressions[%d]: %s", rule.where, j, exc)
                continue
            if isinstance(result, dict):
                obj = result
        if rule.managers and live_with_managed_fields is not None:
            for manager in rule.managers:
                for path in owned_by(live_with_managed_fields, manager):
                    remove_path(obj, path)
    return obj


def rules_for(
    rules: list[IgnoreRule], group: str, kind: str, name: str, namespace: str
) -> list[IgnoreRule]:
    return [r for r in rules if r.matches(group, kind, name, namespace)]
