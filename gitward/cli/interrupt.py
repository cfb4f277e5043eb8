"""SIGINT, SIGTERM and SIGHUP while the CLI runs a sync: stop it cleanly instead of dying
mid-step.

Python's default turns Ctrl-C into an exception at whatever ``await`` is in
progress, and SIGTERM and SIGHUP (the terminal was closed: a lost SSH session,
a closed window) kill the process outright: any of them could leave the
operation locked by a process that is gone, its record one step behind the
cluster, and its hook Jobs running with nobody to delete them. While a sync
runs, these signals instead set the :class:`~gitward.sync.runner.Interrupt` the
sync watches; it terminates the operation once the step in progress is done
(:mod:`gitward.sync.runner`). A second signal only repeats that the sync is
being ended: a step is bounded, and SIGKILL remains for a process that must
go at once (its lock is then taken over after five minutes, or cleared by
``app terminate-op``).

A signal the process was started ignoring stays ignored: under ``nohup``
(SIGHUP), or as a background job of a script (SIGINT), the sync is meant to
outlive it. After SIGHUP, the standard output and error that were a terminal
are pointed at ``/dev/null``: a write to a terminal that has hung up fails
(EIO), and a progress line failing in the middle of a step would end the
process before it ends its operation (:func:`best_effort` drops a line that
fails before the signal arrives). Output to a pipe or a file is kept: only the
terminal is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from gitward.sync.runner import Interrupt

#: The signals a sync the CLI runs ends cleanly on.
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: The standard output and error, which SIGHUP may leave writing to a terminal that is gone.
OUTPUTS = (1, 2)

T = TypeVar("T")


@dataclass
class Caught:
    """The interrupt a sync watches, and the signal that set it (None: none came)."""

    interrupt: Interrupt = field(default_factory=Interrupt)
    signal: signal.Signals | None = None

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process a signal stopped: 128 + its number."""
        return 128 + int(self.signal) if self.signal is not None else 1


def best_effort(show: Callable[[T], None]) -> Callable[[T], None]:
    """``show``, but a line that cannot be written is dropped.

    Between a hangup and its SIGHUP reaching :func:`caught_signals`, a write to the
    terminal fails (EIO); a progress line is not worth leaving an operation mid-step.
    """

    def shown(item: T) -> None:
        with contextlib.suppress(OSError):
            show(item)

    return shown


def _silence(fds: tuple[int, ...]) -> None:
    """Point ``fds`` at /dev/null (their terminal hung up), what was written flushed first."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in fds:
            os.dup2(null, fd)
    finally:
        os.close(null)


def _terminals() -> tuple[int, ...]:
    """The standard outputs that are a terminal now (before any hangup)."""
    found = []
    for fd in OUTPUTS:
        with contextlib.suppress(OSError):
            if os.isatty(fd):
                found.append(fd)
    return tuple(found)


@contextlib.contextmanager
def caught_signals(notice: Callable[[str], None]) -> Iterator[Caught]:
    """Within a running event loop: SIGINT, SIGTERM and SIGHUP set the yielded interrupt.

    The process's own handlers come back afterwards, so a signal after the sync
    (while the result prints) acts as it always does.
    """
    loop = asyncio.get_running_loop()
    caught = Caught()
    terminals = _terminals()

    def on_signal(sig: signal.Signals) -> None:
        if sig is signal.SIGHUP and terminals:
            _silence(terminals)
        if caught.signal is not None:
            notice(f"{sig.name}: already ending the operation; waiting for its step to finish")
            return
        caught.signal = sig
        caught.interrupt.set(sig.name)
        notice(f"{sig.name}: ending the operation once its current step is done")

    # Python delivers signals to the main thread only; a command run in another thread
    # (an embedding program, a test runner) keeps its host's handling.
    mine = threading.current_thread() is threading.main_thread()
    # A signal the process was started ignoring stays ignored (nohup).
    taken = [s for s in SIGNALS if signal.getsignal(s) is not signal.SIG_IGN] if mine else []
    for sig in taken:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        yield caught
    finally:
        for sig in taken:
            loop.remove_signal_handler(sig)
