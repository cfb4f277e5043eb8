"""What evaluating a ``jqPathExpressions`` entry means, without running anything.

The comparison (``gitward.diff``) must stay pure, yet jq expressions from an
Application are hostile input that only a jailed worker process may evaluate
(``gitward.sandbox.jqrun``). So the comparison depends on this small contract,
and the layer that may start processes hands it an evaluator.
"""

from __future__ import annotations

from typing import Any, Protocol

from gitward.model.errors import GitwardError

#: Seconds one evaluation may take (``controller.diff.jq.timeout`` in Argo CD's settings).
DEFAULT_TIMEOUT = 1.0


class JqFailure(GitwardError):
    """An evaluation failed.

    ``kind`` is ``error`` for jq's own errors (``Cannot iterate over null``: the
    path is not in this object), ``limit`` for a timeout or a dead worker, and
    ``refused`` for an expression still refused after an earlier ``limit``.
    """

    def __init__(self, message: str, *, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


class JqEvaluator(Protocol):
    async def delete(self, expr: str, obj: Any, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """``del(expr)`` applied to ``obj``: a new object; raises :class:`JqFailure`."""
        ...
