"""poll_until: true as soon as the check is, false at the deadline, never past it by much."""

from __future__ import annotations

import time

from gitward._util.polling import poll_until


async def test_returns_true_once_the_check_passes() -> None:
    calls = []

    async def third_time() -> bool:
        calls.append(1)
        return len(calls) >= 3

    assert await poll_until(third_time, 5)
    assert len(calls) == 3


async def test_returns_false_at_the_deadline() -> None:
    async def never() -> bool:
        return False

    started = time.monotonic()
    assert not await poll_until(never, 0.3)
    assert 0.3 <= time.monotonic() - started < 1.0
