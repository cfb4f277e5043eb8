"""The test registry speaks the OCI distribution API with a real token-auth challenge."""

from __future__ import annotations

import base64

import aiohttp

from tests.support.registry import Registry

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json"
)


async def test_push_then_read_tags_and_digest_through_the_token_flow(registry: Registry) -> None:
    digest = registry.push("org/web", "1.0.0")
    registry.push("org/web", "1.1.0")
    assert digest.startswith("sha256:")
    base = f"http://{registry.host}/v2/org/web"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/tags/list") as resp:
            assert resp.status == 401
            challenge = resp.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer realm=")
        assert 'scope="repository:org/web:pull"' in challenge
        realm = challenge.split('realm="', 1)[1].split('"', 1)[0]
        params = {"service": "gitward-test-registry", "scope": "repository:org/web:pull"}
        wrong = base64.b64encode(b"ci:wrong").decode()
        async with http.get(
            realm, params=params, headers={"Authorization": f"Basic {wrong}"}
        ) as resp:
            assert resp.status == 401
        right = base64.b64encode(b"ci:ci-password").decode()
        async with http.get(
            realm, params=params, headers={"Authorization": f"Basic {right}"}
        ) as resp:
            token = (await resp.json())["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        async with http.get(f"{base}/tags/list", headers=bearer) as resp:
            assert resp.status == 200
            assert sorted((await resp.json())["tags"]) == ["1.0.0", "1.1.0"]
        async with http.head(
            f"{base}/manifests/1.0.0", headers={**bearer, "Accept": MANIFEST_TYPES}
        ) as resp:
            assert resp.headers["Docker-Content-Digest"] == digest
        async with http.get(
            f"{base}/tags/list", headers={"Authorization": "Bearer forged"}
        ) as resp:
            assert resp.status == 401
    assert ("ci", "repository:org/web:push,pull") in registry.token_requests
