"""How matrix and merge run their children (a callback, so neither imports the dispatcher)."""

from __future__ import annotations

from typing import Any, Protocol

from gitward.appset.params import Params


class ChildRunner(Protocol):
    async def __call__(
        self, entry: dict[str, Any], where: str, *, selector_from: dict[str, Any] | None = None
    ) -> list[Params]:
        """The parameter sets of one child generator (``selector_from``: whose selector applies)."""
        ...


def strip_templates(entry: dict[str, Any]) -> dict[str, Any]:
    """A child entry without the ``template`` of its generator: children's templates are unused,
    and they must not be interpolated with the parent's parameters either."""
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if isinstance(value, dict) and "template" in value:
            value = {k: v for k, v in value.items() if k != "template"}
        out[key] = value
    return out
