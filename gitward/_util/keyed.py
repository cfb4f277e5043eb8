"""Slow work per key, handed over by a watch callback that must not wait for it.

A watch subscriber (the notifier, the delivery recorder) is called synchronously for
every change of every Application; what it does about a change may take seconds (a
webhook, a git command, a ConfigMap write). :class:`KeyedRunner` takes each
``(key, value)`` and runs ``handler(value)`` in a task: never two at once for one key,
at most ``limit`` at once overall.

- ``latest=True``: a value waiting for its key is replaced by a newer one, so a burst
  of changes costs one pass over the newest state (Argo CD's controllers read the
  latest object from their informer the same way);
- ``latest=False``: every value is handled, in the order it came.

A handler's exception is logged and does not stop the key's later values.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")
Listener = Callable[[str, dict[str, Any] | None, dict[str, Any] | None], None]


class ObjectFeed(Protocol):
    """A watch to share: ``listener(name, old, new)`` on every change (``new`` None: deleted).

    The Application controller is one (``Controller.subscribe``).
    """

    def subscribe(self, listener: Listener) -> None: ...


class KeyedRunner(Generic[T]):
    def __init__(
        self,
        handler: Callable[[T], Awaitable[None]],
        *,
        limit: int = 8,
        latest: bool = True,
        log: logging.Logger | None = None,
    ) -> None:
        self.handler = handler
        self.latest = latest
        self.log = log or logging.getLogger("gitward")
        self._limit = asyncio.Semaphore(limit)
        self._waiting: dict[str, deque[T]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, key: str, value: T) -> None:
        waiting = self._waiting.setdefault(key, deque())
        if self.latest:
            waiting.clear()
        waiting.append(value)
        if key not in self._tasks:
            self._idle.clear()
            self._tasks[key] = asyncio.create_task(self._drain(key))

    def forget(self, key: str) -> None:
        """Drop what waits for ``key`` (a pass already running finishes)."""
        self._waiting.pop(key, None)

    async def _drain(self, key: str) -> None:
        try:
            while self._waiting.get(key):
                value = self._waiting[key].popleft()
                async with self._limit:
                    try:
                        await self.handler(value)
                    except asyncio.CancelledError:
                        raise
                    except Exception:  # one key's failure must not stop the others
                        self.log.exception("handling %s failed", key)
        finally:
            if not self._waiting.get(key):
                self._waiting.pop(key, None)
            self._tasks.pop(key, None)
            if not self._tasks:
                self._idle.set()

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def idle(self) -> None:
        """Wait until nothing is waiting or running."""
        await self._idle.wait()

    async def close(self) -> None:
        """Cancel what runs and drop what waits."""
        self._waiting.clear()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
