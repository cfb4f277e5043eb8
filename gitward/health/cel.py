"""Health from CEL expressions, the way Flux's ``healthCheckExprs`` judge custom resources.

Three optional expressions over the object's top-level fields (``status``,
``spec``, ``metadata``): ``inProgress``, ``failed`` and ``current``, evaluated
in that order; the first that is true decides (Progressing, Degraded,
Healthy), and when none is, the resource is still Progressing. CEL cannot
loop or reach outside the object, so an expression needs no sandbox beyond
its input; one that fails to compile or to evaluate (a missing field without
``has()``) is reported, never guessed at.

They come from ``argocd-cm`` (``gitward.health.cel.<group>_<Kind>``) or from
the resource's own ``gitward.io/health-cel`` annotation (a YAML mapping of the
same three keys), which lets a chart say how its custom resources are judged.

The library is ``common-expression-language`` (Rust's cel-interpreter): on
this project's machine it compiled an expression in 1.4 ms and evaluated one
in 0.04 ms, against 107 ms and 0.78 ms for the pure-Python ``cel-python``.
"""

from __future__ import annotations

import functools
from typing import Any

import yaml

from gitward.model.overrides import CEL_FIELDS, CelHealth
from gitward.model.status import Health, HealthStatus

Obj = dict[str, Any]

ANNOTATION = "gitward.io/health-cel"

_ORDER = (
    ("in_progress", "inProgress", HealthStatus.PROGRESSING),
    ("failed", "failed", HealthStatus.DEGRADED),
    ("current", "current", HealthStatus.HEALTHY),
)


class CelError(ValueError):
    """An expression that does not compile, does not evaluate, or is not a boolean."""


@functools.lru_cache(maxsize=512)
def _program(expr: str) -> Any:
    # Imported on first use: the package loads its own REPL (prompt_toolkit) on import,
    # 90 ms of every CLI command's start, and most installations have no CEL rules.
    import cel

    try:
        return cel.compile(expr)
    except Exception as exc:
        raise CelError(f"does not compile: {str(exc).splitlines()[0]}") from None


def from_annotation(obj: Obj) -> CelHealth | None:
    """The expressions of the object's own annotation, None when it has none."""
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION)
    if raw is None:
        return None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise CelError(f"annotation {ANNOTATION}: not a YAML mapping") from None
    if not isinstance(data, dict) or not data or not set(data) <= set(CEL_FIELDS):
        raise CelError(f"annotation {ANNOTATION}: expected a mapping of {', '.join(CEL_FIELDS)}")
    if not all(isinstance(v, str) for v in data.values()):
        raise CelError(f"annotation {ANNOTATION}: every expression must be a string")
    return CelHealth(
        current=data.get("current", ""),
        in_progress=data.get("inProgress", ""),
        failed=data.get("failed", ""),
    )


def evaluate(rules: CelHealth, obj: Obj) -> Health:
    """The health ``rules`` give ``obj``; :class:`CelError` naming the failing expression."""
    for attr, name, status in _ORDER:
        expr = getattr(rules, attr)
        if not expr:
            continue
        try:
            result = _program(expr).execute(obj)
        except CelError as exc:
            raise CelError(f"{name} {expr!r}: {exc}") from None
        except Exception as exc:
            raise CelError(f"{name} {expr!r}: does not evaluate: {exc}") from None
        if not isinstance(result, bool):
            raise CelError(f"{name} {expr!r}: gave {type(result).__name__}, not a boolean")
        if result:
            return Health(status, _message(obj, status))
    return Health(HealthStatus.PROGRESSING, _message(obj, HealthStatus.PROGRESSING))


def _message(obj: Obj, status: HealthStatus) -> str:
    """The Ready condition's message when there is one: it says why, the expression does not."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Ready" and cond.get("message"):
            return str(cond["message"])
    return "" if status is HealthStatus.HEALTHY else f"{status} by its CEL health expressions"
