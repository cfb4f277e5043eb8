"""``app wait``: poll an Application until it is Synced, Healthy or idle — only reading.

The app is compared in memory on every poll (the status a refresh would
write, never written), so a wait beside a running controller does not race its
status writes. While an operation runs, its stored status is taken as is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gitward.appstate.refresh import Refresher
from gitward.appstate.status import status_fields
from gitward.model.errors import GitwardError

Obj = dict[str, Any]


class WaitTimeout(GitwardError):
    """``app wait`` ran out of time."""


@dataclass(frozen=True)
class WaitFor:
    """What to wait for; neither sync nor health nor operation means sync and health."""

    sync: bool = False
    health: bool = False
    operation: bool = False

    @property
    def want_sync(self) -> bool:
        return self.sync or not (self.health or self.operation)

    @property
    def want_health(self) -> bool:
        return self.health or not (self.sync or self.operation)

    def satisfied(self, obj: Obj) -> bool:
        status = obj.get("status") or {}
        return (
            (not self.want_sync or (status.get("sync") or {}).get("status") == "Synced")
            and (not self.want_health or (status.get("health") or {}).get("status") == "Healthy")
            and (not self.operation or not obj.get("operation"))
        )


async def wait_for(
    refresher: Refresher,
    read: Callable[[], Awaitable[Obj]],
    want: WaitFor,
    timeout: float,
    name: str,
) -> Obj:
    """The app (with the status a refresh would give it) once ``want`` holds."""
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        obj = await read()
        if not obj.get("operation"):
            comparison = await refresher.compare(obj)
            obj = {**obj, "status": {**(obj.get("status") or {}), **status_fields(comparison, obj)}}
        if want.satisfied(obj):
            return obj
        if time.monotonic() > deadline:
            status = obj.get("status") or {}
            sync_status = (status.get("sync") or {}).get("status")
            health_status = (status.get("health") or {}).get("status")
            raise WaitTimeout(
                f"timed out after {timeout:.0f} s waiting for application {name!r}: "
                f"sync {sync_status}, health {health_status}"
            )
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 3.0)
