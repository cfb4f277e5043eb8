"""A controller running inside the test process, and the Applications tests give it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from gitward import services as compose
from gitward.appset import AppSetController
from gitward.appstate import Settings
from gitward.cluster import KubeClient, NotFound
from gitward.controller import Controller
from gitward.dora import Recorder
from gitward.images import ImageUpdater
from gitward.notify import Notifier
from gitward.server import ControllerServer
from tests.support.git import GitRepo
from tests.support.poll import eventually

API = "argoproj.io/v1alpha1"


async def test_services(kube: KubeClient, interval: float) -> compose.Services:
    """A controller process's parts, with the reconciliation interval given as settings.

    Not through the shared argocd-cm ConfigMap, so one test's cleanup can never change
    another test's controller.
    """
    settings = Settings(reconciliation_seconds=interval, reconciliation_jitter_seconds=0.0)
    return await compose.Services.load(kube, "argocd", long_lived=True, settings=settings)


@contextlib.asynccontextmanager
async def running_controller(kube: KubeClient, interval: float) -> AsyncIterator[Controller]:
    """A controller in this process polling every ``interval`` seconds, stopped afterwards."""
    parts = await test_services(kube, interval)
    ctl = compose.build_controller(parts, workers=4)
    stop = asyncio.Event()
    task = asyncio.create_task(ctl.run(stop))
    try:
        yield ctl
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@contextlib.asynccontextmanager
async def running_appsets(
    kube: KubeClient, interval: float = 120.0, port: int | None = None
) -> AsyncIterator[tuple[Controller, AppSetController]]:
    """The Application and ApplicationSet controllers of one process, as ``gitward controller``
    runs them (sharing the watch of Applications and the GitSource); with ``port``, also its
    HTTP server (the webhook)."""
    parts = await test_services(kube, interval)
    ctl = compose.build_controller(parts, workers=4)
    sets = compose.appset_controller(parts, ctl, ctl.sharding, shards=0)
    server = ControllerServer(ctl, kube, "argocd", appsets=sets)
    if port is not None:
        await server.start("127.0.0.1", port)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(ctl.run(stop)), asyncio.create_task(sets.run(stop))]
    try:
        yield ctl, sets
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
        await server.stop()


@dataclass
class Loops:
    """A controller with the delivery loops ``gitward controller`` runs beside it."""

    controller: Controller
    server: ControllerServer
    notifier: Notifier | None
    recorder: Recorder | None
    images: ImageUpdater | None
    url: str


@contextlib.asynccontextmanager
async def running_loops(
    kube: KubeClient,
    port: int,
    interval: float = 120.0,
    *,
    notify: bool = True,
    dora: bool = True,
    images: bool = False,
    image_interval: float = 120.0,
) -> AsyncIterator[Loops]:
    """``gitward controller`` in this process, wired by :mod:`gitward.services` as the
    command wires it: the controller, its notifier and delivery recorder, and its HTTP
    server (webhook, /metrics) on ``port``."""
    parts = await test_services(kube, interval)
    ctl = compose.build_controller(parts, workers=4)
    notifier = compose.notifier(parts, ctl, ctl.sharding) if notify else None
    recorder = compose.recorder(parts, ctl, ctl.sharding) if dora else None
    updater = compose.image_updater(parts, ctl, ctl.sharding, image_interval) if images else None
    server = ControllerServer(
        ctl, kube, "argocd", notifier=notifier, recorder=recorder, images=updater
    )
    await server.start("127.0.0.1", port)
    stop = asyncio.Event()
    loops_ = (notifier, recorder, updater)
    runs = [ctl.run(stop), *(x.run(stop) for x in loops_ if x is not None)]
    tasks = [asyncio.create_task(run) for run in runs]
    try:
        yield Loops(ctl, server, notifier, recorder, updater, f"http://127.0.0.1:{port}")
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
        await server.stop()


@contextlib.contextmanager
def controller_process(
    kubeconfig: Path, log: Path, port: int, *flags: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``gitward controller`` as a separate process (debug, JSON logs into ``log``), stopped
    with SIGTERM afterwards; ``flags`` are added to its command line (``--workers 3``)."""
    argv = [sys.executable, "-m", "gitward.cli", "--kubeconfig", str(kubeconfig)]
    argv += ["--namespace", "argocd", "controller", "--listen", f"127.0.0.1:{port}"]
    argv += ["--log-level", "debug", "--log-format", "json", *flags]
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy())
        try:
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def application(
    name: str, repo: GitRepo, ns: str, automated: dict[str, Any] | None
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "source": {"repoURL": repo.url, "path": "app"},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
        "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
    }
    if automated is not None:
        spec["syncPolicy"]["automated"] = automated
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": spec,
    }


async def configmap_data(kube: KubeClient, name: str, ns: str) -> dict[str, str] | None:
    try:
        return dict((await kube.get("v1", "ConfigMap", name, ns)).get("data") or {})
    except NotFound:
        return None


async def wait_ready(base: str) -> None:
    """Until the controller serving at ``base`` answers /readyz with 200."""

    async def probe() -> bool:
        return (await _status(f"{base}/readyz")) == 200

    await eventually(probe, "the controller to be ready", timeout=60)


async def _status(url: str) -> int:
    try:
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            return resp.status
    except aiohttp.ClientError:
        return 0
