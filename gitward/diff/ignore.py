"""``spec.ignoreDifferences``: fields a diff must not look at, as Argo CD defines them.

An entry selects resources by ``group``, ``kind`` and optionally ``name`` and
``namespace``, and names fields three ways: RFC 6901 ``jsonPointers``, jq
``jqPathExpressions`` (evaluated by real jq, as ``del(expr)``), and
``managedFieldsManagers`` (every field those managers own in the live object,
e.g. an HPA's ``spec.replicas`` or a mutating webhook's injections).
Matching fields are removed from both sides before comparing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jq

from gitward.diff.fieldset import owned_by, remove_path
from gitward.model.errors import ConfigError

Obj = dict[str, Any]


@dataclass(frozen=True)
class IgnoreRule:
    group: str
    kind: str
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_paths: tuple[str, ...] = ()
    managers: tuple[str, ...] = ()

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


def parse_rules(entries: Iterable[Any], where: str = "spec.ignoreDifferences") -> list[IgnoreRule]:
    """Parse and validate entries; a bad jq expression fails here, naming the entry."""
    rules = []
    for i, entry in enumerate(entries):
        at = f"{where}[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{at}: must be a mapping")
        rule = IgnoreRule(
            group=str(entry.get("group", "") or ""),
            kind=str(entry.get("kind", "") or ""),
            name=str(entry.get("name", "") or ""),
            namespace=str(entry.get("namespace", "") or ""),
            json_pointers=_strings(entry.get("jsonPointers"), f"{at}.jsonPointers"),
            jq_paths=_strings(entry.get("jqPathExpressions"), f"{at}.jqPathExpressions"),
            managers=_strings(entry.get("managedFieldsManagers"), f"{at}.managedFieldsManagers"),
        )
        for j, expr in enumerate(rule.jq_paths):
            try:
                _compiled(expr)
            except ValueError as exc:
                raise ConfigError(f"{at}.jqPathExpressions[{j}]: {expr!r}: {exc}") from exc
        rules.append(rule)
    return rules


@lru_cache(maxsize=512)
def _compiled(expr: str) -> Any:
    return jq.compile(f"del({expr})")


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
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return
    last = tokens[-1]
    if isinstance(node, dict):
        node.pop(last, None)
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        del node[int(last)]


def apply_rules(rules: list[IgnoreRule], obj: Obj, live_with_managed_fields: Obj | None) -> Obj:
    """Return ``obj`` with every ignored field removed (may return a new object)."""
    for rule in rules:
        for pointer in rule.json_pointers:
            remove_pointer(obj, pointer)
        for expr in rule.jq_paths:
            result = _compiled(expr).input_value(obj).first()
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
