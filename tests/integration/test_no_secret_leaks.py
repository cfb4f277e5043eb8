"""Credentials never leave: a token in a repository Secret and one pasted into a repoURL
appear in no log line, metric, condition, Event or CLI output of failing renders and syncs.

Three apps go wrong in the ways that carry a URL into a message: a render error (bad
YAML), an empty render, and a repository the server does not have. A controller process
runs them with debug logging; then every surface a person or a scraper can read is
searched for either token — and for the failure itself, so the test cannot pass by
reading nothing.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gitward.cluster import KubeClient, NotFound
from gitward.localkube.process import free_ports
from tests.support.apps import unique
from tests.support.brief import gitward
from tests.support.controller import controller_process
from tests.support.git import GitRepo, SmartHttpServer
from tests.support.poll import eventually

API = "argoproj.io/v1alpha1"
TOKEN_IN_SECRET = "ghp_SecretStoredToken0123456789"
TOKEN_IN_URL = "glpat-UrlPastedToken9876543210"


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[SmartHttpServer, SmartHttpServer]]:
    base = tmp_path / "git"
    base.mkdir()
    first, second = SmartHttpServer(base, TOKEN_IN_SECRET), SmartHttpServer(base, TOKEN_IN_URL)
    yield first, second
    first.stop()
    second.stop()


def app(name: str, url: str, path: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "source": {"repoURL": url, "path": path, "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": {"automated": {"prune": True}},
        },
    }


def status_written(obj: dict[str, Any]) -> dict[str, Any]:
    status = dict(obj.get("status") or {})
    status["sync"] = {k: v for k, v in (status.get("sync") or {}).items() if k != "comparedTo"}
    return status


def condition_messages(obj: dict[str, Any]) -> str:
    return " ".join(c.get("message", "") for c in (obj.get("status") or {}).get("conditions") or [])


async def test_tokens_never_appear_anywhere(
    installed: KubeClient,
    kubeconfig: Path,
    namespace: str,
    tmp_path: Path,
    servers: tuple[SmartHttpServer, SmartHttpServer],
) -> None:
    kube = installed
    with_secret, with_url = servers
    broken = GitRepo(with_secret.base / "broken")
    broken.commit({"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n"}, "bad")
    empty = GitRepo(with_secret.base / "empty")
    empty.commit({"app/README.md": "nothing to deploy\n"}, "empty")
    secret_url = with_secret.url(broken)
    url_with_token = with_url.url(empty).replace("http://", f"http://bot:{TOKEN_IN_URL}@")
    missing_url = with_url.url(empty).replace("http://", f"http://{TOKEN_IN_URL}@") + "-gone"
    names = [unique("leak-render"), unique("leak-empty"), unique("leak-missing")]
    secret_name = unique("repo")
    await kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": secret_name,
                "namespace": "argocd",
                "labels": {"argocd.argoproj.io/secret-type": "repository"},
            },
            "stringData": {"url": secret_url, "username": "bot", "password": TOKEN_IN_SECRET},
        }
    )
    specs = [
        app(names[0], secret_url, "app", namespace),
        app(names[1], url_with_token, "app", namespace),
        app(names[2], missing_url, "app", namespace),
    ]
    port = free_ports(1)[0]
    log = tmp_path / "controller.log"
    try:
        for spec in specs:
            await kube.apply(spec)
        with controller_process(kubeconfig, log, port):

            async def all_failed() -> list[dict[str, Any]] | None:
                objs = [await kube.get(API, "Application", n, "argocd") for n in names]
                failing = (objs[0], objs[2])  # an empty render is reported by `app sync` below
                return objs if all(condition_messages(o) for o in failing) else None

            objs = await eventually(all_failed, "a condition on each app", timeout=90)
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}/metrics") as resp,
            ):
                metrics = await resp.text()
        cli = [
            gitward(kubeconfig, *args)
            for name in names
            for args in (
                ("app", "get", name),
                ("app", "get", name, "-o", "json", "--hard-refresh"),
                ("app", "sync", name, "--timeout", "30"),
                ("app", "diff", name),
                ("app", "manifests", name),
            )
        ]
        events = await kube.list("v1", "Event", "argocd")
        surfaces = {
            "controller log": log.read_text(),
            "/metrics": metrics,
            # the spec holds what its author wrote (and status.sync.comparedTo a copy of it,
            # as in Argo CD): everything gitward itself writes into the status is checked.
            "conditions and status": json.dumps([status_written(o) for o in objs]),
            "Events": json.dumps(events),
            "CLI output": "\n".join(r.stdout + r.stderr for r in cli),
        }
        for where, text in surfaces.items():
            for token in (TOKEN_IN_SECRET, TOKEN_IN_URL):
                assert token not in text, f"{token[:8]}... leaked into the {where}"
                encoded = base64.b64encode(token.encode()).decode()
                assert encoded not in text, f"{token[:8]}... (base64) leaked into the {where}"
        # ... and each surface did carry the failures it must report.
        render, missing = condition_messages(objs[0]), condition_messages(objs[2])
        assert "app/cm.yaml:4" in render
        assert "invalid YAML" in render
        assert "repository not found" in missing
        assert "/empty-gone" in missing
        assert f"rendered {names[1]} app at" in surfaces["controller log"]
        assert f'repo="http://***@127.0.0.1:{with_url.port}/empty"' in metrics
        assert "app/cm.yaml:4" in surfaces["CLI output"]
        assert names[0] in surfaces["controller log"]
        assert any(r.returncode != 0 for r in cli)
    finally:
        for name in names:
            with contextlib.suppress(NotFound):
                await kube.delete(API, "Application", name, "argocd")
        with contextlib.suppress(NotFound):
            await kube.delete("v1", "Secret", secret_name, "argocd")
