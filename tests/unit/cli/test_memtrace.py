"""GITWARD_TRACEMALLOC: the frames it asks for, and reports that name the growing site."""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.cli import memtrace
from gitward.model.errors import ConfigError, GitwardError


@given(st.text(max_size=12))
def test_any_value_is_a_frame_count_or_an_error_naming_the_variable(raw: str) -> None:
    text = raw.strip()
    if text and not (text.isascii() and text.isdigit() and 1 <= int(text) <= memtrace.MAX_FRAMES):
        with pytest.raises(GitwardError) as caught:
            memtrace.parse_frames(raw)
        assert isinstance(caught.value, ConfigError)
        assert memtrace.ENV in str(caught.value)
        return
    frames = memtrace.parse_frames(raw)
    assert frames == 0 or 1 <= frames <= memtrace.MAX_FRAMES
    assert frames == (int(raw.strip()) if raw.strip() else 0)


@pytest.mark.parametrize("raw", ["0", "65", "-1", "8 frames", "\u0661", "1e3"])
def test_out_of_range_or_not_a_number_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match=memtrace.ENV):
        memtrace.parse_frames(raw)


def test_unset_means_off() -> None:
    assert memtrace.install({}) is None
    assert memtrace.parse_frames(None) == 0


_HELD: list[bytes] = []


def _grow() -> None:
    _HELD.extend(bytes(4096) for _ in range(500))  # about 2 MiB held from one line


def test_the_second_report_names_the_site_that_grew() -> None:
    was_tracing = tracemalloc.is_tracing()
    tracer = memtrace.MemoryTracer(frames=1, top=5)
    tracer.start()
    try:
        first = tracer.report()
        assert "baseline recorded" in first[0]
        _grow()
        second = tracer.report()
    finally:
        _HELD.clear()
        if not was_tracing:
            tracemalloc.stop()
    assert "growth since the baseline" in second[0]
    top = second[1]
    assert "test_memtrace.py" in top, second
    assert float(top.split()[0]) > 1500  # KiB, signed: "+2000.0"
