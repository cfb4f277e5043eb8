"""gitward's registry client and update strategies against a real registry with token auth."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from gitward.images.automation import PREFIX, choose, parse_config
from gitward.images.reference import ImageRef
from gitward.images.registry import (
    ImageNotFound,
    RegistryAuthError,
    RegistryClient,
    RegistryCredentials,
)
from gitward.localkube.process import free_ports
from tests.support.registry import Registry

CI = RegistryCredentials("ci", "ci-password")


@pytest.fixture
async def client(registry: Registry) -> AsyncIterator[RegistryClient]:
    async with aiohttp.ClientSession() as session:
        yield RegistryClient(session, insecure=frozenset({registry.host}), interval=0.0)


def spec(registry: Registry, entry: str, **extra: str):  # type: ignore[no-untyped-def]
    config = parse_config(
        {PREFIX + "image-list": entry.format(host=registry.host)}
        | {PREFIX + k: v for k, v in extra.items()}
    )
    assert config is not None
    return config.images[0]


async def test_tags_follow_pagination_and_need_credentials(
    registry: Registry, client: RegistryClient
) -> None:
    for tag in ("1.0.0", "1.1.0", "1.2.0", "latest", "1.10.0-rc1"):
        registry.push("org/web", tag)
    tags = await client.tags(registry.host, "org/web", CI, page_size=2)
    assert sorted(tags) == ["1.0.0", "1.1.0", "1.10.0-rc1", "1.2.0", "latest"]
    with pytest.raises(RegistryAuthError):
        await client.tags(registry.host, "org/web", RegistryCredentials("ci", "wrong"))
    with pytest.raises(RegistryAuthError):
        await client.tags(registry.host, "org/web", None)  # anonymous pulls are not granted
    with pytest.raises(ImageNotFound):
        await client.tags(registry.host, "org/nope", CI)


async def test_semver_with_allow_tags_picks_the_release(
    registry: Registry, client: RegistryClient
) -> None:
    for tag in ("1.0.0", "1.2.0", "1.10.0-rc1", "latest", "2.0.0-beta"):
        registry.push("org/web", tag)
    web_spec = spec(registry, "web={host}/org/web", **{"web.allow-tags": "regexp:^1\\."})
    change = await choose(web_spec, ImageRef(f"{registry.host}/org/web", "1.0.0"), client, CI)
    assert change is not None
    assert change.tag == "1.2.0"
    assert await choose(web_spec, ImageRef(web_spec.image, "1.2.0"), client, CI) is None


async def test_digest_follows_a_repushed_tag(registry: Registry, client: RegistryClient) -> None:
    first = registry.push("org/web", "latest", "one")
    web_spec = spec(registry, "web={host}/org/web:latest", **{"web.update-strategy": "digest"})
    change = await choose(web_spec, ImageRef(web_spec.image, "latest"), client, CI)
    assert change is not None
    assert change.digest == first
    assert await choose(web_spec, ImageRef(web_spec.image, "", first), client, CI) is None
    second = registry.push("org/web", "latest", "two")
    assert second != first
    moved = await choose(web_spec, ImageRef(web_spec.image, "", first), client, CI)
    assert moved is not None
    assert moved.digest == second


async def test_newest_build_and_alphabetical(registry: Registry, client: RegistryClient) -> None:
    registry.push("org/web", "zeta")
    registry.push("org/web", "alpha")
    newest = spec(registry, "web={host}/org/web", **{"web.update-strategy": "newest-build"})
    by_name = spec(registry, "web={host}/org/web", **{"web.update-strategy": "alphabetical"})
    created = {t: await client.created(registry.host, "org/web", t, CI) for t in ("zeta", "alpha")}
    assert all(created.values())
    expected = max(created, key=lambda t: (created[t], t))
    change = await choose(newest, None, client, CI)
    assert change is not None
    assert change.tag == expected
    change = await choose(by_name, None, client, CI)
    assert change is not None
    assert change.tag == "zeta"


async def test_credentials_are_never_sent_to_a_private_token_realm() -> None:
    """A hostile registry's challenge points its realm at the metadata service or loopback;
    the client refuses before any request carries the credentials there."""
    seen: list[str] = []

    async def v2(request: web.Request) -> web.Response:
        seen.append(request.path)
        realm = request.query.get("realm", "http://169.254.169.254/latest/meta-data")
        return web.Response(
            status=401, headers={"WWW-Authenticate": f'Bearer realm="{realm}",service="x"'}
        )

    app = web.Application()
    app.router.add_get("/v2/{tail:.*}", v2)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_ports(1)[0]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as session:
            host = f"127.0.0.1:{port}"
            hostile = RegistryClient(session, insecure=frozenset({host}), interval=0.0)
            with pytest.raises(RegistryAuthError, match="private or link-local"):
                await asyncio.wait_for(hostile.tags(host, "org/web", CI), 10)
    finally:
        await runner.cleanup()
    assert seen == ["/v2/org/web/tags/list"]
