"""A de-duplicating work queue with two lanes: the controllers' only scheduler.

A key added while it waits is not added twice; a key added while a worker
processes it is processed once more afterwards (the change may have come too
late for the running pass); delayed adds are timers. So a burst of events for
one app costs one reconcile, and no app is reconciled by two workers at once.

Keys added directly (a watch event, a webhook, the refresh annotation) go to
the urgent lane; keys whose timer fired (the periodic refresh, a pending
self-heal) to the normal lane, which workers serve only when the urgent lane
is empty. With 1,000 apps refreshed every few minutes, a push still reaches
its app ahead of that whole cycle. A waiting key that becomes urgent moves up.

:meth:`WorkQueue.add_first` puts a key at the head of the urgent lane: an
operation that has more to do right away (its next wave) goes on before apps
not started yet, so at a cold start with 1,000 apps the first ones finish
first instead of all finishing together at the end. :meth:`WorkQueue.prefer` does
the same for every later add of a key: an app rolling out what it just synced is
finished (its Healthy recorded) before apps that have not started.
"""

from __future__ import annotations

import asyncio
from collections import deque


class WorkQueue:
    def __init__(self) -> None:
        self._urgent: deque[str] = deque()
        self._normal: deque[str] = deque()
        self._pending: dict[str, bool] = {}  # waiting key -> in the urgent lane
        self._active: set[str] = set()
        self._again: set[str] = set()
        #: Keys that go to the head of the urgent lane when their worker is done with them.
        self._first: set[str] = set()
        #: Keys whose every add goes to the head of the urgent lane (see :meth:`prefer`).
        self._preferred: set[str] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        #: Idle workers, each waiting on its own future: an add wakes exactly one.
        self._idle: deque[asyncio.Future[None]] = deque()

    def __len__(self) -> int:
        return len(self._pending)

    def busy(self) -> bool:
        """Whether work is on its way to an end: keys wait in the urgent lane, or some
        are preferred (an app rolling out what it just synced, until its Healthy is
        recorded). Writes that can wait (:class:`gitward._util.quiet.QuietGate`) hold
        until neither is true: the last apps of a cold start are still rolling out when
        the lane empties, and a thousand delivery records written then slowed them."""
        return bool(self._urgent) or bool(self._preferred)

    def prefer(self, key: str, preferred: bool = True) -> None:
        """Whether each later urgent add of ``key`` goes ahead of every other waiting key."""
        if preferred:
            self._preferred.add(key)
        else:
            self._preferred.discard(key)

    def add(self, key: str, urgent: bool = True) -> None:
        if urgent and key in self._preferred:
            self.add_first(key)
            return
        if key in self._active:
            self._again.add(key)
            return
        waiting = self._pending.get(key)
        if waiting is not None and (waiting or not urgent):
            return
        # New, or moving up from the normal lane (its old entry is skipped when reached).
        self._pending[key] = urgent
        (self._urgent if urgent else self._normal).append(key)
        self._wake_one()

    def add_first(self, key: str) -> None:
        """Add ``key`` ahead of every other waiting key (after its running pass, if any)."""
        if key in self._active:
            self._again.add(key)
            self._first.add(key)
            return
        self._pending[key] = True
        self._urgent.appendleft(key)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._idle:
            waiter = self._idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def add_after(self, key: str, delay: float) -> None:
        """Add ``key`` (normal lane) in ``delay`` seconds, unless a timer fires sooner.

        So a short wake-up (retry a busy app, the next self-heal) is never
        pushed back by the periodic timer set after the same pass.
        """
        loop = asyncio.get_running_loop()
        old = self._timers.get(key)
        if old is not None:
            if old.when() <= loop.time() + delay:
                return
            old.cancel()
        self._timers[key] = loop.call_later(delay, self._fire, key)

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        self.add(key, urgent=False)

    async def get(self) -> str:
        while True:
            while self._urgent or self._normal:
                urgent_lane = bool(self._urgent)
                key = (self._urgent if urgent_lane else self._normal).popleft()
                waiting = self._pending.get(key)
                if waiting is None or waiting != urgent_lane:
                    continue  # taken already, or moved to the urgent lane
                del self._pending[key]
                self._active.add(key)
                return key
            waiter = asyncio.get_running_loop().create_future()
            self._idle.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and (self._urgent or self._normal):
                    self._wake_one()  # the wake-up meant for this worker goes to another
                raise

    def done(self, key: str) -> None:
        self._active.discard(key)
        if key in self._again:
            self._again.discard(key)
            if key in self._first:
                self._first.discard(key)
                self.add_first(key)
            else:
                self.add(key)

    def forget(self, key: str) -> None:
        self._preferred.discard(key)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
