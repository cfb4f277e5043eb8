"""The gate background writes wait at: open when the work is done, or after the longest wait."""

from __future__ import annotations

import asyncio
import time

from gitward._util.quiet import QuietGate


async def test_an_idle_controller_lets_writes_through_at_once() -> None:
    gate = QuietGate(lambda: False, longest=60.0)
    started = time.monotonic()
    await gate.wait()
    assert time.monotonic() - started < 0.05


async def test_writes_wait_until_the_work_is_done_then_all_go() -> None:
    work = {"busy": True}
    gate = QuietGate(lambda: work["busy"], longest=60.0, poll=0.01)
    waiting = [asyncio.create_task(gate.wait()) for _ in range(100)]
    await asyncio.sleep(0.05)  # a window of several polls: nothing may pass while busy
    assert not any(task.done() for task in waiting)
    work["busy"] = False
    await asyncio.wait_for(asyncio.gather(*waiting), 2)


async def test_a_write_waits_no_longer_than_the_longest_wait() -> None:
    gate = QuietGate(lambda: True, longest=0.2, poll=0.01)
    started = time.monotonic()
    await asyncio.wait_for(gate.wait(), 2)
    assert 0.2 <= time.monotonic() - started < 1.0


async def test_a_gate_found_quiet_earlier_does_not_let_a_write_through_while_busy() -> None:
    work = {"busy": False}
    gate = QuietGate(lambda: work["busy"], longest=60.0, poll=0.01)
    work["busy"] = True
    first = asyncio.create_task(gate.wait())
    work["busy"] = False
    await asyncio.wait_for(first, 2)  # the poller has seen it quiet
    work["busy"] = True
    second = asyncio.create_task(gate.wait())
    await asyncio.sleep(0.05)  # a window of several polls: nothing may pass while busy
    assert not second.done()
    work["busy"] = False
    await asyncio.wait_for(second, 2)
