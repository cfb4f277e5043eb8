"""KeyedRunner: one pass at a time per key, in order or only the newest."""

from __future__ import annotations

import asyncio

from gitward._util.keyed import KeyedRunner


async def test_the_runner_keeps_order_per_key_or_only_the_latest() -> None:
    seen: list[int] = []
    gate = asyncio.Event()

    async def handle(value: int) -> None:
        await gate.wait()
        seen.append(value)

    ordered: KeyedRunner[int] = KeyedRunner(handle, latest=False)
    for n in range(4):
        ordered.submit("k", n)
    gate.set()
    await ordered.idle()
    assert seen == [0, 1, 2, 3]
    seen.clear()
    gate.clear()
    latest: KeyedRunner[int] = KeyedRunner(handle, latest=True)
    latest.submit("k", 0)
    await asyncio.sleep(0)  # 0 is taken; 1 and 2 wait, and are replaced by 3
    for n in range(1, 4):
        latest.submit("k", n)
    gate.set()
    await latest.idle()
    assert seen == [0, 3]


async def test_a_failing_handler_does_not_stop_the_key() -> None:
    seen: list[int] = []

    async def handle(value: int) -> None:
        if value == 1:
            raise RuntimeError("boom")
        seen.append(value)

    runner: KeyedRunner[int] = KeyedRunner(handle, latest=False)
    for n in range(3):
        runner.submit("k", n)
    await runner.idle()
    assert seen == [0, 2]
