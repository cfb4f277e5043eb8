"""A gate for writes that can wait: they go out while the controller has no urgent work.

An Event about a finished sync and an app's delivery record matter to people reading
them later, not to the next app waiting for its sync. At a cold start with 1,000 apps
(``make bench``, apps-1k) those two writes are 2 of 12 requests per app; the gate puts
them behind the sync work instead of between it (measured in ``docs/performance.md``).
A write waits at most ``longest`` seconds, so under a load that never ends it is late,
never lost. client-go's event recorder, which Argo CD and Flux use, writes in the
background too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

#: The longest a write waits for a quiet moment (seconds).
LONGEST_WAIT = 120.0
#: How often a waiting gate looks whether the work is done (seconds).
POLL_SECONDS = 0.25


class QuietGate:
    """``await gate.wait()`` returns once ``busy()`` is False, or after ``longest`` seconds.

    One poller serves every waiter (a thousand waiting writes cost one timer, not a
    thousand), and runs only while someone waits.
    """

    def __init__(
        self,
        busy: Callable[[], bool],
        longest: float = LONGEST_WAIT,
        poll: float = POLL_SECONDS,
    ) -> None:
        self.busy = busy
        self.longest = longest
        self.poll = poll
        self._quiet = asyncio.Event()
        self._waiters = 0
        self._poller: asyncio.Task[None] | None = None

    async def wait(self) -> None:
        if not self.busy():
            return
        # Busy now, whatever the poller last found: a write never passes on a stale look.
        self._quiet.clear()
        self._waiters += 1
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll())
        try:
            # One wake-up per waiter: when the poller finds the queue without urgent
            # work, every waiter goes (re-checking each would wake them all again at
            # every poll while new work keeps arriving).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.longest):
                    await self._quiet.wait()
        finally:
            self._waiters -= 1

    async def _poll(self) -> None:
        while self._waiters > 0:
            if self.busy():
                self._quiet.clear()
            else:
                self._quiet.set()
            await asyncio.sleep(self.poll)
