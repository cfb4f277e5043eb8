"""Failed logins limited per username and per client address, in bounded memory.

As Argo CD (``ARGOCD_SESSION_FAILURE_MAX_FAIL_COUNT`` 5,
``ARGOCD_SESSION_FAILURE_WINDOW_SECONDS`` 300): after 5 failures within 300 s, further
attempts for that username — or from that address — are refused with 429 and a
``Retry-After`` until the oldest failure leaves the window, *before* the password is
checked (so guessing costs the guesser, not the server's CPU). A success clears the
username's count.

Each table keeps at most ``max_keys`` entries of at most ``max_failures`` timestamps,
evicting the least recently failed: a flood of distinct usernames costs a fixed amount
of memory, and the flooding address is itself refused after 5 failures.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

from aiohttp import web

from gitward.server.errors import TooManyRequests

MAX_FAILURES = 5
WINDOW = 300.0
MAX_KEYS = 10_000


class LoginThrottled(TooManyRequests):
    """429 with ``Retry-After``: the seconds until the oldest failure leaves the window."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed login attempts; try again in {retry_after} s")
        self.retry_after = retry_after

    def response(self) -> web.Response:
        resp = super().response()
        resp.headers["Retry-After"] = str(self.retry_after)
        return resp


class _Table:
    def __init__(self, max_failures: int, window: float, max_keys: int) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_keys = max_keys
        self.entries: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self.entries.get(key)
        if times is None:
            return None
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self.entries[key]
            return None
        return times

    def retry_after(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again (0: it may now)."""
        times = self._recent(key, now)
        if times is None or len(times) < self.max_failures:
            return 0.0
        return max(self.window - (now - times[0]), 1.0)

    def fail(self, key: str, now: float) -> None:
        times = self._recent(key, now)
        if times is None:
            times = deque(maxlen=self.max_failures)
            self.entries[key] = times
            while len(self.entries) > self.max_keys:
                self.entries.popitem(last=False)
        times.append(now)
        self.entries.move_to_end(key)

    def clear(self, key: str) -> None:
        self.entries.pop(key, None)


class LoginLimiter:
    """Counts failed logins; :meth:`check` refuses when a username or address is over."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window: float = WINDOW,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users = _Table(max_failures, window, max_keys)
        self.addresses = _Table(max_failures, window, max_keys)
        self._clock = clock

    def __len__(self) -> int:
        return len(self.users.entries) + len(self.addresses.entries)

    def check(self, username: str, address: str) -> None:
        """Raise TooManyRequests when ``username`` or ``address`` failed too often lately."""
        now = self._clock()
        wait = max(self.users.retry_after(username, now), self.addresses.retry_after(address, now))
        if wait > 0:
            raise LoginThrottled(int(wait + 0.999))

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        self.users.fail(username, now)
        self.addresses.fail(address, now)

    def succeeded(self, username: str) -> None:
        self.users.clear(username)
