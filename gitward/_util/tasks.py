"""asyncio helpers for work shared between callers."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


def shared_task(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """A task several callers await through ``asyncio.shield``.

    If every caller is cancelled (a controller shutting down), the task still
    finishes; its exception is marked as retrieved so asyncio does not report
    "Task exception was never retrieved" for a failure nobody waits for.
    """
    task = asyncio.ensure_future(coro)
    task.add_done_callback(_retrieve)
    return task
