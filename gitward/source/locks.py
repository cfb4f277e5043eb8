"""Locks around a mirror: one asyncio lock per repository, plus a file lock across processes.

A mirror is written by ``git fetch``; two fetches into one mirror at once can
race on ``shallow`` and ref updates, and a repair (delete and re-create) must
not pull the floor from under a fetch in another gitward process. The asyncio
lock serialises this process's tasks cheaply; the ``flock`` on a sibling lock
file serialises processes. The file lock is polled with ``LOCK_NB`` rather than
taken in a thread, so a cancelled waiter never leaves a thread that later grabs
the lock and holds it forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path

from gitward.source.errors import GitTimeout


class KeyedLocks:
    """One :class:`asyncio.Lock` per key, created on first use."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    def __call__(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock


@contextlib.asynccontextmanager
async def file_lock(path: Path, timeout: float, what: str) -> AsyncIterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if needed) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if loop.time() > deadline:
                    raise GitTimeout(
                        what, "lock", f"another process held {path} for {timeout:g}s"
                    ) from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.1)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
