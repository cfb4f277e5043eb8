"""Waiting for the cluster to converge: poll with a deadline, never sleep blindly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from gitward.cluster import KubeClient, NotFound

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], what: str, timeout: float = 60.0
) -> T:
    """Await ``probe`` until it returns a truthy value; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 1.0)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last: {last!r}")


def eventually_sync(probe: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    """The same for a synchronous probe."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last: {last!r}")


async def delete_and_wait(kube: KubeClient, api: str, kind: str, name: str, namespace: str) -> None:
    """Delete an object and wait until it is gone.

    A deletion leaves the object terminating for a moment, and an apply in that moment
    lands on the dying object: the next test would find no object at all.
    """
    try:
        await kube.delete(api, kind, name, namespace, propagation="Background")
    except NotFound:
        return

    async def gone() -> bool:
        try:
            await kube.get(api, kind, name, namespace)
        except NotFound:
            return True
        return False

    await eventually(gone, f"{kind} {namespace}/{name} to be deleted")
