"""SIGINT and SIGTERM while the CLI runs a sync: stop it cleanly instead of dying mid-step.

Python's default turns Ctrl-C into an exception at whatever ``await`` is in
progress, and SIGTERM kills the process outright: either could leave the
operation locked by a process that is gone, its record one step behind the
cluster, and its hook Jobs running with nobody to delete them. While a sync
runs, both signals instead set the :class:`~gitward.sync.runner.Interrupt` the
sync watches; it terminates the operation once the step in progress is done
(:mod:`gitward.sync.runner`). A second signal only repeats that the sync is
being ended: a step is bounded, and SIGKILL remains for a process that must
go at once (its lock is then taken over after five minutes, or cleared by
``app terminate-op``).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from gitward.sync.runner import Interrupt

#: The signals a sync the CLI runs ends cleanly on.
SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Caught:
    """The interrupt a sync watches, and the signal that set it (None: none came)."""

    interrupt: Interrupt = field(default_factory=Interrupt)
    signal: signal.Signals | None = None

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process a signal stopped: 128 + its number."""
        return 128 + int(self.signal) if self.signal is not None else 1


@contextlib.contextmanager
def caught_signals(notice: Callable[[str], None]) -> Iterator[Caught]:
    """Within a running event loop: SIGINT and SIGTERM set the yielded interrupt.

    The process's own handlers come back afterwards, so a signal after the sync
    (while the result prints) acts as it always does.
    """
    loop = asyncio.get_running_loop()
    caught = Caught()

    def on_signal(sig: signal.Signals) -> None:
        if caught.signal is not None:
            notice(f"{sig.name}: already ending the operation; waiting for its step to finish")
            return
        caught.signal = sig
        caught.interrupt.set(sig.name)
        notice(f"{sig.name}: ending the operation once its current step is done")

    # Python delivers signals to the main thread only; a command run in another thread
    # (an embedding program, a test runner) keeps its host's handling.
    mine = threading.current_thread() is threading.main_thread()
    for sig in SIGNALS if mine else ():
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        yield caught
    finally:
        for sig in SIGNALS if mine else ():
            loop.remove_signal_handler(sig)
