"""Waiting for the cluster to reach a state: poll with a deadline and a growing pause.

Some conditions have no event to wait on from where gitward stands (an object
gone after a delete, a CRD Established); asking again with a pause that grows
from 50 ms to 1 s finds a quick change quickly without hammering the server
for a slow one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def poll_until(
    check: Callable[[], Awaitable[bool]], timeout: float, *, first: float = 0.05, most: float = 1.0
) -> bool:
    """Await ``check`` until it returns True (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    delay = first
    while True:
        if await check():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(min(delay, max(deadline - time.monotonic(), 0.0)))
        delay = min(delay * 1.5, most)
