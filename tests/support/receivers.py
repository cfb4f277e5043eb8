"""A real HTTP receiver on loopback for notification webhooks: it records every request and
answers 503 on paths under ``/broken``, so failed deliveries can be counted too; and an
``argocd-notifications-cm`` that sends ``on-deployed`` to it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from aiohttp import web

from gitward.localkube.process import free_ports
from tests.support.poll import eventually

DEPLOYED = (
    "app.status.operationState.phase in ['Succeeded'] and app.status.health.status == 'Healthy'"
)


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


def notifications_config(receiver: Receiver) -> dict[str, str]:
    part = {"method": "POST", "path": "/deployed/{{.app.metadata.name}}",
            "body": '{"revision": "{{.app.status.sync.revision}}"}'}  # fmt: skip
    values: dict[str, Any] = {
        "service.webhook.receiver": {"url": f"{receiver.url}/hook"},
        "service.webhook.broken": {"url": f"{receiver.url}/broken"},
        "template.app-deployed": {
            "message": "{{.app.metadata.name}} runs {{.app.status.sync.revision}}",
            "webhook": {"receiver": part, "broken": part},
        },
        "trigger.on-deployed": [
            {"when": DEPLOYED, "oncePer": "app.status.sync.revision", "send": ["app-deployed"]}
        ],
    }
    return {key: yaml.safe_dump(value) for key, value in values.items()}


def delivered(receiver: Receiver, name: str) -> list[str]:
    """The revisions the receiver was told ``name`` runs, in order."""
    return [json.loads(r.body)["revision"] for r in receiver.to(f"/hook/deployed/{name}")]


async def deliveries(receiver: Receiver, name: str, count: int) -> None:
    async def probe() -> bool:
        return len(delivered(receiver, name)) >= count

    await eventually(probe, f"{count} on-deployed notification(s) for {name}", 60)
