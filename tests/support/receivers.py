"""A real HTTP receiver on loopback for notification webhooks: it records every request and
answers 503 on paths under ``/broken``, so failed deliveries can be counted too."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

from gitward.localkube.process import free_ports


@dataclass
class Received:
    method: str
    path: str
    body: bytes


@dataclass
class Receiver:
    port: int
    requests: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def to(self, prefix: str) -> list[Received]:
        return [r for r in self.requests if r.path.startswith(prefix)]


@contextlib.asynccontextmanager
async def webhook_receiver() -> AsyncIterator[Receiver]:
    state = Receiver(free_ports(1)[0])

    async def handle(request: web.Request) -> web.Response:
        state.requests.append(Received(request.method, request.path, await request.read()))
        if request.path.startswith("/broken"):
            return web.Response(status=503, text="down for maintenance")
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", state.port).start()
    try:
        yield state
    finally:
        await runner.cleanup()
