"""The work queue: de-duplication, urgent before periodic, re-run after an active pass."""

from __future__ import annotations

import asyncio

from gitward.controller.queue import WorkQueue


async def drain(queue: WorkQueue) -> list[str]:
    taken = []
    while len(queue):
        key = await asyncio.wait_for(queue.get(), 1)
        taken.append(key)
        queue.done(key)
    return taken


async def test_a_key_waits_once() -> None:
    queue = WorkQueue()
    for key in ("a", "b", "a", "a"):
        queue.add(key)
    assert await drain(queue) == ["a", "b"]


async def test_urgent_keys_go_before_timer_keys_and_a_waiting_key_moves_up() -> None:
    queue = WorkQueue()
    for key in ("p1", "p2", "p3"):
        queue.add(key, urgent=False)  # what a fired periodic timer does
    queue.add("push")
    queue.add("p3")  # an event for an app already waiting for its periodic pass
    assert await drain(queue) == ["push", "p3", "p1", "p2"]


async def test_a_key_added_while_active_runs_once_more_afterwards() -> None:
    queue = WorkQueue()
    queue.add("a")
    key = await queue.get()
    queue.add("a")
    queue.add("a")
    assert len(queue) == 0
    queue.done(key)
    assert await drain(queue) == ["a"]


async def test_a_sooner_timer_is_not_pushed_back() -> None:
    queue = WorkQueue()
    loop = asyncio.get_running_loop()
    queue.add_after("a", 0.01)
    queue.add_after("a", 60)  # the periodic timer set after the same pass
    started = loop.time()
    assert await asyncio.wait_for(queue.get(), 5) == "a"
    assert loop.time() - started < 5
    queue.close()


async def test_getters_wait_for_work() -> None:
    queue = WorkQueue()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not getter.done()
    queue.add("late")
    assert await asyncio.wait_for(getter, 1) == "late"


async def test_an_operations_next_step_goes_before_apps_not_started() -> None:
    queue = WorkQueue()
    for key in ("app-0", "app-1", "app-2", "app-3"):
        queue.add(key)  # a cold start: every app queued for its first pass
    running = await queue.get()
    queue.add_first(running)  # its operation has its next wave to run at once
    queue.done(running)
    queue.add_first("app-3")  # already waiting: moves to the head, runs once
    assert await drain(queue) == ["app-3", "app-0", "app-1", "app-2"]


async def test_a_preferred_key_goes_ahead_of_waiting_keys_until_it_is_not() -> None:
    queue = WorkQueue()
    for key in ("cold1", "cold2", "cold3"):
        queue.add(key)  # apps waiting for their first pass
    queue.prefer("rolling")
    queue.add("rolling")  # its Deployment finished rolling out
    queue.add("rolling", urgent=False)  # a timer firing meanwhile changes nothing
    assert await drain(queue) == ["rolling", "cold1", "cold2", "cold3"]
    queue.prefer("rolling", False)
    for key in ("cold4", "rolling"):
        queue.add(key)
    assert await drain(queue) == ["cold4", "rolling"]
    queue.prefer("gone")
    queue.forget("gone")  # a deleted app is preferred no more
    for key in ("cold5", "gone"):
        queue.add(key)
    assert await drain(queue) == ["cold5", "gone"]


async def test_busy_while_keys_wait_or_an_app_is_finishing() -> None:
    queue = WorkQueue()
    assert not queue.busy()
    queue.add("cold")
    assert queue.busy()
    await drain(queue)
    assert not queue.busy()
    queue.prefer("rolling")  # synced, its rollout not yet Healthy: nothing waits in a lane
    assert queue.busy()
    queue.prefer("rolling", False)
    assert not queue.busy()
    queue.prefer("gone")
    queue.forget("gone")
    assert not queue.busy()
