"""The web UI in a real browser: Debian's chromium driven by Playwright, against the whole
server (:mod:`tests.support.uiserver`), a ``gitward controller`` process and the session's
local cluster, with real Git repositories.

Chromium is the system's (``scripts/chromium.sh`` finds or installs it); Playwright's
own browser download is never used.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from gitward.cluster import KubeClient
from gitward.install import install
from gitward.localkube.process import free_ports
from tests.support.controller import controller_process, wait_ready
from tests.support.uiserver import UiServer, ui_server

ROOT = Path(__file__).resolve().parents[2]


def chromium_path() -> str:
    """The system chromium, installed by the project's script when missing."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "chromium.sh")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"scripts/chromium.sh failed: {done.stderr[-2000:]}"
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
async def installed(kube: KubeClient) -> KubeClient:
    await install(kube, "argocd")
    return kube


@pytest.fixture(scope="module")
def controller(installed: KubeClient, kubeconfig: Path) -> Iterator[str]:
    """``gitward controller`` as its own process, for one module's tests.

    Never for the session: the suite's other tests share the control namespace and
    expect no controller but their own.
    """
    port = free_ports(1)[0]
    log = Path(tempfile.mkdtemp(prefix="gitward-e2e-")) / "controller.log"
    with controller_process(kubeconfig, log, port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
async def server(installed: KubeClient, controller: str) -> AsyncIterator[UiServer]:
    """The API and UI server with known accounts, for one module's tests; the accounts and
    policies it set up are put back when the module ends."""
    await wait_ready(controller)
    async with ui_server(installed) as running:
        yield running


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox"]
        )
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser, server: UiServer) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies) per test, 1280x800, failing on page errors."""
    ctx = await browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(30_000)
    yield ctx
    await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    assert not errors, f"the page threw: {errors}"
