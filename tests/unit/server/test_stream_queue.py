"""A stream client's queue is bounded: falling behind drops the client, never buffers."""

from __future__ import annotations

from gitward.server.api.streams import Stream


async def test_lines_come_out_in_order_until_closed() -> None:
    stream = Stream(size=3)
    stream.offer(b"a")
    stream.offer(b"b")
    assert await stream.next() == b"a"
    assert await stream.next() == b"b"
    stream.closed.set()
    assert await stream.next() is None
    assert not stream.dropped


async def test_a_client_that_falls_behind_is_dropped() -> None:
    stream = Stream(size=2)
    for line in (b"1", b"2", b"3", b"4"):
        stream.offer(line)
    assert stream.dropped
    assert stream.closed.is_set()
    assert stream.queue.qsize() == 2  # nothing past the bound was kept
    stream.offer(b"5")
    assert stream.queue.qsize() == 2
