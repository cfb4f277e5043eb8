"""Opt-in allocation tracing for long-running processes (``gitward controller``, ``server``).

A controller that runs for months must not grow without end; when its RSS climbs, the
question is *which allocation sites* hold the growth. With ``GITWARD_TRACEMALLOC=N`` in
the environment the process starts :mod:`tracemalloc` (``N`` frames per traceback, 1-64),
and every ``SIGUSR2`` logs the top allocation sites: the first signal records a baseline
and logs the largest sites; every later one logs the sites that grew most since that
baseline. Operators run ``kill -USR2 <pid>`` (``kubectl exec ... kill -USR2 1``) twice,
some minutes apart, and read the answer in the logs.

Tracing costs CPU and memory (roughly 2x on allocation-heavy paths), so it is never on by
default. The report holds source file names, line numbers, sizes and counts only: never a
value that was allocated, so no secret can reach a log through it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import tracemalloc
from collections.abc import Mapping
from dataclasses import dataclass, field

from gitward.model.errors import ConfigError

ENV = "GITWARD_TRACEMALLOC"
#: How many sites each report lists.
TOP = 25
MAX_FRAMES = 64

log = logging.getLogger("gitward.memtrace")

#: What tracing itself and the import machinery allocate: noise in every report.
_IGNORED = (
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
    tracemalloc.Filter(False, "<unknown>"),
)


def parse_frames(raw: str | None) -> int:
    """The number of frames ``GITWARD_TRACEMALLOC`` asks for; 0 when unset or empty."""
    if raw is None or not raw.strip():
        return 0
    text = raw.strip()
    if not text.isascii() or not text.isdigit():
        raise ConfigError(f"{ENV}: expected a number of frames from 1 to {MAX_FRAMES}")
    frames = int(text)
    if not 1 <= frames <= MAX_FRAMES:
        raise ConfigError(f"{ENV}: expected a number of frames from 1 to {MAX_FRAMES}")
    return frames


@dataclass
class MemoryTracer:
    """Takes snapshots on demand; the first is the baseline the later ones are diffed to."""

    frames: int
    top: int = TOP
    baseline: tracemalloc.Snapshot | None = field(default=None, repr=False)

    def start(self) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(self.frames)

    def report(self) -> list[str]:
        """One line per allocation site (and a heading), biggest first."""
        snap = tracemalloc.take_snapshot().filter_traces(_IGNORED)
        key = "traceback" if self.frames > 1 else "lineno"
        traced, peak = tracemalloc.get_traced_memory()
        tasks = _task_count()
        head = (
            f"memory: traced {traced / 2**20:.1f} MiB (peak {peak / 2**20:.1f}), "
            f"gc objects {len(gc.get_objects())}, asyncio tasks {tasks}"
        )
        if self.baseline is None:
            self.baseline = snap
            lines = [head + "; baseline recorded, largest sites:"]
            for stat in snap.statistics(key)[: self.top]:
                lines.append(
                    f"  {stat.size / 1024:10.1f} KiB {stat.count:8d} blocks  {_where(stat)}"
                )
            return lines
        lines = [head + "; growth since the baseline:"]
        for diff in snap.compare_to(self.baseline, key)[: self.top]:
            lines.append(
                f"  {diff.size_diff / 1024:+10.1f} KiB {diff.count_diff:+8d} blocks "
                f"(now {diff.size / 1024:.1f} KiB)  {_where(diff)}"
            )
        return lines

    def log_report(self) -> None:
        for line in self.report():
            log.warning("%s", line)


def _where(stat: tracemalloc.Statistic | tracemalloc.StatisticDiff) -> str:
    return " <- ".join(f"{f.filename}:{f.lineno}" for f in stat.traceback)


def _task_count() -> int:
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:  # no running loop: called outside the process's loop
        return 0


def install(env: Mapping[str, str]) -> MemoryTracer | None:
    """Start tracing when ``env`` asks for it and report on ``SIGUSR2``; None otherwise.

    Call inside the running event loop (the handler runs there, between callbacks, so a
    report never interrupts a half-done update of a shared structure).
    """
    frames = parse_frames(env.get(ENV))
    if not frames:
        return None
    tracer = MemoryTracer(frames)
    tracer.start()
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR2, tracer.log_report)
    log.warning("%s=%d: allocation tracing on; send SIGUSR2 for a report", ENV, frames)
    return tracer
