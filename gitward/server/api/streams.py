"""Watch streams: ``/api/v1/stream/applications`` and one app's ``resource-tree``.

Newline-delimited JSON, as Argo CD's gateway streams it: first an ``ADDED``
event per app the caller may see (unless ``resourceVersion`` says it has them),
then every change, ``{"result": {"type": ..., "application": {...}}}``. Events
come from the server's watch of Applications (:class:`~gitward.server.appstore.AppStore`),
never from polling.

Each client has its own bounded queue. A client that reads slower than changes
arrive fills it and is dropped (its response ends; it reconnects and lists
again), so one slow reader can never make the server buffer without bound. An
idle client costs one parked coroutine and an empty queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from aiohttp import web

from gitward.model.errors import GitwardError
from gitward.server.api.common import STORE, app_namespace, app_object, find_app
from gitward.server.api.query import AppFilter
from gitward.server.api.resources import tree
from gitward.server.appstore import key_of
from gitward.server.auth import allowed, principal_of
from gitward.server.errors import Unavailable

Obj = dict[str, Any]
log = logging.getLogger("gitward.server.streams")

#: Events a client may have waiting before it is dropped.
QUEUE_SIZE = 256
#: A resource tree is recomputed at most this often per client.
TREE_INTERVAL = 1.0
STREAMS: web.AppKey[set[Stream]] = web.AppKey("gitward.server.streams", set)
#: Each client's queue size (set at build time; tests make it small).
QUEUE: web.AppKey[int] = web.AppKey("gitward.server.stream_queue", int)
#: Streams open at once, all clients together: past it a new one is refused with 503,
#: so tokens alone cannot make the server hold connections without bound.
MAX_STREAMS = 2000
LIMIT: web.AppKey[int] = web.AppKey("gitward.server.stream_limit", int)
#: How often streams whose client has gone are looked for. An idle stream writes
#: nothing, so nothing else would notice that its client closed the connection.
SWEEP_SECONDS = 5.0
SWEEP: web.AppKey[float] = web.AppKey("gitward.server.stream_sweep", float)


def _admit(request: web.Request, stream: Stream) -> None:
    streams = request.app[STREAMS]
    if len(streams) >= request.app[LIMIT]:
        raise Unavailable("too many watch streams are open; try again later")
    streams.add(stream)


class Stream:
    """One client's queue of encoded lines; ``closed`` once dropped or the server stops."""

    def __init__(
        self, size: int = QUEUE_SIZE, transport: asyncio.BaseTransport | None = None
    ) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(size)
        self.closed = asyncio.Event()
        self.dropped = False
        #: The client's connection: a stream whose client went away is closed by the sweep.
        self.transport = transport

    @property
    def gone(self) -> bool:
        return self.transport is not None and self.transport.is_closing()

    def offer(self, line: bytes) -> None:
        if self.closed.is_set():
            return
        try:
            self.queue.put_nowait(line)
        except asyncio.QueueFull:
            self.dropped = True
            self.closed.set()

    async def next(self) -> bytes | None:
        """The next line, or None once the stream is closed."""
        if not self.queue.empty():
            return self.queue.get_nowait()
        getter = asyncio.ensure_future(self.queue.get())
        closer = asyncio.ensure_future(self.closed.wait())
        try:
            await asyncio.wait((getter, closer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            closer.cancel()
            if not getter.done():
                getter.cancel()
        if getter.done() and not getter.cancelled():
            return getter.result()
        return None


def _line(kind: str, application: bytes) -> bytes:
    return b'{"result":{"type":"%s","application":%s}}\n' % (kind.encode(), application)


@contextlib.contextmanager
def _client_may_leave(request: web.Request) -> Iterator[None]:
    """End a stream quietly when its client closed the connection mid-write.

    A browser leaving a page is how most streams end: not a server fault to log
    with a traceback (the sweep would have closed the stream moments later).
    """
    try:
        yield
    except ConnectionResetError:
        log.debug("the client of %s left mid-write", request.path)


async def _open(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    return response


async def stream_applications(request: web.Request) -> web.StreamResponse:
    principal_of(request)  # 401 before the stream opens
    wanted = AppFilter.from_query(request.query)
    if wanted.namespace:
        app_namespace(request, wanted.namespace)
    store = request.app[STORE]
    stream = Stream(request.app[QUEUE], request.transport)
    _admit(request, stream)

    def visible(obj: Obj) -> bool:
        return wanted.matches(obj) and allowed(
            request, "applications", "get", app_object(request, obj)
        )

    def changed(kind: str, obj: Obj) -> None:
        if visible(obj):
            stream.offer(_line(kind, store.encoded(obj)))

    stop = store.listen(changed)
    try:
        response = await _open(request)
        with _client_may_leave(request):
            if not request.query.get("resourceVersion"):
                for obj in list(store.after(None)):
                    if visible(obj):
                        await response.write(_line("ADDED", store.encoded(obj)))
            while (line := await stream.next()) is not None:
                await response.write(line)
            if stream.dropped:
                log.info("dropped a stream client that fell %d events behind", QUEUE_SIZE)
        return response
    finally:
        stop()
        stream.closed.set()
        request.app[STREAMS].discard(stream)


async def stream_tree(request: web.Request) -> web.StreamResponse:
    """The app's resource tree at once, then again after each change of the app."""
    obj, _ = find_app(request, "get", request.match_info["name"])
    key = key_of(obj)
    store = request.app[STORE]
    stream = Stream(1, request.transport)
    _admit(request, stream)

    def changed(_kind: str, changed_obj: Obj) -> None:
        if key_of(changed_obj) == key and stream.queue.empty():
            stream.offer(b"")

    stop = store.listen(changed)
    try:
        response = await _open(request)
        with _client_may_leave(request):
            while True:
                current = store.get(*key)
                if current is None or not allowed(
                    request, "applications", "get", app_object(request, current)
                ):
                    break
                started = time.monotonic()
                with contextlib.suppress(GitwardError):
                    body = {"result": await tree(request, current)}
                    await response.write(json.dumps(body, separators=(",", ":")).encode() + b"\n")
                if await stream.next() is None:
                    break
                rest = TREE_INTERVAL - (time.monotonic() - started)
                if rest > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stream.closed.wait(), rest)
        return response
    finally:
        stop()
        stream.closed.set()
        request.app[STREAMS].discard(stream)


async def _sweep(app: web.Application) -> AsyncIterator[None]:
    """Close, every SWEEP seconds, the streams whose client has closed its connection."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(app[SWEEP])
            streams: set[Stream] = app[STREAMS]
            for stream in list(streams):
                if stream.gone:
                    stream.closed.set()
                    streams.discard(stream)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _close_streams(app: web.Application) -> None:
    streams: set[Stream] = app[STREAMS]
    for stream in list(streams):
        stream.closed.set()


def add_routes(app: web.Application) -> None:
    app[STREAMS] = set()
    app[QUEUE] = QUEUE_SIZE
    app[LIMIT] = MAX_STREAMS
    app[SWEEP] = SWEEP_SECONDS
    app.cleanup_ctx.append(_sweep)
    app.on_shutdown.append(_close_streams)
    app.router.add_get("/api/v1/stream/applications", stream_applications)
    app.router.add_get("/api/v1/stream/applications/{name}/resource-tree", stream_tree)
