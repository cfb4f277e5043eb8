"""The webhook endpoint of a real controller against hostile and awkward HTTP, over raw sockets.

A signed body that arrives in two TCP writes, or chunked, must verify; an
unsigned request claiming a provider whose secret is not set must be refused
once any secret exists; every malformed body or header is a 4xx with a
message, never a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable

import pytest

from gitward.cluster import KubeClient
from gitward.localkube.process import free_ports
from gitward.server import ControllerServer
from gitward.services import Services, build_controller
from tests.support.apps import configmap, unique, yaml_docs
from tests.support.controller import application
from tests.support.git import GitRepo
from tests.support.poll import delete_and_wait

API = "argoproj.io/v1alpha1"
SECRET = "only-github-s3cret"
LIMIT = 64 * 1024


@pytest.fixture
async def server(installed: KubeClient) -> AsyncIterator[int]:
    """A controller and its HTTP server; argocd-secret holds only the GitHub secret."""
    kube = installed
    await delete_and_wait(kube, "v1", "Secret", "argocd-secret", "argocd")
    await kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "argocd-secret", "namespace": "argocd"},
            "stringData": {"webhook.github.secret": SECRET},
        }
    )
    ctl = build_controller(await Services.load(kube, "argocd", long_lived=True))
    served = ControllerServer(ctl, kube, "argocd", max_payload=LIMIT)
    port = free_ports(1)[0]
    await served.start("127.0.0.1", port)
    stop = asyncio.Event()
    task = asyncio.create_task(ctl.run(stop))
    yield port
    stop.set()
    await asyncio.wait_for(task, 30)
    await served.stop()
    await delete_and_wait(kube, "v1", "Secret", "argocd-secret", "argocd")


def signature(body: bytes, secret: str = SECRET) -> bytes:
    return b"sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()


async def exchange(port: int, head: bytes, parts: list[bytes]) -> tuple[int, bytes]:
    """Send ``head`` then each of ``parts`` as a separate TCP write; (status, body) back.

    Between parts the sender pauses: that is the attack (a body that is not all
    there when the server starts reading), not a wait for the server.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        await writer.drain()
        for i, part in enumerate(parts):
            if i:
                await asyncio.sleep(0.3)
            writer.write(part)
            await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 30)  # Connection: close
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    status_line, _, rest = raw.partition(b"\r\n")
    _headers, _, body = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), body


def request_head(headers: dict[str, bytes], *, length: int | None) -> bytes:
    lines = [b"POST /api/webhook HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    lines.append(b"Content-Type: application/json")
    if length is None:
        lines.append(b"Transfer-Encoding: chunked")
    else:
        lines.append(b"Content-Length: " + str(length).encode())
    lines.extend(name.encode() + b": " + value for name, value in headers.items())
    return b"\r\n".join(lines) + b"\r\n\r\n"


def chunked(*pieces: bytes) -> list[bytes]:
    out = [f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces]
    return [*out, b"0\r\n\r\n"]


def github(body: bytes) -> dict[str, bytes]:
    return {"X-GitHub-Event": b"push", "X-Hub-Signature-256": signature(body)}


async def test_split_and_chunked_signed_bodies_verify_and_refresh(
    installed: KubeClient, server: int, git_repo: Callable[[str], GitRepo]
) -> None:
    kube = installed
    name, ns = unique("split-hook"), unique("split-hook")
    repo = git_repo("split-hook")
    repo.commit({"app/cm.yaml": yaml_docs(configmap("one"))})
    await kube.create(application(name, repo, ns, None))
    try:
        body = json.dumps(
            {
                "ref": "refs/heads/main",
                "repository": {"clone_url": repo.url, "default_branch": "main"},
            }
        ).encode()
        half = len(body) // 2
        head = request_head(github(body), length=len(body))
        status, answer = await exchange(server, head, [body[:half], body[half:]])
        assert status == 200, answer
        assert name in json.loads(answer)["refreshed"]

        head = request_head(github(body), length=None)
        status, answer = await exchange(server, head, chunked(body[:half], body[half:]))
        assert status == 200, answer
        assert name in json.loads(answer)["refreshed"]

        # Unsigned requests claiming the providers whose secret is not set.
        for claim in ({"X-Gitlab-Event": b"Push Hook"}, {"X-Event-Key": b"repo:push"}):
            status, answer = await exchange(server, request_head(claim, length=len(body)), [body])
            assert status == 401, answer
            assert b"webhooks are refused" in answer
    finally:
        await kube.delete(API, "Application", name, "argocd")


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"[]", 400, b"payload: expected a JSON object, got an array"),
        (b'"push"', 400, b"expected a JSON object, got a string"),
        (b'{"ref": 5}', 400, b"ref: expected a string"),
        (b'{"ref": "main", "repository": []}', 400, b"repository: expected an object"),
        (b'{"ref": "main", "repository": {"clone_url": 7}}', 400, b"repository.clone_url"),
        (b"[" * 30_000 + b"]" * 30_000, 400, b"nested too deeply"),  # within the 64 KiB limit
        (b"{not json", 400, b"body is not JSON"),
        (b"\xff\xfe{}", 400, b"body is not JSON"),
        (b'{"ref": ' + b"1" * 5000 + b"}", 400, b"body is not JSON"),
    ],
)
async def test_malformed_signed_payloads_are_400_with_a_message(
    server: int, body: bytes, status: int, message: bytes
) -> None:
    got, answer = await exchange(server, request_head(github(body), length=len(body)), [body])
    assert got == status, answer
    assert message in answer


async def test_odd_headers_and_sizes_are_4xx(server: int) -> None:
    body = b'{"ref": "refs/heads/main"}'
    for bad in (b"sha256=\xc3\xa9\xc3\xa9", b"\xff\xfe\xfd", b"sha256=" + b"\x80" * 64):
        headers = {"X-GitHub-Event": b"push", "X-Hub-Signature-256": bad}
        status, answer = await exchange(server, request_head(headers, length=len(body)), [body])
        assert status == 401, answer
    status, answer = await exchange(server, request_head({}, length=len(body)), [body])
    assert status == 400
    assert b"not a GitHub, GitLab or Bitbucket webhook" in answer
    big = b'{"a": "' + b"x" * LIMIT + b'"}'
    status, _ = await exchange(server, request_head(github(big), length=None), chunked(big))
    assert status == 413
    status, _ = await exchange(server, request_head(github(big), length=len(big)), [b"{"])
    assert status == 413  # refused from its Content-Length, before the body
