"""Watch streams of Applications, fed from the server's informer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from gitward.cluster import KubeClient, NotFound
from gitward.server.api.streams import STREAMS, Stream
from tests.support.apiserver import USER_HEADER, Served, serving
from tests.support.apps import unique
from tests.support.poll import delete_and_wait, eventually

API = "argoproj.io/v1alpha1"
pytestmark = pytest.mark.cluster


def app(name: str, run: str, project: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd", "labels": {"run": run}},
        "spec": {
            "project": project,
            "source": {"repoURL": "https://example.com/repo.git", "path": "app"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"},
        },
    }


class Reader:
    """An open stream; events are read as they arrive."""

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self.resp = resp

    async def next(self, timeout: float = 10.0) -> dict[str, Any]:
        line = await asyncio.wait_for(self.resp.content.readline(), timeout)
        assert line, "the stream ended"
        return dict(json.loads(line)["result"])


@pytest.fixture
async def served(installed: KubeClient) -> AsyncIterator[Served]:
    async with serving(installed, {"reader": [("applications", "get", "default/*-seen")]}) as s:
        yield s


async def test_a_status_change_reaches_the_stream_within_a_second(
    installed: KubeClient, served: Served
) -> None:
    run = unique("stream")
    names = [f"{run}-seen", f"{run}-hidden"]
    await installed.create(app(names[0], run))
    async with aiohttp.ClientSession() as http:
        url = f"{served.url}/api/v1/stream/applications"
        params = {"selector": f"run={run}"}
        async with (
            http.get(url, params=params, headers={USER_HEADER: "admin"}) as admin_resp,
            http.get(url, params=params, headers={USER_HEADER: "reader"}) as reader_resp,
        ):
            assert admin_resp.status == 200
            admin, reader = Reader(admin_resp), Reader(reader_resp)
            try:
                first = await admin.next()
                assert first["type"] == "ADDED"
                assert first["application"]["metadata"]["name"] == names[0]
                assert (await reader.next())["application"]["metadata"]["name"] == names[0]

                await installed.create(app(names[1], run))
                added = await admin.next()
                assert added["type"] == "ADDED"
                assert added["application"]["metadata"]["name"] == names[1]

                written = time.monotonic()
                await installed.patch(
                    API,
                    "Application",
                    names[0],
                    "argocd",
                    {"status": {"sync": {"status": "OutOfSync"}}},
                    subresource="status",
                )
                modified = await admin.next()
                latency = time.monotonic() - written
                assert modified["type"] == "MODIFIED"
                assert modified["application"]["status"]["sync"]["status"] == "OutOfSync"
                assert latency < 1.0, f"the change took {latency:.3f} s to reach the client"

                # The reader never hears of the app it may not get: its next event is
                # the MODIFIED of the one it may.
                seen = await reader.next()
                assert seen["type"] == "MODIFIED"
                assert seen["application"]["metadata"]["name"] == names[0]

                await installed.delete(
                    API, "Application", names[1], "argocd", propagation="Background"
                )
                # (A MODIFIED may come first: the API server marks the object deleted.)
                events = [await admin.next()]
                while events[-1]["type"] != "DELETED" and len(events) < 5:
                    try:
                        events.append(await admin.next(3))
                    except TimeoutError:
                        break
                assert events[-1]["type"] == "DELETED", [
                    (e["type"], e["application"]["metadata"]) for e in events
                ]
                assert events[-1]["application"]["metadata"]["name"] == names[1]
            finally:
                for name in names:
                    with contextlib.suppress(NotFound):
                        await delete_and_wait(installed, API, "Application", name, "argocd")


async def test_a_stream_without_a_caller_is_refused(served: Served) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{served.url}/api/v1/stream/applications") as resp,
    ):
        assert resp.status == 401
        assert (await resp.json())["code"] == 16


async def test_streams_beyond_the_limit_are_refused_until_one_closes(
    installed: KubeClient,
) -> None:
    async with serving(installed, stream_limit=2) as served, aiohttp.ClientSession() as http:
        url = f"{served.url}/api/v1/stream/applications"
        params = {"name": unique("none")}  # nothing to send: the streams stay idle
        headers = {USER_HEADER: "admin"}
        first = await http.get(url, params=params, headers=headers)
        second = await http.get(url, params=params, headers=headers)
        assert (first.status, second.status) == (200, 200)
        async with http.get(url, params=params, headers=headers) as third:
            assert third.status == 503
            assert (await third.json())["code"] == 14
        first.close()

        async def admitted() -> bool:
            async with http.get(url, params=params, headers=headers) as again:
                return again.status == 200

        await eventually(admitted, "a stream admitted once another closed", timeout=10)
        second.close()


async def test_a_client_that_leaves_ends_its_stream_without_an_error_logged(
    installed: KubeClient, served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """A browser leaving a page is how streams end: no traceback for the server's log."""
    name = unique("leave")
    await installed.create(app(name, name))
    streams: set[Stream] = served.app[STREAMS]
    try:
        async with aiohttp.ClientSession() as http:
            resp = await http.get(
                f"{served.url}/api/v1/stream/applications",
                params={"name": name},
                headers={USER_HEADER: "admin"},
            )
            assert (await Reader(resp).next())["type"] == "ADDED"
            resp.close()

        async def server_saw_the_close() -> bool:
            return bool(streams) and all(stream.gone for stream in streams)

        await eventually(server_saw_the_close, "the server to see the client's close")
        # The change is written to the closed connection before the sweep ends the stream.
        await installed.patch(
            API,
            "Application",
            name,
            "argocd",
            {"status": {"sync": {"status": "OutOfSync"}}},
            subresource="status",
        )

        async def ended() -> bool:
            return not streams

        await eventually(ended, "the stream ended", timeout=10)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert errors == [], [r.getMessage() for r in errors]
    finally:
        with contextlib.suppress(NotFound):
            await delete_and_wait(installed, API, "Application", name, "argocd")
