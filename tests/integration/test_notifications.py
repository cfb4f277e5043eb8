"""Notifications delivered to real receivers — a webhook, a Slack-shaped API, a GitHub-shaped
status API and an SMTP server — once per state change, surviving a restart of the notifier."""

from __future__ import annotations

import base64
import contextlib
import email
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiosmtpd.controller import Controller as SmtpController

from gitward.cluster import KubeClient, NotFound
from gitward.localkube import Toolchain
from gitward.localkube.process import free_ports
from gitward.notify import Notifier
from gitward.notify.engine import NOTIFIED
from gitward.render.gotemplate import GoTemplates
from tests.support.apps import unique

API = "argoproj.io/v1alpha1"
SHA_A, SHA_B = "a" * 40, "b" * 40


@dataclass
class Receivers:
    port: int
    smtp_port: int
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    mails: list[email.message.Message] = field(default_factory=list)
    fail_webhook: int = 0


@pytest.fixture
async def receivers() -> AsyncIterator[Receivers]:
    port, smtp_port = free_ports(2)
    state = Receivers(port, smtp_port)

    async def handle(request: web.Request) -> web.Response:
        state.requests.append(
            (request.method, request.path, dict(request.headers), await request.read())
        )
        if request.path.startswith("/hook") and state.fail_webhook > 0:
            state.fail_webhook -= 1
            return web.Response(status=503, text="try later")
        if request.path == "/slack/chat.postMessage":
            ok = request.headers.get("Authorization") == "Bearer xoxb-slack-token"
            return web.json_response({"ok": ok, **({} if ok else {"error": "invalid_auth"})})
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            state.mails.append(email.message_from_bytes(envelope.content))
            return "250 OK"

    smtp = SmtpController(Handler(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    yield state
    smtp.stop()
    await runner.cleanup()


DEPLOYED = (
    "app.status.operationState.phase in ['Succeeded'] and app.status.health.status == 'Healthy'"
)
NAME, REVISION = "{{.app.metadata.name}}", "{{.app.status.sync.revision}}"


def config(r: Receivers) -> dict[str, str]:
    base = f"http://127.0.0.1:{r.port}"
    values: dict[str, Any] = {
        "service.webhook.receiver": {
            "url": f"{base}/hook",
            "basicAuth": {"username": "gitward", "password": "$hook-password"},
        },
        "service.slack": {"token": "$slack-token", "apiURL": f"{base}/slack"},
        "service.github": {"token": "$github-token", "apiURL": f"{base}/github"},
        "service.email": {"host": "127.0.0.1", "port": r.smtp_port, "from": "gitward@example.com"},
        "template.app-deployed": {
            "message": f"Application {NAME} is now running {REVISION}.",
            "email": {"subject": f"Deployed {NAME}"},
            "webhook": {
                "receiver": {
                    "method": "POST",
                    "path": f"/deployed/{NAME}",
                    "body": f'{{"revision": "{REVISION}"}}',
                }
            },
            "github": {"status": {"state": "success", "label": f"continuous-delivery/{NAME}"}},
        },
        "template.app-sync-succeeded": {"message": f"{NAME} synced"},
        "trigger.on-deployed": [
            {"when": DEPLOYED, "oncePer": "app.status.sync.revision", "send": ["app-deployed"]}
        ],
        "trigger.on-sync-succeeded": [
            {
                "when": "app.status.operationState.phase in ['Succeeded']",
                "send": ["app-sync-succeeded"],
            }
        ],
    }
    return {key: yaml.safe_dump(value) for key, value in values.items()}


def status(phase: str, health: str, revision: str) -> dict[str, Any]:
    return {
        "sync": {"status": "Synced", "revision": revision},
        "health": {"status": health},
        "operationState": {"phase": phase, "syncResult": {"revision": revision}},
    }


async def test_notifications_are_delivered_once_per_change(
    installed: KubeClient, toolchain: Toolchain, receivers: Receivers
) -> None:
    kube = installed
    name = unique("notify")
    await kube.apply({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "argocd-notifications-cm", "namespace": "argocd"},
                      "data": config(receivers)})  # fmt: skip
    secrets = {
        "hook-password": "hook-s3cret",
        "slack-token": "xoxb-slack-token",
        "github-token": "ghp_status_token",
    }
    await kube.apply({"apiVersion": "v1", "kind": "Secret",
                      "metadata": {"name": "argocd-notifications-secret", "namespace": "argocd"},
                      "stringData": secrets})  # fmt: skip
    annotations = {
        "notifications.argoproj.io/subscribe.on-deployed.receiver": "ops",
        "notifications.argoproj.io/subscribe.on-deployed.email": "dev@example.com",
        "notifications.argoproj.io/subscribe.on-deployed.github": "commit",
        "notifications.argoproj.io/subscribe.on-sync-succeeded.slack": "deploys",
    }
    await kube.create(
        {
            "apiVersion": API,
            "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd", "annotations": annotations},
            "spec": {
                "source": {"repoURL": "https://github.com/acme/shop.git", "path": "app"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
            },
        }
    )
    go = GoTemplates.find(toolchain.bin_dir)

    async def set_status(phase: str, health: str, revision: str) -> dict[str, Any]:
        current = await kube.get(API, "Application", name, "argocd")
        current["status"] = status(phase, health, revision)
        return await kube.replace(current, subresource="status")

    try:
        notifier = Notifier(kube, "argocd", go, backoff=0.01)
        sent = await notifier.process(await set_status("Succeeded", "Healthy", SHA_A))
        assert len(sent) == 4
        paths = sorted(p for _, p, _, _ in receivers.requests)
        assert paths == [
            f"/github/repos/acme/shop/statuses/{SHA_A}",
            f"/hook/deployed/{name}",
            "/slack/chat.postMessage",
        ]
        hook = next(r for r in receivers.requests if r[1].startswith("/hook"))
        assert hook[3] == f'{{"revision": "{SHA_A}"}}'.encode()
        assert (
            hook[2]["Authorization"] == "Basic " + base64.b64encode(b"gitward:hook-s3cret").decode()
        )
        [mail] = receivers.mails
        assert mail["Subject"] == f"Deployed {name}"
        assert mail["To"] == "dev@example.com"
        assert SHA_A in mail.get_payload(decode=True).decode()

        # The same state again, and again after a "restart": nothing more is sent.
        assert await notifier.process(await kube.get(API, "Application", name, "argocd")) == []
        restarted = Notifier(kube, "argocd", go)
        assert await restarted.process(await kube.get(API, "Application", name, "argocd")) == []
        stored = (await kube.get(API, "Application", name, "argocd"))["metadata"]["annotations"]
        assert NOTIFIED in stored

        # A new revision deploys again (oncePer); the sync-succeeded condition never turned
        # false, so Slack hears nothing new until it does.
        before = len(receivers.requests)
        sent = await restarted.process(await set_status("Succeeded", "Healthy", SHA_B))
        assert len(sent) == 3
        assert all("slack" not in p for _, p, _, _ in receivers.requests[before:])
        assert await restarted.process(await set_status("Running", "Healthy", SHA_B)) == []
        sent = await restarted.process(await set_status("Succeeded", "Healthy", SHA_B))
        assert len(sent) == 1
        assert "slack" in sent[0]

        # A receiver that keeps failing: retried, counted, not recorded — so tried again later.
        receivers.fail_webhook = 99
        sha_c = "c" * 40
        sent = await restarted.process(await set_status("Succeeded", "Healthy", sha_c))
        assert not any("receiver" in k for k in sent)
        assert restarted.deliveries[("receiver", "on-deployed", "failed")] == 1
        receivers.fail_webhook = 0
        sent = await restarted.process(await kube.get(API, "Application", name, "argocd"))
        assert [k for k in sent if "receiver" in k]
    finally:
        with contextlib.suppress(NotFound):
            await kube.delete(API, "Application", name, "argocd")
        for kind in ("ConfigMap", "Secret"):
            with contextlib.suppress(NotFound):
                await kube.delete(
                    "v1",
                    kind,
                    f"argocd-notifications-{'cm' if kind == 'ConfigMap' else 'secret'}",
                    "argocd",
                )
